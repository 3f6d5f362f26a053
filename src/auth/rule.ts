/**
 * Who may call: the usable-key rule, written once. A key is usable while it is not revoked, not
 * past its expiry, and its team is active. The rule is SQL, because every statement that acts
 * for a key (admission's gate, a job's insert, a metadata patch) must refuse inside the same
 * transaction; the refusal it names is what the caller is told.
 */
import { ApiError, forbidden, unauthorized } from '../errors';
import { namedSql, rows } from '../db/statement';

export type KeyRefusal = 'key_revoked' | 'key_expired' | 'team_suspended';

/**
 * Why the key `k` (of team `t`, when given) may not be used at `:now`, or NULL. The single
 * statement of the rule: `usableKey` and every view of a key's state are this expression.
 */
export function keyRefusal(k: string, t: string | null): string {
  return `(CASE WHEN ${k}.revoked_at IS NOT NULL THEN 'key_revoked'
    WHEN ${k}.expires_at IS NOT NULL AND ${k}.expires_at <= :now THEN 'key_expired'
    ${t ? `WHEN ${t}.status <> 'active' THEN 'team_suspended'` : ''} END)`;
}

/** The rule as a condition: the key `k` of team `t` may act at `:now`. */
export const usableKey = (k: string, t: string) => `${keyRefusal(k, t)} IS NULL`;

/**
 * The model `alias` (SQL) is one the key `k` of team `t` may call: each of them either allows
 * every model (NULL) or lists it.
 */
export function modelAllowed(k: string, t: string, alias: string): string {
  const listed = (column: string) =>
    `(${column} IS NULL OR EXISTS (SELECT 1 FROM json_each(${column}) WHERE value = ${alias}))`;
  return `(${listed(`${t}.allowed_models`)} AND ${listed(`${k}.allowed_models`)})`;
}

/** The error a refused key gets: 401 for the key itself, 403 for its suspended team. */
export function refusalError(refusal: string | null | undefined): ApiError {
  switch (refusal) {
    case 'key_revoked':
      return unauthorized('This API key has been revoked', 'key_revoked');
    case 'key_expired':
      return unauthorized('This API key has expired', 'key_expired');
    case 'team_suspended':
      return forbidden('This team is suspended', 'team_suspended');
    default:
      return unauthorized();
  }
}

/** Who is calling, once the rule let them in. */
export interface Principal {
  keyId: string;
  teamId: string;
  lastUsedAt: number | null;
}

export interface CallerRow extends Principal {
  refusal: KeyRefusal | null;
}

const CALLER = namedSql(`
  SELECT k.id AS keyId, k.team_id AS teamId, k.last_used_at AS lastUsedAt, ${keyRefusal('k', 't')} AS refusal
  FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = :keyHash`);

/** The key with this hash, its team and what the rule says of it (no row: an unknown key). */
export const callerByKeyHash = (keyHash: string, now: number) => rows<CallerRow>(CALLER, { keyHash, now });

/** The principal, or the error the rule gives (no row: an unknown key). */
export function requirePrincipal(row: CallerRow | null | undefined): Principal {
  if (!row || row.refusal) throw refusalError(row?.refusal);
  return { keyId: row.keyId, teamId: row.teamId, lastUsedAt: row.lastUsedAt };
}

/** A key only ever acts on its own team. */
export function requireSameTeam(p: Pick<Principal, 'teamId'>, teamId: string): void {
  if (p.teamId !== teamId) throw forbidden(`This API key does not belong to team '${teamId}'`, 'team_mismatch');
}
