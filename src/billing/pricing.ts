/** What a call costs, in USD and in credits, from its usage and the catalog's list prices. */
import type { CallCost, TokenUsage } from '../core/completion';
import { type TeamRates, callCredits } from './budget';
import { type PricedUsage, type TokenPrices, costMicroUsd } from './token-prices';

/** USD cost of one call from the catalog's list prices (USD per 1M tokens, each token class at its own). */
export function costUsd(prices: TokenPrices, usage: PricedUsage): number {
  const cost = costMicroUsd(prices, usage) / 1e6;
  // Round to a micro-dollar so sums stay stable across SQLite and JS.
  return Math.round(cost * 1e6) / 1e6;
}

/**
 * A call's cost as a final usage report can state it: its list-price USD, and the credits
 * settlement charges for it (billing/settle.ts, through the same `callCredits`): nothing in
 * job_based, where the job pays, the consumption-mode charge otherwise.
 */
export function callCost(prices: TokenPrices, team: TeamRates, usage: TokenUsage): CallCost {
  return { costUsd: costUsd(prices, usage), credits: callCredits(team, prices, usage) };
}
