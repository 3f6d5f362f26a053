#!/usr/bin/env node
// `npm start`: local D1 migrated, `wrangler dev` on 127.0.0.1:8787, demo team and key printed.
// PORT and PERSIST_DIR (a local D1 folder) may be set to run a second copy, as the tests do.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.PORT ?? '8787';
const persist = process.env.PERSIST_DIR ? ['--persist-to', process.env.PERSIST_DIR] : [];
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
const base = `http://127.0.0.1:${port}`;

if (!existsSync(join(root, '.dev.vars'))) {
  copyFileSync(join(root, '.dev.vars.example'), join(root, '.dev.vars'));
  console.log('Created .dev.vars from .dev.vars.example');
}
const adminKey = /^ADMIN_API_KEY=(.*)$/m.exec(readFileSync(join(root, '.dev.vars'), 'utf8'))?.[1]?.trim();

// The pages' module (src/pages/site.generated.js), with the typed client their scripts use.
const pages = spawnSync(process.execPath, [join(root, 'scripts', 'build-pages.mjs')], { cwd: root, stdio: 'inherit' });
if (pages.status !== 0) process.exit(pages.status ?? 1);

// MOCK_TOKEN_DELAY_MS from the environment overrides wrangler.toml's (the browser tests slow the mock down).
const vars = process.env.MOCK_TOKEN_DELAY_MS ? ['--var', `MOCK_TOKEN_DELAY_MS:${process.env.MOCK_TOKEN_DELAY_MS}`] : [];

const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CI: 'true' },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(
  wrangler,
  // --test-scheduled: GET /__scheduled?cron=... runs a cron trigger by hand (docs/operating.md, Scheduled work).
  [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    port,
    '--show-interactive-dev-session=false',
    '--test-scheduled',
    ...persist,
    ...vars,
  ],
  {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
    // Sluice reads nothing from `request.cf`, so wrangler need not fetch it from workers.cloudflare.com
    // at start (offline, that fetch prints a DNS error's stack trace). Set it to true to get it back.
    env: { CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env },
  },
);
const stop = () => {
  try {
    process.kill(-dev.pid, 'SIGTERM');
  } catch {}
};
process.on('SIGINT', () => (stop(), process.exit(130)));
process.on('SIGTERM', () => (stop(), process.exit(143)));
dev.on('exit', (code) => process.exit(code ?? 0));

async function admin(path, body) {
  const res = await fetch(`${base}/admin${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-admin-key': adminKey ?? '' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function seed() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const team = await admin('/teams', { team_id: 'acme-corp', name: 'Acme Corp', credits: 1000 });
  if (team.status !== 201 && team.status !== 409)
    throw new Error(`seeding the demo team failed: ${JSON.stringify(team.body)}`);
  const key = await admin('/teams/acme-corp/keys', { name: 'demo key (npm start)' });
  if (key.status !== 201) throw new Error(`issuing the demo key failed: ${JSON.stringify(key.body)}`);
  console.log(`
  Sluice is running on ${base}
  Demo team: acme-corp${team.status === 201 ? ' (1000 credits)' : ''}
  Demo key:  ${key.body.key}
  Chat:      ${base}/   Dashboard: ${base}/dashboard

  curl -N ${base}/api/jobs/create-and-call-stream \\
    -H "Authorization: Bearer ${key.body.key}" -H "Content-Type: application/json" \\
    -d '{"team_id":"acme-corp","job_type":"chat","model":"mock","messages":[{"role":"user","content":"Hello"}]}'
`);
}

seed().catch((err) => {
  console.error(String(err));
  stop();
  process.exit(1);
});
