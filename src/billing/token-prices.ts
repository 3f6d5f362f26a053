/**
 * The pricing rule: what a call's tokens cost at the catalog's list prices, each class of token
 * at its own price. The USD cost a call row shows (pricing.ts) and the consumption_usd charge
 * (budget.ts) are both this sum; nothing else prices a token.
 */
import type { TokenUsage } from '../core/completion';
import type { Model } from '../db/schema';

/** A catalog entry's prices, USD per 1M tokens; a null cache price means the input price. */
export type TokenPrices = Pick<
  Model,
  'inputPricePerMtok' | 'outputPricePerMtok' | 'cachedInputPricePerMtok' | 'cacheWritePricePerMtok'
>;

export type PricedUsage = Pick<TokenUsage, 'input' | 'cachedInput' | 'cacheWrite' | 'output'>;

/**
 * The dearest price a prompt token can turn out to have. Before the call nobody knows how the
 * prompt will split into cache reads, cache writes and the rest, so a hold prices all of it at
 * this (budget.ts computes the same in SQL).
 */
export const promptPriceCeiling = (p: TokenPrices): number =>
  Math.max(
    p.inputPricePerMtok,
    p.cachedInputPricePerMtok ?? p.inputPricePerMtok,
    p.cacheWritePricePerMtok ?? p.inputPricePerMtok,
  );

/**
 * A call's cost in micro-dollars (tokens x USD per 1M tokens): the prompt's cache reads at the
 * cached-input price, its cache writes at the cache-write price, the rest of it at the input
 * price, and every output token (reasoning included) at the output price.
 *
 * It is written as "the whole prompt at its price ceiling, less what each class saves below it"
 * rather than as a sum of the classes: the same number, but in floating point it can then never
 * come out above a hold that prices the whole prompt at the ceiling (savings are never
 * negative), and when nothing is saved it is that hold's own sum, bit for bit. A sum of the
 * classes rounds differently from the hold's single product and can land an ulp above it.
 */
export function costMicroUsd(prices: TokenPrices, usage: PricedUsage): number {
  const input = prices.inputPricePerMtok;
  const ceiling = promptPriceCeiling(prices);
  // The classes are parts of the prompt: an upstream that reports more than the whole is
  // believed about the whole, so no class can go negative and cost less than nothing.
  const cached = Math.min(Math.max(usage.cachedInput, 0), usage.input);
  const written = Math.min(Math.max(usage.cacheWrite, 0), usage.input - cached);
  const saved =
    (usage.input - cached - written) * (ceiling - input) +
    cached * (ceiling - (prices.cachedInputPricePerMtok ?? input)) +
    written * (ceiling - (prices.cacheWritePricePerMtok ?? input));
  // Rounding in `saved` must not take a free call below zero.
  return Math.max(0, usage.input * ceiling + usage.output * prices.outputPricePerMtok - saved);
}
