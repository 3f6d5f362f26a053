import type { BudgetMode, Model, Team } from '../db/schema';
import type { Usage } from '../core/completion';
import { costUsd } from './pricing';

/** Output tokens assumed for a hold when the request sets no `max_tokens`. */
export const DEFAULT_OUTPUT_ESTIMATE = 1024;
/** The most output tokens a single hold reserves for, whatever `max_tokens` says. */
export const MAX_OUTPUT_ESTIMATE = 16_384;

/** Credits a call costs in a consumption mode; job_based teams pay per job, not per call. */
export function callCredits(
  team: Pick<Team, 'budgetMode' | 'creditsPerDollar' | 'tokensPerCredit'>,
  model: Pick<Model, 'inputPricePerMtok' | 'outputPricePerMtok'>,
  usage: Pick<Usage, 'prompt_tokens' | 'completion_tokens'>,
): number {
  return creditsFor(team.budgetMode, team, {
    tokens: usage.prompt_tokens + usage.completion_tokens,
    costUsd: costUsd(model, usage),
  });
}

function creditsFor(
  mode: BudgetMode,
  team: Pick<Team, 'creditsPerDollar' | 'tokensPerCredit'>,
  amount: { tokens: number; costUsd: number },
): number {
  if (mode === 'consumption_tokens') return Math.max(1, Math.ceil(amount.tokens / team.tokensPerCredit));
  if (mode === 'consumption_usd') return Math.max(1, Math.ceil(amount.costUsd * team.creditsPerDollar - 1e-9));
  return 0;
}

/** The token counts a call's hold is sized for: the prompt guess plus its output allowance. */
export function holdEstimate(promptTokens: number, maxTokens: number | undefined) {
  return {
    promptTokens,
    outputTokens: Math.min(maxTokens ?? DEFAULT_OUTPUT_ESTIMATE, MAX_OUTPUT_ESTIMATE),
  };
}
