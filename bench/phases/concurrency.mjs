// The concurrency phases: at each CONC level, rounds of that many streams at once against one path
// at a time, the order rotated every round. Each round also counts its Worker's CPU (until the
// process goes idle) and samples its peak memory. At the first level the reference runs once more
// for each WORK entry, with that much extra CPU work per call.
import http from 'node:http';
import { streamOnce } from '../lib/client.mjs';
import { cfg, concGap, withWork } from '../lib/config.mjs';
import { rssBytes } from '../lib/proc.mjs';
import { cpuWhenIdle, steadyDelays, sum } from '../lib/stats.mjs';
import { rotate, sleep } from '../lib/util.mjs';
import { clock } from '../upstream.mjs';

/** `c` streams at once against one path (starts spread over a second), with its CPU and memory. */
export async function concurrentRound(t, c, shape) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const rampMs = Math.min(1000, c * 2);
  const cpu0 = await cpuWhenIdle(t.pids);
  const d1Cpu0 = await cpuWhenIdle(t.d1Pids);
  const objectsCpu0 = await cpuWhenIdle(t.objectPids);
  let peakRss = t.pids.length ? rssBytes(t.pids) : null;
  const sampler = t.pids.length ? setInterval(() => (peakRss = Math.max(peakRss, rssBytes(t.pids))), 200) : null;
  const timeoutMs = rampMs + shape.first + shape.n * shape.gap + 30_000;
  const started = clock();
  const results = await Promise.all(
    Array.from({ length: c }, (_, i) => sleep((i * rampMs) / c).then(() => streamOnce(t, shape, { agent, timeoutMs }))),
  );
  const wallMs = clock() - started;
  if (sampler) clearInterval(sampler);
  const cpu1 = await cpuWhenIdle(t.pids);
  const d1Cpu1 = await cpuWhenIdle(t.d1Pids);
  const objectsCpu1 = await cpuWhenIdle(t.objectPids);
  agent.destroy();
  const ok = results.filter((r) => r.ok);
  const errors = results.filter((r) => !r.ok);
  return {
    started: c,
    completed: ok.length,
    errors: errors.length,
    error_samples: [...new Set(errors.map((r) => r.error))].slice(0, 3),
    ttft: results.filter((r) => r.ttft !== null).map((r) => r.ttft),
    delays: results.flatMap((r) => r.delays),
    steady_delays: steadyDelays(results),
    chunks: sum(results.map((r) => r.chunks)),
    cpu_s: cpu0 === null ? null : cpu1 - cpu0,
    d1_cpu_s: d1Cpu0 === null ? null : d1Cpu1 - d1Cpu0,
    objects_cpu_s: objectsCpu0 === null ? null : objectsCpu1 - objectsCpu0,
    peak_rss: peakRss,
    wall_ms: wallMs,
  };
}

/** Resolves with {level: {path: [round, ...]}}, the reference's WORK runs under `reference+<units>`. */
export async function concurrency({ targets, byName }) {
  const conc = {};
  for (const c of cfg.CONC) {
    const shape = { first: cfg.FIRST_MS, n: cfg.N, gap: concGap(c) };
    conc[c] = Object.fromEntries(targets.map((t) => [t.name, []]));
    const worked =
      c === cfg.CONC[0]
        ? cfg.WORK.map((units) => ({
            ...byName('reference'),
            name: withWork(units),
            headers: { 'x-bench-work': String(units) },
          }))
        : [];
    for (let round = 0; round < cfg.CONC_ROUNDS; round++) {
      for (const t of rotate([...targets, ...worked], round)) {
        console.error(`concurrency ${c} (${shape.n} chunks every ${shape.gap} ms), round ${round + 1}: ${t.name}`);
        (conc[c][t.name] ??= []).push(await concurrentRound(t, c, shape));
      }
    }
  }
  return conc;
}
