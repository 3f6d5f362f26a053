import { Hono } from 'hono';
import type { AppEnv } from '../http/context';
import { loadSite } from '../pages';

/**
 * The chat page (/) and the dashboard (/dashboard), with their stylesheet and scripts, served
 * by the Worker itself rather than by static assets: with an assets directory, every request,
 * the API's included, first passes the runtime's asset router, which cost each streamed call
 * about 0.6 ms before the upstream was asked (see the README's performance section). Pages are
 * revalidated by ETag. Any other path falls through to the 404 in the API's error shape.
 */
export const pages = new Hono<AppEnv>();

pages.get('*', async (c, next) => {
  const file = (await loadSite())[c.req.path];
  if (!file) return next();
  const headers = { etag: file.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers);
  return c.body(file.body, 200, { ...headers, 'content-type': file.type });
});
