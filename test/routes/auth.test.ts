/**
 * Whether a route is protected does not depend on its neighbours: every route the API documents
 * refuses a request without a key (or with a wrong one), except the public ones named here.
 */
import { describe, expect, it } from 'vitest';
import { snapshot } from '../support/admin';
import { api, get } from '../support/api';

/** The routes anyone may call; everything else the API documents needs a key. */
const PUBLIC = new Set(['get /health']);
/** Served outside the OpenAPI document, and public too: the document itself and the pages. */
const PUBLIC_UNDOCUMENTED = ['/openapi.json', '/docs', '/', '/dashboard', '/styles.css'];

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

async function documentedRoutes() {
  const doc = (await (await get('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  const routes: { method: string; path: string }[] = [];
  for (const [path, item] of Object.entries(doc.paths))
    for (const method of Object.keys(item)) if (METHODS.includes(method)) routes.push({ method, path });
  return routes;
}

/** A concrete path for a documented one: each `{param}` filled in. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'x1');

describe('who may call', () => {
  it('every documented route refuses a request with no key, but the public ones', async () => {
    const routes = await documentedRoutes();
    expect(routes.length).toBeGreaterThan(30);
    for (const { method, path } of routes) {
      const res = await api(method.toUpperCase(), concrete(path), { body: method === 'get' ? undefined : {} });
      const label = `${method} ${path}`;
      if (PUBLIC.has(label)) {
        expect(res.status, label).toBe(200);
        continue;
      }
      expect(res.status, label).toBe(401);
      const body = (await res.json()) as { type?: string; error: { type: string; code?: string } };
      expect(body.error.type, label).toBe('authentication_error');
      // Anthropic's surface answers in Anthropic's error shape, which has no code.
      if (path.startsWith('/v1/messages')) expect(body.type, label).toBe('error');
      else expect(body.error.code, label).toBe(path.startsWith('/admin/') ? 'invalid_admin_key' : 'missing_api_key');
    }
  });

  it('and a wrong key, of either kind: 401 where the key is looked at, nothing written anywhere', async () => {
    const before = await snapshot();
    for (const { method, path } of await documentedRoutes()) {
      const label = `${method} ${path}`;
      if (PUBLIC.has(label)) continue;
      const headers = path.startsWith('/admin/')
        ? { 'x-admin-key': 'not-the-admin-key', authorization: 'Bearer not-the-admin-key' }
        : { authorization: 'Bearer sk-sluice-not-a-key', 'x-admin-key': 'test-admin-key' };
      const res = await api(method.toUpperCase(), concrete(path), {
        body: method === 'get' ? undefined : {},
        headers,
      });
      // A team route reads its body before its key (the key is checked in the route's own D1
      // batch), so an empty body is a 400 first; a GET has none to read.
      if (method === 'get' || path.startsWith('/admin/')) expect(res.status, label).toBe(401);
      else expect([400, 401], label).toContain(res.status);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('the public routes outside the document answer without a key', async () => {
    for (const path of PUBLIC_UNDOCUMENTED) expect((await get(path)).status, path).toBe(200);
  });
});
