// CPU per call: many short streams per Worker, a few at a time, the Workers taking turns.
import { streamOnce } from '../lib/client.mjs';
import { cfg } from '../lib/config.mjs';
import { cpuEachWhenIdle } from '../lib/stats.mjs';
import { rotate } from '../lib/util.mjs';
import { reportProfiles, startProfiles } from './profile.mjs';

/** The short stream whose CPU stands for a call's fixed cost: three chunks, 1 ms apart. */
export const SHORT_STREAM = { first: 1, n: 3, gap: 1 };
/** Short streams a Worker serves at once in the CPU per call phase. */
const CALL_CONCURRENCY = 4;

/**
 * Runtime CPU per call, measured directly: many short streams, CALL_CONCURRENCY at a time, in
 * rounds in which the Workers take turns (the order rotated every round, as in the other phases),
 * so the machine's drift reaches each alike. The CPU split's per-call figure is extrapolated from two lengths and
 * coarse (its Sluice-minus-reference spans 1.5 ms over full runs); this one is fine enough to tell
 * one Sluice's per-call work from another's (BASELINE_REV). See bench/README.md for its measured
 * noise.
 */
export async function cpuPerCall(targets, host) {
  const streams = cfg.CALL_ROUNDS * cfg.CALL_STREAMS;
  if (!streams) return {};
  console.error(`CPU per call: ${cfg.CALL_ROUNDS} rounds of ${cfg.CALL_STREAMS} short streams per Worker`);
  const cpuS = Object.fromEntries(targets.map((t) => [t.name, 0]));
  // A Sluice whose objects run in a process apart (`objectPids`): that process's CPU too.
  const objectsS = Object.fromEntries(targets.map((t) => [t.name, t.objectPids ? 0 : null]));
  for (let round = 0; round < cfg.CALL_ROUNDS; round++) {
    for (const t of rotate(targets, round)) {
      const [before, objectsBefore] = await cpuEachWhenIdle([t.pids, t.objectPids]);
      let started = 0;
      const worker = async () => {
        while (started++ < cfg.CALL_STREAMS) {
          const r = await streamOnce(t, SHORT_STREAM, { agent: t.agent, timeoutMs: 15_000 });
          if (!r.ok) throw new Error(`CPU per call, ${t.name}: ${r.error}`);
        }
      };
      // PROFILE=1: the first round of the Sluice whose objects run apart, both its processes (its
      // Worker's holds Miniflare's dev-registry proxy too, in an isolate of its own).
      const profiling =
        cfg.PROFILE && round === 0 && t.objectPids ? await startProfiles(host, [t.name, 'accounts']) : null;
      await Promise.all(Array.from({ length: CALL_CONCURRENCY }, worker));
      if (profiling)
        reportProfiles(await profiling.stop(), cfg.CALL_STREAMS, { per: `short stream, ${t.name}`, worker: t.name });
      const [after, objectsAfter] = await cpuEachWhenIdle([t.pids, t.objectPids]);
      cpuS[t.name] += after - before;
      if (objectsS[t.name] !== null) objectsS[t.name] += objectsAfter - objectsBefore;
    }
  }
  const ms = (s) => (s === null ? null : (s * 1000) / streams);
  return Object.fromEntries(
    targets.map((t) => [
      t.name,
      { streams, cpu_ms_per_stream: ms(cpuS[t.name]), objects_cpu_ms_per_stream: ms(objectsS[t.name]) },
    ]),
  );
}
