// Turning samples into figures: percentiles, a process tree's CPU once it has gone quiet, and what
// the rounds of one path at one concurrency add up to.
import { cpuSeconds } from './proc.mjs';
import { sleep } from './util.mjs';

export const sum = (xs) => xs.reduce((a, b) => a + b, 0);

export function pct(values, q) {
  if (!values.length) return null;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** CPU seconds of a process tree once it has gone quiet (bookkeeping after the stream counts). */
export async function cpuWhenIdle(pids, maxMs = 15_000) {
  if (!pids?.length) return null;
  const until = Date.now() + maxMs;
  let last = cpuSeconds(pids);
  for (;;) {
    await sleep(300);
    const now = cpuSeconds(pids);
    if (now === last || Date.now() > until) return now;
    last = now;
  }
}

/**
 * CPU seconds of each of several process trees (null for an empty one), once all of them have gone
 * quiet: the work one phase leaves to several processes (a Worker's, the local D1's) is counted whole.
 */
export async function cpuEachWhenIdle(groups, maxMs = 15_000) {
  const until = Date.now() + maxMs;
  const read = () => groups.map((pids) => (pids?.length ? cpuSeconds(pids) : null));
  let last = read();
  for (;;) {
    await sleep(300);
    const now = read();
    if (now.every((v, i) => v === last[i]) || Date.now() > until) return now;
    last = now;
  }
}

/**
 * The delays of chunks sent once every stream of a round had its first token: the round's steady
 * state, without the burst of requests being admitted and opened while streams start.
 */
export function steadyDelays(results) {
  const open = Math.max(...results.map((r) => (r.ttft === null ? -Infinity : r.t0 + r.ttft)));
  return results.flatMap((r) => r.delays.filter((_, i) => r.sent[i] > open));
}

/** What the rounds of one path at one concurrency add up to. */
export function roundStats(rounds) {
  const all = (field) => rounds.flatMap((r) => r[field]);
  const chunks = sum(rounds.map((r) => r.chunks));
  const cpu = rounds[0].cpu_s === null ? null : sum(rounds.map((r) => r.cpu_s));
  const d1Cpu = rounds[0].d1_cpu_s === null ? null : sum(rounds.map((r) => r.d1_cpu_s));
  const objectsCpu = (rounds[0].objects_cpu_s ?? null) === null ? null : sum(rounds.map((r) => r.objects_cpu_s));
  return {
    streams: sum(rounds.map((r) => r.started)),
    completed: sum(rounds.map((r) => r.completed)),
    errors: sum(rounds.map((r) => r.errors)),
    error_samples: [...new Set(rounds.flatMap((r) => r.error_samples))].slice(0, 3),
    ttft_p50: pct(all('ttft'), 0.5),
    ttft_p99: pct(all('ttft'), 0.99),
    chunk_p50: pct(all('delays'), 0.5),
    chunk_p99: pct(all('delays'), 0.99),
    steady_chunk_p99: pct(all('steady_delays'), 0.99),
    steady_chunks: all('steady_delays').length,
    chunks,
    cpu_s: cpu,
    d1_cpu_s: d1Cpu,
    cpu_us_per_chunk: cpu === null || !chunks ? null : (cpu * 1e6) / chunks,
    d1_cpu_us_per_chunk: d1Cpu === null || !chunks ? null : (d1Cpu * 1e6) / chunks,
    /** The objects' process, for a path whose objects run apart. */
    objects_cpu_us_per_chunk: objectsCpu === null || !chunks ? null : (objectsCpu * 1e6) / chunks,
    peak_rss: rounds[0].peak_rss === null ? null : Math.max(...rounds.map((r) => r.peak_rss)),
    wall_ms: rounds.map((r) => Math.round(r.wall_ms)),
  };
}
