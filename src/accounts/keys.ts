/**
 * Virtual keys, the operator's side: issuing, listing, revoking and rotating them. Only a key's
 * SHA-256 hash and a short prefix are stored; the secret is returned once, by the request that
 * made it. Whether a key may act is auth/rule.ts's to say: the state shown here is that rule.
 */
import { keyRefusal } from '../auth/rule';
import { type Accounts, accountDb } from './account/db';
import { type ApiKey, apiKeys } from '../db/schema';
import { fromRow } from '../db/rows';
import { type SqlResult, batch, first, namedSql, rows, run, write } from '../db/statement';
import { conflict, notFound } from '../errors';
import { generateKey, hashKey, keyPrefix, newId } from '../lib/crypto';

export type KeyState = 'active' | 'expired' | 'revoked';

export interface KeyWithState {
  key: ApiKey;
  state: KeyState;
}

const STATE = `CASE ${keyRefusal('k', null)} WHEN 'key_revoked' THEN 'revoked' WHEN 'key_expired' THEN 'expired' ELSE 'active' END`;

const withState = (where: string, values: Record<string, unknown>) => {
  const s = rows<Record<string, unknown>>(
    namedSql(`SELECT k.*, ${STATE} AS key_state FROM api_keys k ${where}`),
    values,
  );
  return {
    ...s,
    read: (r: SqlResult): KeyWithState[] =>
      s.read(r).map((raw) => ({ key: fromRow(apiKeys, raw), state: raw.key_state as KeyState })),
  };
};

const keyById = (id: string, now: number) => withState('WHERE k.id = :id', { id, now });
const teamHas = namedSql('SELECT 1 AS found FROM teams WHERE id = :teamId');

/** The team's keys, newest first; 404 for an unknown team. */
export async function teamKeys(d1: D1Database, teamId: string, now: number): Promise<KeyWithState[]> {
  const [team, keys] = await batch(d1, [
    rows(teamHas, { teamId }),
    withState('WHERE k.team_id = :teamId ORDER BY k.created_at DESC, k.id DESC', { teamId, now }),
  ]);
  if (!team.length) throw notFound('team', teamId);
  return keys;
}

export interface KeySettings {
  name: string | null;
  expiresAt: number | null;
  allowedModels: string[] | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
}

const issue =
  namedSql(`INSERT INTO api_keys (id, team_id, name, key_hash, prefix, created_at, expires_at, allowed_models,
    rpm_limit, tpm_limit)
  SELECT :id, id, :name, :hash, :prefix, :now, :expiresAt, :allowedModels, :rpmLimit, :tpmLimit
  FROM teams WHERE id = :teamId`);

export interface KeyDeps {
  d1: D1Database;
  accounts: Accounts;
}

const teamOfKeyId = namedSql('SELECT team_id AS teamId FROM api_keys WHERE id = :id');

/** The account of the team key `id` belongs to (the key's state is the account's); 404 for an unknown key. */
async function accountOfKey(deps: KeyDeps, id: string) {
  const row = await run(deps.d1, first(rows<{ teamId: string }>(teamOfKeyId, { id })));
  if (!row) throw notFound('key', id);
  return accountDb(deps.accounts, row.teamId);
}

/**
 * A new key for the team, and its secret (shown this once); 404 for an unknown team. Issued in
 * the team's account, and in D1 by the time this resolves, so the key works at once.
 */
export async function issueKey(deps: KeyDeps, teamId: string, settings: KeySettings, now: number) {
  const secret = generateKey();
  const id = newId('key');
  const [inserted, found] = await batch(accountDb(deps.accounts, teamId), [
    write(issue, {
      id,
      teamId,
      now,
      name: settings.name,
      hash: await hashKey(secret),
      prefix: keyPrefix(secret),
      expiresAt: settings.expiresAt,
      allowedModels: settings.allowedModels ? JSON.stringify(settings.allowedModels) : null,
      rpmLimit: settings.rpmLimit,
      tpmLimit: settings.tpmLimit,
    }),
    keyById(id, now),
  ]);
  if (inserted !== 1 || !found[0]) throw notFound('team', teamId);
  return { ...found[0], secret };
}

const revoke = namedSql(
  'UPDATE api_keys SET revoked_at = coalesce(revoked_at, :now) WHERE id = :id RETURNING revoked_at',
);

/** Revokes the key from the next request on (a second revocation keeps the first time); 404 for an unknown key. */
export async function revokeKey(deps: KeyDeps, id: string, now: number): Promise<number> {
  const [row] = await run(await accountOfKey(deps, id), rows<{ revoked_at: number }>(revoke, { id, now }));
  if (!row) throw notFound('key', id);
  return row.revoked_at;
}

// The new key is copied from the old one only while the old one is live (the rule, without its
// team part: a suspended team's keys can still be rotated), and the old one is retired only if
// the copy happened: one transaction.
const rotateCopy = namedSql(`INSERT INTO api_keys (id, team_id, name, key_hash, prefix, created_at, expires_at,
    allowed_models, rpm_limit, tpm_limit)
  SELECT :newId, team_id, name, :hash, :prefix, :now, expires_at, allowed_models, rpm_limit, tpm_limit
  FROM api_keys k WHERE k.id = :id AND ${keyRefusal('k', null)} IS NULL`);
const COPIED = 'EXISTS (SELECT 1 FROM api_keys WHERE id = :newId)';
const retireNow = namedSql(`UPDATE api_keys SET revoked_at = :now WHERE id = :id AND ${COPIED}`);
const retireLater = namedSql(
  `UPDATE api_keys SET expires_at = min(coalesce(expires_at, :until), :until) WHERE id = :id AND ${COPIED}`,
);

/**
 * A new secret with the old key's name, expiry, models and limits. The old secret is revoked
 * now, or keeps working for `graceSeconds` and then expires. 404 for an unknown key, 409 for
 * one already revoked or expired.
 */
export async function rotateKey(deps: KeyDeps, id: string, graceSeconds: number, now: number) {
  const account = await accountOfKey(deps, id);
  const secret = generateKey();
  const newKeyId = newId('key');
  const values = { id, newId: newKeyId, hash: await hashKey(secret), prefix: keyPrefix(secret), now };
  const [, , old, created] = await batch(account, [
    write(rotateCopy, values),
    graceSeconds === 0 ? write(retireNow, values) : write(retireLater, { ...values, until: now + graceSeconds * 1000 }),
    keyById(id, now),
    keyById(newKeyId, now),
  ]);
  const replaced = old[0];
  if (!replaced) throw notFound('key', id);
  if (!created[0])
    throw conflict(`Key '${id}' is already ${replaced.state}; issue a new key instead`, 'key_not_active');
  return { created: created[0], replaced: replaced.key, secret };
}
