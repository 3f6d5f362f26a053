/** `wrangler deploy --dry-run` builds the production bundle; its size is kept in check. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';

it('the production bundle builds, the Worker stays under 250 KB gzip, and the big modules ride beside it', () => {
  const out = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
  try {
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { stdio: 'pipe' });
    const files = readdirSync(out).filter((f) => f.endsWith('.js'));
    expect(files).toContain('index.js');
    const gz = gzipSync(readFileSync(join(out, 'index.js'))).length;
    expect(gz).toBeLessThan(250 * 1024);
    // The tokenizer's tables and the browser pages are uploaded as their own modules, imported on
    // first use, so a cold start evaluates neither.
    const worker = readFileSync(join(out, 'index.js'), 'utf8');
    expect(readFileSync(join(out, 'pages', 'site.generated.js'), 'utf8')).toContain('Sluice · Chat');
    expect(worker).not.toContain('Sluice · Chat');
    expect(readdirSync(join(out, 'tokenizer'))).toContain('o200k.generated.js');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
