import { describe, expect, it } from 'vitest';
import { app } from '../../src/index';
import { get } from '../support/api';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document and docs page', () => {
  it('/openapi.json is an OpenAPI 3.1 document with both security schemes', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Sluice');
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      adminKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Admin-Key' }),
    });
    expect(doc.paths['/admin/teams/{team_id}'].patch.security).toEqual([{ adminKey: [] }]);
    expect(doc.paths['/api/teams/{team_id}/usage'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(doc.paths['/api/teams/{team_id}/reports'].get.responses[200].content)).toEqual([
      'application/json',
      'text/csv',
    ]);
  });

  it('documents every route the app serves, with its method', async () => {
    const doc = (await (await get('/openapi.json')).json()) as any;
    const served = new Set<string>();
    for (const r of app.routes) {
      const method = r.method.toLowerCase();
      if (!METHODS.includes(method) || r.path.includes('*')) continue; // middleware entries
      if (r.path === '/openapi.json' || r.path === '/docs') continue;
      served.add(`${method} ${r.path.replace(/:([^/]+)/g, '{$1}')}`);
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>))
      for (const method of Object.keys(item)) if (METHODS.includes(method)) documented.add(`${method} ${path}`);
    expect(served.size).toBeGreaterThan(30);
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    // and nothing documented that is not served
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    for (const route of [
      'post /admin/organizations',
      'get /admin/teams',
      'delete /admin/teams/{team_id}',
      'get /admin/teams/{team_id}/transactions',
      'post /admin/keys/{key_id}/rotate',
      'patch /admin/models/{alias}',
      'get /admin/alerts/low-credits',
      'get /api/teams/{team_id}/jobs',
      'get /api/jobs/{job_id}/costs',
      'patch /api/jobs/{job_id}/metadata',
    ])
      expect(documented).toContain(route);
  });

  it('every operation has a summary, a tag and its path parameters', async () => {
    const doc = (await (await get('/openapi.json')).json()) as any;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        expect(op.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
        const inPath = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
        expect(inPath.sort(), `${method} ${path}`).toEqual([...names].sort());
      }
    }
  });

  it('/docs renders the document as a self-contained page', async () => {
    const res = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)[a-z]/i);
    const doc = (await (await get('/openapi.json')).json()) as any;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>))
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        expect(html).toContain(`<span class="m ${method}">${method.toUpperCase()}</span> <code>${path}</code>`);
        expect(html).toContain(
          op.summary
            .replaceAll('&', '&#38;')
            .replaceAll("'", '&#39;')
            .replaceAll('"', '&#34;')
            .replaceAll('<', '&#60;')
            .replaceAll('>', '&#62;'),
        );
      }
    expect(html).toContain('id="schema-Team"');
    expect(html).toContain('<a href="#schema-CreateTeamRequest">CreateTeamRequest</a>');
  });
});
