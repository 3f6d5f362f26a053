import type { PriceOf, TokenUsage } from '../core/completion';

/**
 * What a call cost, as the extra fields every dialect's final usage carries where Sluice writes
 * that usage itself: `cost_usd` (list price) and `credits` (what the team is charged). Each
 * dialect's SDK keeps unknown usage fields or ignores them, so they break no client.
 */
export function costFields(usage: TokenUsage, price: PriceOf | undefined): { cost_usd?: number; credits?: number } {
  if (!price) return {};
  const { costUsd, credits } = price(usage);
  return { cost_usd: costUsd, credits };
}
