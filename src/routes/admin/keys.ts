/** The operator's keys: issue, list, revoke, rotate. A secret is shown once, in the response that made it. */
import { createRoute } from '@hono/zod-openapi';
import { type KeyWithState, issueKey, revokeKey, rotateKey, teamKeys } from '../../accounts/keys';
import { checkReferences } from '../../accounts/references';
import { badRequest } from '../../errors';
import { stores } from '../../http/context';
import { adminAuth, adminErrors, errors, json, jsonBody } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { iso } from '../../lib/time';
import {
  CreateKeyBody,
  CreateKeyResponse,
  KeyIdParam,
  KeyList,
  RevokeKeyResponse,
  RotateKeyBody,
  RotateKeyResponse,
} from '../../schemas/admin';
import { TeamIdParam } from '../../schemas/jobs';

export const adminKeys = createRouter();

const tags = ['Admin: keys'];
const keyErrors = { ...adminErrors, ...errors({ 404: 'Unknown team or key' }) };

/** What may be shown about a key after it was issued: never the secret, never its hash. */
function keyView({ key: k, state }: KeyWithState) {
  return {
    key_id: k.id,
    team_id: k.teamId,
    name: k.name,
    prefix: k.prefix,
    status: state,
    created_at: iso(k.createdAt),
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
    responses: { 201: json(CreateKeyResponse, 'The new key and its secret'), ...keyErrors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const now = Date.now();
    const expiresAt = body.expires_at === undefined ? null : Date.parse(body.expires_at);
    if (expiresAt !== null && expiresAt <= now) throw badRequest('expires_at must be in the future', 'expires_at');
    await checkReferences(c.env.DB, { allowed_models: body.allowed_models });
    const issued = await issueKey(
      stores(c),
      team_id,
      {
        name: body.name ?? null,
        expiresAt,
        allowedModels: body.allowed_models ?? null,
        rpmLimit: body.rpm_limit ?? null,
        tpmLimit: body.tpm_limit ?? null,
      },
      now,
    );
    c.header('cache-control', 'no-store');
    return c.json({ ...keyView(issued), key: issued.secret }, 201);
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
    responses: { 200: json(KeyList, 'The keys'), ...keyErrors },
  }),
  async (c) => {
    const keys = await teamKeys(c.env.DB, c.req.valid('param').team_id, Date.now());
    return c.json({ data: keys.map(keyView) }, 200);
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
    responses: { 200: json(RevokeKeyResponse, 'Revoked'), ...keyErrors },
  }),
  async (c) => {
    const { key_id } = c.req.valid('param');
    const revokedAt = await revokeKey(stores(c), key_id, Date.now());
    return c.json({ key_id, revoked: true as const, revoked_at: iso(revokedAt) }, 200);
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
      ...keyErrors,
      ...errors({ 409: 'The key is already revoked or expired' }),
    },
  }),
  async (c) => {
    const { key_id } = c.req.valid('param');
    const grace = c.req.valid('json').grace_period_seconds ?? 0;
    const { created, replaced, secret } = await rotateKey(stores(c), key_id, grace, Date.now());
    c.header('cache-control', 'no-store');
    return c.json(
      {
        ...keyView(created),
        key: secret,
        replaced: { key_id, expires_at: iso(replaced.expiresAt), revoked_at: iso(replaced.revokedAt) },
      },
      201,
    );
  },
);
