import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../http/context';
import { unauthorized } from '../errors';
import { hashKey, secretsEqual } from '../lib/crypto';
import { Caller } from './caller';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's credential, on the team surfaces (`/api/*`, `/v1/*`). */
    caller: Caller;
    /**
     * A stream token instead of a key, on the one route that takes it (reading a call's stream):
     * the call's object checks it. There, and only there, `caller` may be unset.
     */
    streamToken?: string;
  }
}

/**
 * The routes a stream token may open instead of a key: reading one call's stream, over SSE or a
 * WebSocket (where it can only resume that call). A browser's EventSource and WebSocket cannot
 * send headers, so they carry the token the call's start named, in the URL.
 */
const TOKEN_ROUTE = /^\/api\/(calls\/[^/]+\/stream|ws)$/;

/**
 * The team surfaces (`/api/*`, `/v1/*`): every request carries a virtual key, as
 * `Authorization: Bearer sk-...` or `x-api-key: sk-...`. Only its hash is kept; the key is checked in the route's own
 * D1 batch (`Caller`), so a route under these prefixes cannot forget to authenticate.
 */
export const virtualKey = createMiddleware<AppEnv>(async (c, next) => {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
  // Anthropic's clients send their key as `x-api-key`.
  const key = bearer ?? c.req.header('x-api-key')?.trim();
  if (!key) {
    const token = c.req.method === 'GET' && TOKEN_ROUTE.test(c.req.path) ? c.req.query('token') : undefined;
    if (!token) throw unauthorized('Missing API key: send Authorization: Bearer <key> or x-api-key', 'missing_api_key');
    c.set('streamToken', token);
    return next();
  }
  c.set('caller', new Caller(await hashKey(key)));
  await next();
});

/** The operator surface (`/admin/*`): `X-Admin-Key` must equal `ADMIN_API_KEY` (constant time). No key configured: no access. */
export const adminKey = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.var.config.adminApiKey;
  const given = c.req.header('x-admin-key');
  if (!expected || !given || !(await secretsEqual(given, expected)))
    throw unauthorized('Missing or invalid X-Admin-Key', 'invalid_admin_key');
  await next();
});
