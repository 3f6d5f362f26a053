import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { apiKeys, teams } from '../db/schema';
import type { Db } from '../db/client';
import { forbidden, unauthorized } from '../errors';

/** Who is calling: the key and its team. Loaded as one statement of the route's batch. */
export interface Principal {
  keyId: string;
  teamId: string;
  revokedAt: number | null;
  expiresAt: number | null;
  teamStatus: 'active' | 'suspended';
}

export const selectPrincipal = (db: Db, keyHash: string) =>
  db
    .select({
      keyId: apiKeys.id,
      teamId: apiKeys.teamId,
      revokedAt: apiKeys.revokedAt,
      expiresAt: apiKeys.expiresAt,
      teamStatus: teams.status,
    })
    .from(apiKeys)
    .innerJoin(teams, eq(teams.id, apiKeys.teamId))
    .where(eq(apiKeys.keyHash, keyHash))
    .limit(1);

/** Checks the looked-up key: unknown, revoked or expired -> 401, suspended team -> 403. */
export function requirePrincipal(rows: Principal[], now = Date.now()): Principal {
  const p = rows[0];
  if (!p) throw unauthorized();
  if (p.revokedAt !== null) throw unauthorized('This API key has been revoked', 'key_revoked');
  if (p.expiresAt !== null && p.expiresAt <= now) throw unauthorized('This API key has expired', 'key_expired');
  if (p.teamStatus !== 'active') throw forbidden('This team is suspended', 'team_suspended');
  return p;
}

/** A key only ever acts on its own team. */
export function requireSameTeam(p: Principal, teamId: string): void {
  if (p.teamId !== teamId) throw forbidden(`This API key does not belong to team '${teamId}'`, 'team_mismatch');
}

/** `last_used_at` is only rewritten when it is this stale, so busy keys cost at most one write a minute. */
export const KEY_USE_GRANULARITY_MS = 60_000;

/**
 * Records that a key was used. Returns the statement (run it under `waitUntil`, or add it to a
 * batch); it changes nothing when `last_used_at` is newer than a minute.
 *
 * @example
 * c.executionCtx.waitUntil(noteKeyUse(db, principal.keyId, Date.now()).run());
 */
export function noteKeyUse(db: Db, keyId: string, now: number) {
  return db
    .update(apiKeys)
    .set({ lastUsedAt: now })
    .where(
      and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - KEY_USE_GRANULARITY_MS))),
    );
}
