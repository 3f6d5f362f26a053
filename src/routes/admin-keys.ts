import { createRoute } from '@hono/zod-openapi';
import { desc, eq, sql } from 'drizzle-orm';
import { stmt } from '../db/raw';
import { type ApiKey, apiKeys } from '../db/schema';
import { badRequest, conflict, notFound } from '../errors';
import { generateKey, hashKey, keyPrefix, newId } from '../lib/crypto';
import { adminAuth, json, jsonBody } from '../http/openapi';
import { createRouter } from '../http/router';
import {
  CreateKeyBody,
  CreateKeyResponse,
  KeyIdParam,
  KeyList,
  RevokeKeyResponse,
  RotateKeyBody,
  RotateKeyResponse,
} from '../schemas/admin';
import { ErrorResponse, TeamIdParam } from '../schemas/jobs';
import { selectTeam } from '../services/jobs';
import { checkReferences } from './admin-teams';

export const adminKeys = createRouter();

const tags = ['Admin: keys'];
const errors = {
  400: json(ErrorResponse, 'Invalid request'),
  401: json(ErrorResponse, 'Missing or invalid X-Admin-Key'),
  404: json(ErrorResponse, 'Unknown team or key'),
};
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What may be shown about a key after it was issued: never the secret, never its hash. */
export function keyView(k: ApiKey, now = Date.now()) {
  return {
    key_id: k.id,
    team_id: k.teamId,
    name: k.name,
    prefix: k.prefix,
    status:
      k.revokedAt !== null
        ? ('revoked' as const)
        : k.expiresAt !== null && k.expiresAt <= now
          ? ('expired' as const)
          : ('active' as const),
    created_at: iso(k.createdAt)!,
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
    last_used_at: iso(k.lastUsedAt),
    allowed_models: k.allowedModels ?? null,
    rpm_limit: k.rpmLimit,
    tpm_limit: k.tpmLimit,
  };
}

adminKeys.openapi(
  createRoute({
    method: 'post',
    path: '/teams/{team_id}/keys',
    tags,
    summary: 'Issue a virtual key; the secret is returned once and only its SHA-256 hash is stored',
    security: adminAuth,
    request: { params: TeamIdParam, body: jsonBody(CreateKeyBody) },
    responses: { 201: json(CreateKeyResponse, 'The new key and its secret'), ...errors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    const now = Date.now();
    const expiresAt = body.expires_at === undefined ? null : Date.parse(body.expires_at);
    if (expiresAt !== null && expiresAt <= now) throw badRequest('expires_at must be in the future', 'expires_at');
    await checkReferences(db, { allowed_models: body.allowed_models });
    const secret = generateKey();
    const keyId = newId('key');
    const allowed = body.allowed_models ? JSON.stringify(body.allowed_models) : null;
    const [inserted, rows] = await db.batch([
      stmt(
        db,
        sql`INSERT INTO api_keys (id, team_id, name, key_hash, prefix, created_at, expires_at, allowed_models,
          rpm_limit, tpm_limit)
        SELECT ${keyId}, id, ${body.name ?? null}, ${await hashKey(secret)}, ${keyPrefix(secret)}, ${now},
          ${expiresAt}, ${allowed}, ${body.rpm_limit ?? null}, ${body.tpm_limit ?? null}
        FROM teams WHERE id = ${team_id}`,
      ),
      db.select().from(apiKeys).where(eq(apiKeys.id, keyId)),
    ]);
    if (inserted.meta.changes !== 1 || !rows[0]) throw notFound('team', team_id);
    c.header('cache-control', 'no-store');
    return c.json({ ...keyView(rows[0], now), key: secret }, 201);
  },
);

adminKeys.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/keys',
    tags,
    summary: "The team's keys, newest first: prefix, name, status, dates and limits (never the secret)",
    security: adminAuth,
    request: { params: TeamIdParam },
    responses: { 200: json(KeyList, 'The keys'), ...errors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const db = c.var.db;
    const [teamRows, keys] = await db.batch([
      selectTeam(db, team_id),
      db.select().from(apiKeys).where(eq(apiKeys.teamId, team_id)).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id)),
    ]);
    if (!teamRows[0]) throw notFound('team', team_id);
    const now = Date.now();
    return c.json({ data: keys.map((k) => keyView(k, now)) }, 200);
  },
);

adminKeys.openapi(
  createRoute({
    method: 'delete',
    path: '/keys/{key_id}',
    tags,
    summary: 'Revoke a key; it is refused from the next request on',
    security: adminAuth,
    request: { params: KeyIdParam },
    responses: { 200: json(RevokeKeyResponse, 'Revoked'), ...errors },
  }),
  async (c) => {
    const { key_id } = c.req.valid('param');
    const now = Date.now();
    const [row] = await c.var.db
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now})` })
      .where(eq(apiKeys.id, key_id))
      .returning({ revokedAt: apiKeys.revokedAt });
    if (!row) throw notFound('key', key_id);
    return c.json({ key_id, revoked: true as const, revoked_at: iso(row.revokedAt)! }, 200);
  },
);

adminKeys.openapi(
  createRoute({
    method: 'post',
    path: '/keys/{key_id}/rotate',
    tags,
    summary:
      'Replace a key with a new secret carrying the same name, expiry, models and limits. The old secret ' +
      'keeps working for grace_period_seconds and then expires; 0 or absent revokes it now',
    security: adminAuth,
    request: {
      params: KeyIdParam,
      body: { required: false, content: { 'application/json': { schema: RotateKeyBody } } },
    },
    responses: {
      201: json(RotateKeyResponse, 'The new key and its secret'),
      ...errors,
      409: json(ErrorResponse, 'The key is already revoked or expired'),
    },
  }),
  async (c) => {
    const { key_id } = c.req.valid('param');
    const grace = c.req.valid('json').grace_period_seconds ?? 0;
    const db = c.var.db;
    const now = Date.now();
    const secret = generateKey();
    const newKeyId = newId('key');
    const oldUntil = now + grace * 1000;
    // One transaction: the new key is copied from the old one only while the old one is usable,
    // and the old one is retired only if the copy happened.
    const [, , oldRows, newRows] = await db.batch([
      stmt(
        db,
        sql`INSERT INTO api_keys (id, team_id, name, key_hash, prefix, created_at, expires_at, allowed_models,
          rpm_limit, tpm_limit)
        SELECT ${newKeyId}, team_id, name, ${await hashKey(secret)}, ${keyPrefix(secret)}, ${now}, expires_at,
          allowed_models, rpm_limit, tpm_limit
        FROM api_keys
        WHERE id = ${key_id} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})`,
      ),
      stmt(
        db,
        grace === 0
          ? sql`UPDATE api_keys SET revoked_at = ${now}
              WHERE id = ${key_id} AND EXISTS (SELECT 1 FROM api_keys WHERE id = ${newKeyId})`
          : sql`UPDATE api_keys SET expires_at = min(coalesce(expires_at, ${oldUntil}), ${oldUntil})
              WHERE id = ${key_id} AND EXISTS (SELECT 1 FROM api_keys WHERE id = ${newKeyId})`,
      ),
      db.select().from(apiKeys).where(eq(apiKeys.id, key_id)),
      db.select().from(apiKeys).where(eq(apiKeys.id, newKeyId)),
    ]);
    const old = oldRows[0];
    if (!old) throw notFound('key', key_id);
    const created = newRows[0];
    if (!created)
      throw conflict(
        `Key '${key_id}' is already ${old.revokedAt !== null ? 'revoked' : 'expired'}; issue a new key instead`,
        'key_not_active',
      );
    c.header('cache-control', 'no-store');
    return c.json(
      {
        ...keyView(created, now),
        key: secret,
        replaced: { key_id, expires_at: iso(old.expiresAt), revoked_at: iso(old.revokedAt) },
      },
      201,
    );
  },
);
