import type { Model } from '../db/schema';
import { KEY_USE_GRANULARITY_MS } from './principal';

/**
 * What this isolate saw admitted recently, used only to decide whether to open the upstream
 * while admission is still running (see `begin` in calls.ts), and whether the key's
 * `last_used_at` still needs writing (admission.ts). It never admits anything: the
 * D1 gate still checks the key, the team, the limits and the credits on every call, and a
 * refused call's early upstream request is aborted. Keys this isolate has not seen admitted
 * never trigger an upstream request, so unknown keys cannot make Sluice call a provider.
 */
const TTL_MS = 60_000;
const MAX_ENTRIES = 1_000;

/** Per key: until when it counts as warm, and its `last_used_at` as the admission read it. */
const keys = new Map<string, { until: number; lastUsedAt: number | null }>();
const models = new Map<string, { model: Model; until: number }>();

function prune<V>(map: Map<string, V>) {
  if (map.size > MAX_ENTRIES) map.clear();
}

/** The model to open early for this key and alias, if both were admitted here within a minute. */
export function warmTarget(keyHash: string, alias: string, now: number): Model | null {
  const key = keys.get(keyHash);
  const entry = models.get(alias);
  if (!key || key.until < now || !entry || entry.until < now) return null;
  return entry.model;
}

/**
 * Whether the key's `last_used_at`, as this isolate last read it, is fresh enough that writing
 * it again would change nothing (admission then leaves the write out of its batch).
 */
export function keyUseIsFresh(keyHash: string, now: number): boolean {
  const lastUsedAt = keys.get(keyHash)?.lastUsedAt ?? null;
  return lastUsedAt !== null && lastUsedAt > now - KEY_USE_GRANULARITY_MS;
}

export function rememberAdmission(keyHash: string, model: Model, now: number, lastUsedAt: number | null): void {
  prune(keys);
  prune(models);
  keys.set(keyHash, { until: now + TTL_MS, lastUsedAt });
  models.set(model.alias, { model, until: now + TTL_MS });
}

/** Same upstream target: the early request may stand for the admitted one. */
export const sameTarget = (a: Model, b: Model) =>
  a.alias === b.alias &&
  a.provider === b.provider &&
  a.upstreamModel === b.upstreamModel &&
  a.baseUrl === b.baseUrl &&
  JSON.stringify(a.fallbacks) === JSON.stringify(b.fallbacks);
