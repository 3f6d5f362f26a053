// Where Sluice's time goes: its cheapest routes, each on its own (no upstream involved), DIAG
// sequential requests each, with latency and the Worker process's CPU per request.
import { request } from '../lib/client.mjs';
import { cfg } from '../lib/config.mjs';
import { cpuWhenIdle, pct } from '../lib/stats.mjs';

const probes = [
  ['GET /health (routing only)', 'GET', '/health', null],
  ['GET /api/teams/{id}/credits (key auth + one D1 read batch)', 'GET', '/api/teams/bench/credits', null],
  [
    'POST /api/jobs/create (key auth + the job insert and credit hold batch)',
    'POST',
    '/api/jobs/create',
    { team_id: 'bench', job_type: 'bench' },
  ],
];

/** Resolves with {label: {requests, p50, p99, cpu_ms_per_request}} for each probe. */
export async function sluiceRoutes(sluice) {
  const diag = {};
  console.error(`Sluice's own routes: ${cfg.DIAG} requests each`);
  for (const [label, method, path, body] of probes) {
    const ms = [];
    const before = await cpuWhenIdle(sluice.pids);
    for (let i = 0; i < cfg.DIAG; i++) {
      const r = await request(sluice.base + path, method, body, sluice.headers, sluice.agent);
      if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
      ms.push(r.ms);
    }
    const cpuMs = ((await cpuWhenIdle(sluice.pids)) - before) * 1000;
    diag[label] = {
      requests: ms.length,
      p50: pct(ms, 0.5),
      p99: pct(ms, 0.99),
      cpu_ms_per_request: cpuMs / ms.length,
    };
  }
  return diag;
}
