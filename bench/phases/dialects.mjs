// The client dialects phase: Sluice's /v1 routes of other client dialects (bench/lib/dialects.mjs),
// each against the reference forwarding the stream of the upstream format it is served from. First
// WARMUP streams per path, not counted, and DIALECT_SEQ short sequential streams per path, the paths
// taking turns (TTFT); then CONC_ROUNDS rounds of DIALECT_CONC streams at once per path, paced like
// the re-encoded phase (CPU per chunk). The baseline does not join it: a commit from before a
// dialect's route would fail it.
import { cfg, concGap } from '../lib/config.mjs';
import { rotate } from '../lib/util.mjs';
import { concurrentRound } from './concurrency.mjs';
import { sequentialStreams } from './sequential.mjs';

/**
 * The sequential streams' shape: TTFT is what they are for, so a few chunks each keep the phase
 * short. `stamp: 'text'`: an OpenAI upstream's stamps ride in the text, which re-encoding keeps.
 */
export const DIALECT_SEQ_SHAPE = { first: cfg.FIRST_MS, n: 5, gap: cfg.GAP_MS, stamp: 'text' };

/** Resolves with {seq: {path: samples}, conc: {path: [round, ...]}}; either is {} when its knob is 0. */
export async function dialects({ dialectTargets }) {
  const out = { seq: {}, conc: {} };
  if (cfg.DIALECT_SEQ) {
    // Each route's first calls run code no other phase has run yet: not counted, as in the warm-up.
    console.error(`client dialects, warm-up: ${cfg.WARMUP} streams per path`);
    await sequentialStreams(dialectTargets, DIALECT_SEQ_SHAPE, cfg.WARMUP, 'dialect warm-up');
    console.error(
      `client dialects, sequential streams: ${cfg.DIALECT_SEQ} per path, ${DIALECT_SEQ_SHAPE.n} chunks each, interleaved`,
    );
    out.seq = await sequentialStreams(dialectTargets, DIALECT_SEQ_SHAPE, cfg.DIALECT_SEQ, 'dialect streams');
  }
  const c = cfg.DIALECT_CONC;
  if (!c) return out;
  const shape = { first: cfg.FIRST_MS, n: cfg.N, gap: concGap(c), stamp: 'text' };
  for (let round = 0; round < cfg.CONC_ROUNDS; round++) {
    for (const t of rotate(dialectTargets, round)) {
      console.error(
        `client dialects: ${c} concurrent (${shape.n} chunks every ${shape.gap} ms), round ${round + 1}: ${t.name}`,
      );
      (out.conc[t.name] ??= []).push(await concurrentRound(t, c, shape));
    }
  }
  return out;
}
