import { eq } from 'drizzle-orm';
import { apiKeys, teams } from '../db/schema';
import type { Db } from '../env';
import { forbidden, unauthorized } from '../errors';

/** Who is calling: the key and its team. Loaded as one statement of the route's batch. */
export interface Principal {
  keyId: string;
  teamId: string;
  revokedAt: number | null;
  teamStatus: 'active' | 'suspended';
}

export const selectPrincipal = (db: Db, keyHash: string) =>
  db
    .select({ keyId: apiKeys.id, teamId: apiKeys.teamId, revokedAt: apiKeys.revokedAt, teamStatus: teams.status })
    .from(apiKeys)
    .innerJoin(teams, eq(teams.id, apiKeys.teamId))
    .where(eq(apiKeys.keyHash, keyHash))
    .limit(1);

/** Checks the looked-up key: unknown or revoked -> 401, suspended team -> 403. */
export function requirePrincipal(rows: Principal[]): Principal {
  const p = rows[0];
  if (!p) throw unauthorized();
  if (p.revokedAt !== null) throw unauthorized('This API key has been revoked', 'key_revoked');
  if (p.teamStatus !== 'active') throw forbidden('This team is suspended', 'team_suspended');
  return p;
}

/** A key only ever acts on its own team. */
export function requireSameTeam(p: Principal, teamId: string): void {
  if (p.teamId !== teamId) throw forbidden(`This API key does not belong to team '${teamId}'`, 'team_mismatch');
}
