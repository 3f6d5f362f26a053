import type { Model } from '../db/schema';

/**
 * What this isolate saw admitted recently, used only to decide whether to open the upstream
 * while admission is still running (open.ts). It never admits anything: the D1 gate still
 * checks the key, the team, the limits and the credits on every call, and a refused call's
 * early upstream request is aborted. Keys this isolate has not seen admitted never trigger an
 * upstream request, so unknown keys cannot make Sluice call a provider.
 */
const TTL_MS = 60_000;
const MAX_ENTRIES = 1_000;

/** Per key hash: until when it counts as warm, and whether its team pays per call (its calls then always carry a `max_tokens`). */
const keys = new Map<string, { until: number; perCall: boolean }>();
const models = new Map<string, { model: Model; until: number }>();

function prune<V>(map: Map<string, V>) {
  if (map.size > MAX_ENTRIES) map.clear();
}

export interface WarmTarget {
  model: Model;
  /** Whether the key's team was in a consumption mode when last admitted. */
  perCall: boolean;
}

/** The model to open early for this key and alias, if both were admitted here within a minute. */
export function warmTarget(keyHash: string, alias: string, now: number): WarmTarget | null {
  const key = keys.get(keyHash);
  const entry = models.get(alias);
  if (!key || key.until < now || !entry || entry.until < now) return null;
  return { model: entry.model, perCall: key.perCall };
}

export function rememberAdmission(keyHash: string, model: Model, perCall: boolean, now: number): void {
  prune(keys);
  prune(models);
  keys.set(keyHash, { until: now + TTL_MS, perCall });
  models.set(model.alias, { model, until: now + TTL_MS });
}

/** Same upstream target: the early request may stand for the admitted one. */
export const sameTarget = (a: Model, b: Model) =>
  a.alias === b.alias &&
  a.provider === b.provider &&
  a.upstreamModel === b.upstreamModel &&
  a.baseUrl === b.baseUrl &&
  JSON.stringify(a.fallbacks) === JSON.stringify(b.fallbacks);
