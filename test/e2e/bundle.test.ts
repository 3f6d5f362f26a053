/** `wrangler deploy --dry-run` builds the production bundle; its size is kept in check. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';

it('the production bundle builds and the Worker stays under 250 KB gzip', () => {
  const out = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
  try {
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { stdio: 'pipe' });
    const files = readdirSync(out).filter((f) => f.endsWith('.js'));
    expect(files).toContain('index.js');
    const gz = gzipSync(readFileSync(join(out, 'index.js'))).length;
    expect(gz).toBeLessThan(250 * 1024);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
