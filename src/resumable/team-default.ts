/**
 * Whether a stream that does not say is resumable: its team's setting (`resumable_by_default`).
 * Only a request that leaves `resumable` out asks, and this isolate remembers each key's answer
 * for a minute, so a team's streams pay the lookup about once a minute per isolate, not once a
 * call; an operator's change reaches every isolate within that minute.
 */
import { resumableDefaultOfKey } from '../accounts/teams';
import { run } from '../db/statement';

const TTL_MS = 60_000;
const MAX_ENTRIES = 1_000;

const known = new Map<string, { resumable: boolean; until: number }>();

export async function resumableByDefault(d1: D1Database, keyHash: string, now = Date.now()): Promise<boolean> {
  const hit = known.get(keyHash);
  if (hit && hit.until > now) return hit.resumable;
  const row = await run(d1, resumableDefaultOfKey(keyHash));
  const resumable = row?.resumable === 1;
  if (known.size > MAX_ENTRIES) known.clear();
  known.set(keyHash, { resumable, until: now + TTL_MS });
  return resumable;
}
