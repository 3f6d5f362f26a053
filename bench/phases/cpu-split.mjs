// CPU split: the same stream at two lengths gives the cost per chunk (slope) and per call (rest).
import { streamOnce } from '../lib/client.mjs';
import { cfg } from '../lib/config.mjs';
import { cpuWhenIdle } from '../lib/stats.mjs';

const sizes = [20, 220];

/**
 * SPLIT sequential streams of 20 and of 220 chunks on each Worker (`targets` with a process).
 * Resolves with {name: {cpu_ms_per_stream: {20, 220}, per_chunk_us, per_call_ms}}.
 */
export async function cpuSplit(targets) {
  const split = {};
  console.error(`CPU split: ${cfg.SPLIT} streams of ${sizes.join(' and ')} chunks per Worker`);
  for (const t of targets) {
    const cpuMs = {};
    for (const n of sizes) {
      const shape = { first: 1, n, gap: 1 }; // one write per chunk, as a paced stream sends them
      const before = await cpuWhenIdle(t.pids);
      for (let i = 0; i < cfg.SPLIT; i++) {
        const r = await streamOnce(t, shape, { agent: t.agent, timeoutMs: 30_000 });
        if (!r.ok) throw new Error(`CPU split, ${t.name}: ${r.error}`);
      }
      cpuMs[n] = (((await cpuWhenIdle(t.pids)) - before) * 1000) / cfg.SPLIT;
    }
    const perChunkUs = ((cpuMs[220] - cpuMs[20]) / 200) * 1000;
    split[t.name] = {
      cpu_ms_per_stream: cpuMs,
      per_chunk_us: perChunkUs,
      per_call_ms: cpuMs[20] - (20 * perChunkUs) / 1000,
    };
  }
  return split;
}
