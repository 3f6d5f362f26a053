import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { ConfigError, configOf } from './config';
import { adminKey, virtualKey } from './auth/middleware';
import { anthropicErrorBody } from './dialects/anthropic/errors';
import { ApiError, type ErrorType, payloadTooLarge } from './errors';
import { isAnthropicPath } from './routes/v1';
import type { AppEnv } from './http/context';
import { admin } from './routes/admin';
import { api } from './routes/api';
import { registerDocs } from './routes/docs';
import { health } from './routes/health';
import { pages } from './routes/pages';
import { v1 } from './routes/v1';

export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS_TYPES: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

/**
 * An error as the request's surface answers it: each dialect in its own shape, so its clients
 * raise their own classes (OpenAI's `{error:{message,type,code,param}}` everywhere else).
 */
function renderError(c: Context<AppEnv>, err: ApiError) {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  if (isAnthropicPath(c.req.path)) {
    c.header('request-id', c.get('requestId'));
    return c.json(anthropicErrorBody(err, c.get('requestId')), err.status);
  }
  return c.json(err.toJSON(), err.status);
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();

  app.use('*', requestId({ headerName: 'x-request-id' }));
  app.use('*', async (c, next) => {
    c.set('config', configOf(c.env));
    await next();
  });
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw payloadTooLarge(MAX_BODY_BYTES);
    },
  });
  // Who may call is decided where each surface mounts, so no route under these prefixes can
  // forget it: a virtual key for the team surfaces, the operator's key for /admin. The public
  // routes (health, the API docs, the pages) live outside them (test/routes/auth.test.ts).
  app.use('/api/*', limitBody, virtualKey);
  app.use('/v1/*', limitBody, virtualKey);
  app.use('/admin/*', adminKey);

  app.route('/', health);
  app.route('/api', api);
  app.route('/v1', v1);
  app.route('/admin', admin);
  registerDocs(app); // /openapi.json and /docs, built on first request from every mounted route
  app.route('/', pages);

  app.notFound((c) =>
    renderError(c, new ApiError(404, 'not_found_error', 'route_not_found', `No route ${c.req.method} ${c.req.path}`)),
  );

  app.onError((err, c) => {
    let apiErr: ApiError;
    if (err instanceof ApiError) apiErr = err;
    else if (err instanceof ConfigError) {
      // The operator's mistake, named so they can fix it; no secret's value is in the message.
      console.error(
        JSON.stringify({ msg: 'invalid configuration', request_id: c.get('requestId'), error: err.message }),
      );
      apiErr = new ApiError(500, 'api_error', 'invalid_configuration', err.message);
    } else if (err instanceof HTTPException && err.status < 500) {
      // Hono's own 4xx (e.g. malformed JSON from the validator) in our shape.
      apiErr = new ApiError(
        err.status,
        STATUS_TYPES[err.status] ?? 'invalid_request_error',
        'invalid_request',
        err.message,
      );
    } else {
      console.error(JSON.stringify({ msg: 'unhandled error', request_id: c.get('requestId'), error: String(err) }));
      apiErr = new ApiError(500, 'api_error', 'internal_error', 'Internal server error');
    }
    return renderError(c, apiErr);
  });

  return app;
}
