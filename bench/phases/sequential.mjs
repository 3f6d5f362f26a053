// The sequential phases: one request at a time, the paths interleaved request by request (the order
// rotated every time), so that the machine's drift reaches each alike. First a warm-up, then SEQ
// streams per path (TTFT, the time until the upstream is asked, per-chunk delay), then SEQ
// non-streaming calls per path (latency); each phase's runtime CPU per Worker process around it.
import { callOnce, streamOnce } from '../lib/client.mjs';
import { cfg } from '../lib/config.mjs';
import { cpuWhenIdle } from '../lib/stats.mjs';
import { progress, rotate } from '../lib/util.mjs';
import { reportProfiles, startProfiles } from './profile.mjs';

/**
 * `count` streams per path, one at a time, the paths taking turns. Resolves with each path's
 * samples: {ttft, reach, delays, errors, lastError}.
 */
export async function sequentialStreams(targets, shape, count, label) {
  const acc = Object.fromEntries(
    targets.map((t) => [t.name, { ttft: [], reach: [], delays: [], errors: 0, lastError: null }]),
  );
  const timeoutMs = shape.first + shape.n * shape.gap + 15_000;
  for (let i = 0; i < count; i++) {
    for (const t of rotate(targets, i)) {
      const r = await streamOnce(t, shape, { agent: t.agent, timeoutMs });
      const a = acc[t.name];
      if (!r.ok) {
        a.errors++;
        a.lastError = r.error;
        continue;
      }
      a.ttft.push(r.ttft);
      if (r.reach !== null) a.reach.push(r.reach);
      for (const d of r.delays) a.delays.push(d);
    }
    progress(label, i + 1, count);
  }
  return acc;
}

async function sequentialCalls(targets, shape, count, label) {
  const acc = Object.fromEntries(targets.map((t) => [t.name, { ms: [], errors: 0, lastError: null }]));
  const timeoutMs = shape.first + shape.n * shape.gap + 15_000;
  for (let i = 0; i < count; i++) {
    for (const t of rotate(targets, i)) {
      const r = await callOnce(t, shape, { agent: t.agent, timeoutMs });
      const a = acc[t.name];
      if (r.ok) a.ms.push(r.ms);
      else {
        a.errors++;
        a.lastError = r.error;
      }
    }
    progress(label, i + 1, count);
  }
  return acc;
}

/**
 * Warm-up, sequential streams and sequential calls on `seqTargets`. Resolves with each phase's
 * samples per path (`seq`, `calls`), each with `cpu`: the CPU seconds of every Worker's process
 * over that phase, and of the local D1's own process as `d1` (null when it runs inside Sluice's).
 */
export async function sequentialPhases({ seqTargets, byName }, host) {
  const seqShape = { first: cfg.FIRST_MS, n: cfg.SEQ_N, gap: cfg.GAP_MS };
  const callShape = { first: cfg.FIRST_MS, n: cfg.SEQ_N, gap: 0 };
  console.error(`warm-up: ${cfg.WARMUP} streams and ${cfg.WARMUP} calls per path`);
  await sequentialStreams(seqTargets, seqShape, cfg.WARMUP, 'warm-up streams');
  await sequentialCalls(seqTargets, callShape, cfg.WARMUP, 'warm-up calls');

  // Each Worker's process, and Sluice's local D1 as `d1` when it runs in a process of its own.
  const cpuNow = async () =>
    Object.fromEntries(
      await Promise.all(
        [...seqTargets, { name: 'd1', pids: byName('sluice').d1Pids }].map(async (t) => [
          t.name,
          await cpuWhenIdle(t.pids),
        ]),
      ),
    );
  const cpuSince = (before, after) =>
    Object.fromEntries(Object.keys(before).map((k) => [k, before[k] === null ? null : after[k] - before[k]]));
  console.error(`sequential streams: ${cfg.SEQ} per path, ${cfg.SEQ_N} chunks each, interleaved`);
  const cpu0 = await cpuNow();
  const profiling = cfg.PROFILE ? await startProfiles(host) : null;
  const seq = await sequentialStreams(seqTargets, seqShape, cfg.SEQ, 'streams');
  if (profiling) reportProfiles(await profiling.stop(), cfg.SEQ);
  const cpu1 = await cpuNow();
  console.error(`sequential non-streaming calls: ${cfg.SEQ} per path, interleaved`);
  const calls = await sequentialCalls(seqTargets, callShape, cfg.SEQ, 'calls');
  const cpu2 = await cpuNow();
  seq.cpu = cpuSince(cpu0, cpu1);
  calls.cpu = cpuSince(cpu1, cpu2);
  return { seq, calls };
}
