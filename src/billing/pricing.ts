import type { TokenUsage } from '../core/completion';

export interface Prices {
  inputPricePerMtok: number;
  outputPricePerMtok: number;
}

/** USD cost of one call from the catalog's list prices (USD per 1M tokens). */
export function costUsd(prices: Prices, usage: Pick<TokenUsage, 'input' | 'output'>): number {
  const cost = (usage.input * prices.inputPricePerMtok + usage.output * prices.outputPricePerMtok) / 1e6;
  // Round to a micro-dollar so sums stay stable across SQLite and JS.
  return Math.round(cost * 1e6) / 1e6;
}
