// The re-encoded phase: Anthropic and Gemini streams, RECODE at once, paced like the concurrency
// phases. The reference forwards the provider's events, the reference-js path relays them through
// JavaScript, and Sluice (and its baseline) turns them into OpenAI chunks.
import { cfg, concGap } from '../lib/config.mjs';
import { RECODED } from '../lib/paths.mjs';
import { rotate } from '../lib/util.mjs';
import { concurrentRound } from './concurrency.mjs';

/** Resolves with {provider: {path: [round, ...]}}; RECODE=0 skips it ({}). */
export async function reencoded({ recodeTargets }) {
  const recode = {};
  for (const [k, provider] of (cfg.RECODE ? Object.keys(RECODED) : []).entries()) {
    const c = cfg.RECODE;
    const shape = { first: cfg.FIRST_MS, n: cfg.N, gap: concGap(c) };
    recode[provider] = {};
    for (let round = 0; round < cfg.CONC_ROUNDS; round++) {
      for (const t of rotate(recodeTargets(provider), k + round)) {
        console.error(
          `re-encoded streams, ${provider}: ${c} concurrent (${shape.n} chunks every ${shape.gap} ms), round ${round + 1}: ${t.name}`,
        );
        (recode[provider][t.name] ??= []).push(await concurrentRound(t, c, shape));
      }
    }
  }
  return recode;
}
