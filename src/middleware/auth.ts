import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../http/context';
import { unauthorized } from '../errors';
import { hashKey, secretsEqual } from '../lib/crypto';

/**
 * Reads the virtual key from `Authorization: Bearer sk-...` and keeps only its hash. The
 * lookup itself joins the route's first D1 batch, so authenticating costs no extra round trip.
 */
export const virtualKey = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized('Missing API key: send Authorization: Bearer <key>', 'missing_api_key');
  c.set('keyHash', await hashKey(match[1]));
  await next();
});

/** Operator routes: `X-Admin-Key` must equal `ADMIN_API_KEY` (constant time). No key configured: no access. */
export const adminKey = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.var.config.adminApiKey;
  const given = c.req.header('x-admin-key');
  if (!expected || !given || !(await secretsEqual(given, expected)))
    throw unauthorized('Missing or invalid X-Admin-Key', 'invalid_admin_key');
  await next();
});
