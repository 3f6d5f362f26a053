/**
 * Each budget mode's arithmetic, both sides side by side: the hold a call takes when it is
 * admitted, and the charge it pays when it settles.
 *
 * - job_based: a job holds `credits_per_job` from its creation and is charged that when it
 *   completes (billing/ledger.ts); its calls hold and pay nothing of their own.
 * - consumption_tokens: a call pays max(1, ceil(tokens / tokens_per_credit)), every token alike.
 * - consumption_usd: a call pays max(1, ceil(list-price USD x credits_per_dollar)), each class of
 *   token at its own price (billing/token-prices.ts).
 *
 * A hold is decided inside admission's D1 batch, where the team's settings and the model's
 * prices are, so it is SQL; a charge is known when the stream ends, so it is TypeScript. A hold
 * cannot know how the prompt will split into cache reads, cache writes and the rest, so it prices
 * the whole prompt at its dearest possible price (`promptPriceCeiling`). Both sides compute the
 * same IEEE doubles in the same order and round the same way, so for the same tokens:
 * - when the prompt has no cache reads or writes and no cache price is above the input price,
 *   the hold is the charge;
 * - in every case the charge is at most the hold.
 * test/billing/budget.test.ts holds the two sides to that, for every mode, price, token count
 * and cache split.
 *
 * The hold covers the prompt (as estimated before the call) plus every output token the call is
 * allowed: the caller's `max_tokens`, or, when it sets none, what the team can afford up to
 * DEFAULT_OUTPUT_TOKENS, which is then sent upstream as `max_tokens`. So an upstream that
 * honours `max_tokens` can never produce an answer that costs more than its hold.
 */
import type { BudgetMode, Team } from '../db/schema';
import { type PricedUsage, type TokenPrices, costMicroUsd } from './token-prices';

/** Output tokens a consumption-mode call may produce when it sets no `max_tokens` (fewer if the team cannot afford them). */
export const DEFAULT_OUTPUT_TOKENS = 4096;

/**
 * Floating-point slack: a cost that should be a whole number of credits but lands a hair above
 * it (3.0000000000000004) is not rounded up to the next credit.
 */
const EPSILON = 1e-9;

// ---- the hold (SQL over teams `t` and models `m`; `:p` prompt tokens) --------------------------
// D1 binds every JavaScript number as a REAL, so token counts are cast back to integers where
// integer arithmetic (a division that rounds down) is meant.

const PROMPT = 'CAST(:p AS INTEGER)';

/** Credits the team has that no hold has taken. */
export const AVAILABLE = '(t.credits_balance - t.credits_held)';

/**
 * `x` rounded up to a whole number, for x >= -1, written with core SQLite only (ceil() needs a
 * build option). `x` is evaluated once, in a sub-select, so the statement stays short.
 */
const ceilSql = (x: string) => `(SELECT CAST(v AS INTEGER) + (v > CAST(v AS INTEGER)) FROM (SELECT ${x} AS v))`;

/** The dearest price a prompt token of model `m` can turn out to have (`promptPriceCeiling`). */
const PROMPT_PRICE = `max(m.input_price_per_mtok,
    coalesce(m.cached_input_price_per_mtok, m.input_price_per_mtok),
    coalesce(m.cache_write_price_per_mtok, m.input_price_per_mtok))`;

/**
 * consumption_usd's credits before rounding, for `o` output tokens and the whole prompt at its
 * price ceiling (`usdCredits` with nothing saved: `costMicroUsd` computes this sum first).
 */
const usdSql = (o: string) =>
  `(((:p * ${PROMPT_PRICE} + (${o}) * m.output_price_per_mtok) / 1000000.0) * t.credits_per_dollar - ${EPSILON})`;

/** The credits a consumption-mode call of `:p` prompt and `o` output tokens holds; 0 in job_based. */
export function callHoldSql(o: string): string {
  return `(CASE t.budget_mode
    WHEN 'consumption_tokens' THEN max(1, (${PROMPT} + CAST(${o} AS INTEGER) + t.tokens_per_credit - 1) / t.tokens_per_credit)
    WHEN 'consumption_usd' THEN max(1, ${ceilSql(usdSql(o))})
    ELSE 0 END)`;
}

/** Output tokens without limit, as far as the arithmetic goes (more than any model produces). */
export const UNLIMITED = 1_000_000_000;

/**
 * consumption_usd: the most output tokens the available credits cover, estimated by inverting
 * the price (and so checked against the hold itself below). A free output price leaves only the
 * prompt to afford.
 */
const usdEstimate = `(CASE WHEN m.output_price_per_mtok <= 0
    THEN (CASE WHEN ${callHoldSql('0')} <= ${AVAILABLE} THEN ${UNLIMITED} ELSE -1 END)
  ELSE CAST(((${AVAILABLE} + ${EPSILON}) / t.credits_per_dollar * 1000000.0 - :p * ${PROMPT_PRICE})
    / m.output_price_per_mtok AS INTEGER) END)`;

/**
 * The most output tokens the team's available credits cover for this model and a prompt of
 * `:p` tokens, in a consumption mode (at most UNLIMITED); below 1 when not even one is affordable.
 */
export const AFFORDABLE_OUTPUT_SQL = `min(${UNLIMITED}, CASE t.budget_mode
    WHEN 'consumption_tokens' THEN ${AVAILABLE} * t.tokens_per_credit - ${PROMPT}
    ELSE (SELECT CASE WHEN ${AVAILABLE} < 1 THEN 0 WHEN ${callHoldSql('e')} <= ${AVAILABLE} THEN e ELSE e - 1 END
      FROM (SELECT ${usdEstimate} AS e))
  END)`;

/**
 * The output tokens a call is allowed: the caller's `:maxTokens`, or in a consumption mode what
 * the team can afford up to the default; NULL in job_based without `max_tokens` (no limit sent).
 */
export const CALL_OUTPUT_SQL = `(CASE WHEN :maxTokens IS NOT NULL THEN CAST(:maxTokens AS INTEGER)
    WHEN t.budget_mode = 'job_based' THEN NULL
    ELSE min(${DEFAULT_OUTPUT_TOKENS}, ${AFFORDABLE_OUTPUT_SQL}) END)`;

// ---- the charge (TypeScript, at settlement) ----------------------------------------------------

export type TeamRates = Pick<Team, 'budgetMode' | 'creditsPerDollar' | 'tokensPerCredit'>;

/** consumption_usd's credits before rounding (`usdSql`, less what the prompt's cache classes saved). */
const usdCredits = (team: TeamRates, model: TokenPrices, usage: PricedUsage) =>
  (costMicroUsd(model, usage) / 1000000.0) * team.creditsPerDollar - EPSILON;

/** Credits a call pays in a consumption mode; 0 in job_based, where the job pays. */
export function callCredits(team: TeamRates, model: TokenPrices, usage: PricedUsage): number {
  return creditsFor(team.budgetMode, team, model, usage);
}

function creditsFor(mode: BudgetMode, team: TeamRates, model: TokenPrices, usage: PricedUsage): number {
  if (mode === 'consumption_tokens') return Math.max(1, Math.ceil((usage.input + usage.output) / team.tokensPerCredit));
  if (mode === 'consumption_usd') return Math.max(1, Math.ceil(usdCredits(team, model, usage)));
  return 0;
}

// ---- a job's own hold --------------------------------------------------------------------------

/** Credits a job holds from its creation: `credits_per_job` in job_based, nothing in the consumption modes. */
export const JOB_HOLD_SQL = "(CASE WHEN t.budget_mode = 'job_based' THEN t.credits_per_job ELSE 0 END)";

/**
 * What a team must have available to open a job with no call yet: its job's hold in job_based,
 * one credit in the consumption modes (no call costs less).
 */
export const JOB_OPEN_SQL = "(CASE WHEN t.budget_mode = 'job_based' THEN t.credits_per_job ELSE 1 END)";
