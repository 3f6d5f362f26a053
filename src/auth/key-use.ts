/**
 * A key's `last_used_at`, written at most once a minute however busy the key is. The write
 * joins the batch the request sends anyway; on the call path (admission) it is left out
 * altogether while the time this isolate last read is fresh, as every statement there costs.
 */
import { namedSql, write } from '../db/statement';
import { usableKey } from './rule';

/** `last_used_at` is only rewritten when it is this stale. */
export const KEY_USE_GRANULARITY_MS = 60_000;
const MAX_ENTRIES = 1_000;

/** Per key hash, the `last_used_at` this isolate last saw. */
const seen = new Map<string, number | null>();

const NOTE_USE = namedSql(`
  UPDATE api_keys SET last_used_at = :now
  WHERE key_hash = :keyHash AND (last_used_at IS NULL OR last_used_at < :now - ${KEY_USE_GRANULARITY_MS})
    AND EXISTS (SELECT 1 FROM api_keys k JOIN teams t ON t.id = k.team_id
      WHERE k.key_hash = :keyHash AND ${usableKey('k', 't')})`);

/** The statement that records this use (it changes nothing within a minute of the last). */
export const noteKeyUse = (keyHash: string, now: number) => write(NOTE_USE, { keyHash, now });

/** `noteKeyUse`, or nothing while this isolate knows the key's last use is recent. */
export function noteKeyUseUnlessFresh(keyHash: string, now: number) {
  const last = seen.get(keyHash);
  if (last !== undefined && last !== null && last > now - KEY_USE_GRANULARITY_MS) return [];
  return [noteKeyUse(keyHash, now)];
}

/** What a batch read of the key said its last use was (after the batch's own write, if any). */
export function rememberKeyUse(keyHash: string, lastUsedAt: number | null): void {
  if (seen.size > MAX_ENTRIES) seen.clear();
  seen.set(keyHash, lastUsedAt);
}
