import type { Usage } from '../core/completion';

export interface Prices {
  inputPricePerMtok: number;
  outputPricePerMtok: number;
}

/** USD cost of one call from the catalog's list prices (USD per 1M tokens). */
export function costUsd(prices: Prices, usage: Pick<Usage, 'prompt_tokens' | 'completion_tokens'>): number {
  const cost =
    (usage.prompt_tokens * prices.inputPricePerMtok + usage.completion_tokens * prices.outputPricePerMtok) / 1e6;
  // Round to a micro-dollar so sums stay stable across SQLite and JS.
  return Math.round(cost * 1e6) / 1e6;
}
