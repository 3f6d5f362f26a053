import { Validator } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/index';
import { api, get, uniqueId } from '../support/api';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document and docs page', () => {
  it('/openapi.json is an OpenAPI 3.1 document with its security schemes', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Sluice');
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      adminKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Admin-Key' }),
      streamToken: expect.objectContaining({ type: 'apiKey', in: 'query', name: 'token' }),
    });
    expect(doc.paths['/api/calls/{call_id}/stream'].get.security).toEqual([{ bearerAuth: [] }, { streamToken: [] }]);
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

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
};

/**
 * Each JSON route the document describes, called for real, and its answer checked against the
 * schema the document gives for that status: what a client generated from /openapi.json would
 * expect is what it gets.
 */
describe('documented response schemas match live answers', () => {
  it('for every JSON route', async () => {
    const doc = (await (await get('/openapi.json')).json()) as Doc;
    const checked = new Set<string>();
    const check = async (method: string, path: string, res: Response) => {
      const status = String(res.status);
      const documented = doc.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema;
      expect(documented, `${method} ${path} ${status} is documented`).toBeDefined();
      const body = await res.json();
      const result = new Validator({ ...documented, components: doc.components } as never, '2020-12').validate(body);
      expect(result.errors, `${method} ${path} ${status}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
      checked.add(`${method} ${path}`);
    };
    const call = async (method: string, path: string, concrete: string, key?: string, body?: unknown) =>
      check(
        method,
        path,
        await api(method.toUpperCase(), concrete, {
          key,
          admin: path.startsWith('/admin'),
          body: body ?? (method === 'get' || method === 'delete' ? undefined : {}),
        }),
      );

    // The operator's side.
    const org = uniqueId('org');
    await call('post', '/admin/organizations', '/admin/organizations', undefined, { organization_id: org });
    await call('get', '/admin/organizations', '/admin/organizations');
    await call('get', '/admin/organizations/{organization_id}', `/admin/organizations/${org}`);
    await call('patch', '/admin/organizations/{organization_id}', `/admin/organizations/${org}`, undefined, {
      name: 'O',
    });
    const team = uniqueId('team');
    await call('post', '/admin/teams', '/admin/teams', undefined, { team_id: team, credits: 50, organization_id: org });
    await call('get', '/admin/teams', '/admin/teams');
    await call('get', '/admin/teams/{team_id}', `/admin/teams/${team}`);
    await call('patch', '/admin/teams/{team_id}', `/admin/teams/${team}`, undefined, { rpm_limit: 100 });
    await call('post', '/admin/teams/{team_id}/suspend', `/admin/teams/${team}/suspend`);
    await call('post', '/admin/teams/{team_id}/resume', `/admin/teams/${team}/resume`);
    await call('post', '/admin/teams/{team_id}/credits', `/admin/teams/${team}/credits`, undefined, { credits: 5 });
    await call('get', '/admin/teams/{team_id}/transactions', `/admin/teams/${team}/transactions`);
    await call('get', '/admin/alerts/low-credits', '/admin/alerts/low-credits');
    const keyRes = await api('POST', `/admin/teams/${team}/keys`, { admin: true, body: { name: 'k' } });
    const issued = (await keyRes.clone().json()) as { key: string; key_id: string };
    await check('post', '/admin/teams/{team_id}/keys', keyRes);
    await call('get', '/admin/teams/{team_id}/keys', `/admin/teams/${team}/keys`);
    const alias = uniqueId('m');
    await call('get', '/admin/models', '/admin/models');
    await call('post', '/admin/models', '/admin/models', undefined, {
      alias,
      provider: 'mock',
      upstream_model: 'mock-1',
    });
    await call('get', '/admin/models/{alias}', `/admin/models/${alias}`);
    await call('patch', '/admin/models/{alias}', `/admin/models/${alias}`, undefined, { output_price_per_mtok: 1 });

    // The team's side, with the key just issued.
    const key = issued.key;
    const messages = [{ role: 'user', content: 'hi' }];
    await call('get', '/health', '/health');
    await call('get', '/v1/models', '/v1/models', key);
    await call('post', '/v1/chat/completions', '/v1/chat/completions', key, { model: 'mock', messages });
    await call('post', '/v1/messages', '/v1/messages', key, { model: 'mock', max_tokens: 50, messages });
    await call('post', '/v1/messages/count_tokens', '/v1/messages/count_tokens', key, { model: 'mock', messages });
    await call('post', '/v1/responses', '/v1/responses', key, { model: 'mock', input: 'hi' });
    const background = await api('POST', '/v1/responses', {
      key,
      body: { model: 'mock', input: 'hi', background: true },
    });
    const responseId = ((await background.json()) as { id: string }).id;
    await call('get', '/v1/responses/{response_id}', `/v1/responses/${responseId}`, key);
    await call('post', '/v1/responses/{response_id}/cancel', `/v1/responses/${responseId}/cancel`, key);
    const createRes = await api('POST', '/api/jobs/create', { key, body: { team_id: team, job_type: 't' } });
    const jobId = ((await createRes.clone().json()) as { job_id: string }).job_id;
    await check('post', '/api/jobs/create', createRes);
    const callRes = await api('POST', `/api/jobs/${jobId}/llm-call`, { key, body: { model: alias, messages } });
    const callId = ((await callRes.clone().json()) as { call_id: string }).call_id;
    await check('post', '/api/jobs/{job_id}/llm-call', callRes);
    await call('patch', '/api/jobs/{job_id}/metadata', `/api/jobs/${jobId}/metadata`, key, { metadata: { a: 1 } });
    await call('get', '/api/jobs/{job_id}', `/api/jobs/${jobId}`, key);
    await call('get', '/api/jobs/{job_id}/calls/{call_id}', `/api/jobs/${jobId}/calls/${callId}`, key);
    await call('get', '/api/jobs/{job_id}/costs', `/api/jobs/${jobId}/costs`, key);
    await call('post', '/api/jobs/{job_id}/complete', `/api/jobs/${jobId}/complete`, key, { status: 'completed' });
    await call('post', '/api/jobs/create-and-call', '/api/jobs/create-and-call', key, {
      team_id: team,
      job_type: 't',
      model: 'mock',
      messages,
    });
    const streamed = await api('POST', '/v1/chat/completions', {
      key,
      body: { model: 'mock', messages, stream: true, resumable: true },
    });
    const streamedId = streamed.headers.get('x-call-id')!;
    await call('post', '/api/calls/{call_id}/cancel', `/api/calls/${streamedId}/cancel`, key);
    await streamed.text();
    await call('get', '/api/teams/{team_id}/credits', `/api/teams/${team}/credits`, key);
    await call('get', '/api/teams/{team_id}/usage', `/api/teams/${team}/usage`, key);
    await call('get', '/api/teams/{team_id}/jobs', `/api/teams/${team}/jobs`, key);
    await call('get', '/api/teams/{team_id}/reports', `/api/teams/${team}/reports`, key);
    await call('post', '/admin/reconciliation', `/admin/reconciliation?team_id=${team}`);
    await call('get', '/admin/reconciliation', '/admin/reconciliation');

    // Last, what takes things away.
    await call('post', '/admin/keys/{key_id}/rotate', `/admin/keys/${issued.key_id}/rotate`, undefined, {});
    await call('delete', '/admin/keys/{key_id}', `/admin/keys/${issued.key_id}`);
    await call('delete', '/admin/models/{alias}', `/admin/models/${alias}`);
    const empty = uniqueId('team');
    await api('POST', '/admin/teams', { admin: true, body: { team_id: empty } });
    await call('delete', '/admin/teams/{team_id}', `/admin/teams/${empty}`);
    const lone = uniqueId('org');
    await api('POST', '/admin/organizations', { admin: true, body: { organization_id: lone } });
    await call('delete', '/admin/organizations/{organization_id}', `/admin/organizations/${lone}`);

    // Every route whose success is JSON was called.
    const json = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) =>
          Object.entries(op.responses).some(([s, r]) => s.startsWith('2') && r.content?.['application/json']),
        )
        .map(([method]) => `${method} ${path}`),
    );
    expect(json.filter((r) => !checked.has(r))).toEqual([]);
  });
});
