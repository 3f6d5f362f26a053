import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { post, setupTeam, uniqueId, user } from '../support/api';
import { admin, adminJson, expectAdminOnly, expectError, snapshot } from '../support/admin';

const newAlias = () => uniqueId('m');

async function addModel(body: Record<string, unknown> = {}) {
  const alias = newAlias();
  const res = await adminJson('POST', '/admin/models', {
    alias,
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    ...body,
  });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return alias;
}

describe('model catalog', () => {
  it('lists the seeded catalog', async () => {
    const res = await adminJson('GET', '/admin/models');
    expect(res.status).toBe(200);
    const aliases = res.body.data.map((m: any) => m.alias);
    expect(aliases).toEqual(expect.arrayContaining(['mock', 'gpt-4o-mini', 'gpt-4o']));
    expect(aliases).toEqual([...aliases].sort());
    expect(res.body.data.find((m: any) => m.alias === 'gpt-4o')).toMatchObject({
      provider: 'openai',
      upstream_model: 'gpt-4o',
      input_price_per_mtok: 2.5,
      output_price_per_mtok: 10,
      cached_input_price_per_mtok: 1.25,
      cache_write_price_per_mtok: null,
      fallbacks: [],
      enabled: true,
      base_url: null,
    });
    expect(res.body.data.find((m: any) => m.alias === 'claude-sonnet-4')).toMatchObject({
      input_price_per_mtok: 3,
      cached_input_price_per_mtok: 0.3,
      cache_write_price_per_mtok: 3.75,
    });
    expect(res.body.data.find((m: any) => m.alias === 'mock')).toMatchObject({
      cached_input_price_per_mtok: null,
      cache_write_price_per_mtok: null,
    });
  });

  it('cache prices: null unless given, stored as given, and PATCHed back to null', async () => {
    const plain = await adminJson('GET', `/admin/models/${await addModel({ input_price_per_mtok: 3 })}`);
    expect(plain.body).toMatchObject({ cached_input_price_per_mtok: null, cache_write_price_per_mtok: null });

    const alias = await addModel({
      input_price_per_mtok: 3,
      cached_input_price_per_mtok: 0.3,
      cache_write_price_per_mtok: 3.75,
    });
    const row = () =>
      env.DB.prepare(
        'SELECT cached_input_price_per_mtok AS c, cache_write_price_per_mtok AS w FROM models WHERE alias = ?',
      )
        .bind(alias)
        .first();
    expect((await adminJson('GET', `/admin/models/${alias}`)).body).toMatchObject({
      cached_input_price_per_mtok: 0.3,
      cache_write_price_per_mtok: 3.75,
    });
    expect(await row()).toEqual({ c: 0.3, w: 3.75 });

    // Absent keeps the value; null clears it (the input price applies again); 0 is a price.
    const patched = await adminJson('PATCH', `/admin/models/${alias}`, { cached_input_price_per_mtok: 0 });
    expect(patched.body).toMatchObject({ cached_input_price_per_mtok: 0, cache_write_price_per_mtok: 3.75 });
    await adminJson('PATCH', `/admin/models/${alias}`, { cache_write_price_per_mtok: null });
    expect(await row()).toEqual({ c: 0, w: null });
  });

  it('add an alias with a base URL, prices and fallbacks; it serves calls at once', async () => {
    const alias = newAlias();
    const res = await adminJson('POST', '/admin/models', {
      alias,
      provider: 'openai',
      upstream_model: 'answer',
      base_url: `${env.UPSTREAM_URL}/v1`,
      input_price_per_mtok: 1,
      output_price_per_mtok: 2,
      fallbacks: ['mock'],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      alias,
      provider: 'openai',
      upstream_model: 'answer',
      base_url: `${env.UPSTREAM_URL}/v1`,
      fallbacks: ['mock'],
      enabled: true,
      updated_at: null,
    });
    expect((await adminJson('GET', `/admin/models/${alias}`)).body).toEqual(res.body);
    await expectError(await admin('GET', '/admin/models/nope'), 404, 'model_not_found');
    await expectError(await admin('POST', '/admin/models', { ...res.body, alias }), 409, 'model_exists');
  });

  it('PATCH changes what it names; disabling makes the alias unknown to callers', async () => {
    const fallback = await addModel();
    const alias = await addModel({ base_url: 'https://example.com/v1' });
    const res = await adminJson('PATCH', `/admin/models/${alias}`, {
      provider: 'anthropic',
      upstream_model: 'claude-x',
      base_url: null,
      input_price_per_mtok: 3,
      output_price_per_mtok: 15,
      fallbacks: [fallback],
      enabled: false,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      alias,
      provider: 'anthropic',
      upstream_model: 'claude-x',
      base_url: null,
      input_price_per_mtok: 3,
      output_price_per_mtok: 15,
      fallbacks: [fallback],
      enabled: false,
    });
    expect(res.body.updated_at).not.toBeNull();
    const partial = await adminJson('PATCH', `/admin/models/${alias}`, { enabled: true });
    expect(partial.body).toMatchObject({ enabled: true, provider: 'anthropic', fallbacks: [fallback] });
    await expectError(await admin('PATCH', '/admin/models/nope', { enabled: true }), 404, 'model_not_found');
  });

  it('a new alias serves calls at once through its base URL; disabled, it is unknown to callers', async () => {
    const alias = await addModel({ upstream_model: 'answer', base_url: `${env.UPSTREAM_URL}/v1` });
    const { teamId, key } = await setupTeam(5);
    const call = (model: string) =>
      post('/api/jobs/create-and-call', { team_id: teamId, job_type: 'x', model, messages: user('hi') }, key);
    const res = await call(alias);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).response.content).toBe('Héllo wörld 🚀');
    await adminJson('PATCH', `/admin/models/${alias}`, { enabled: false });
    await expectError(await call(alias), 404, 'model_not_found');
  });

  it('DELETE: 409 while another alias falls back to it, 409 for DEFAULT_MODEL, then gone', async () => {
    const target = await addModel();
    const user1 = await addModel({ fallbacks: [target] });
    const before = await snapshot();
    const e = await expectError(await admin('DELETE', `/admin/models/${target}`), 409, 'model_in_use');
    expect(e.message).toContain(user1);
    await expectError(await admin('DELETE', '/admin/models/mock'), 409, 'model_is_default');
    expect(await snapshot()).toEqual(before);

    await adminJson('PATCH', `/admin/models/${user1}`, { fallbacks: null });
    expect(await adminJson('DELETE', `/admin/models/${target}`)).toEqual({
      status: 200,
      body: { alias: target, deleted: true },
    });
    await expectError(await admin('GET', `/admin/models/${target}`), 404, 'model_not_found');
    await expectError(await admin('DELETE', `/admin/models/${target}`), 404, 'model_not_found');
  });

  it('need the admin key', async () => {
    await expectAdminOnly('GET', '/admin/models');
    await expectAdminOnly('GET', '/admin/models/mock');
    await expectAdminOnly('POST', '/admin/models', { alias: newAlias(), provider: 'mock', upstream_model: 'x' });
    await expectAdminOnly('PATCH', '/admin/models/gpt-4o', { enabled: false });
    await expectAdminOnly('DELETE', '/admin/models/gpt-4o');
    expect((await adminJson('GET', '/admin/models/gpt-4o')).body.enabled).toBe(true);
  });

  it.each([
    ['alias with a slash', { alias: 'a/b' }, 'alias'],
    ['unknown provider', { provider: 'cohere' }, 'provider'],
    ['empty upstream_model', { upstream_model: '' }, 'upstream_model'],
    ['base_url not a URL', { base_url: 'not a url' }, 'base_url'],
    ['base_url with another scheme', { base_url: 'ftp://example.com/v1' }, 'base_url'],
    ['base_url javascript:', { base_url: 'javascript:alert(1)' }, 'base_url'],
    ['negative price', { input_price_per_mtok: -1 }, 'input_price_per_mtok'],
    ['price not a number', { output_price_per_mtok: 'free' }, 'output_price_per_mtok'],
    ['negative cached-input price', { cached_input_price_per_mtok: -0.1 }, 'cached_input_price_per_mtok'],
    ['cache-write price not a number', { cache_write_price_per_mtok: 'dear' }, 'cache_write_price_per_mtok'],
    ['fallbacks not a list', { fallbacks: 'mock' }, 'fallbacks'],
    ['a repeated fallback', { fallbacks: ['mock', 'mock'] }, 'fallbacks'],
    ['an unknown fallback', { fallbacks: ['mock', 'no-such-alias'] }, 'fallbacks.1'],
    ['enabled not a boolean', { enabled: 'yes' }, 'enabled'],
  ])('POST and PATCH refuse %s with a 400 naming it, nothing written', async (_name, bad, param) => {
    const existing = await addModel();
    const before = await snapshot();
    const created = await admin('POST', '/admin/models', {
      alias: newAlias(),
      provider: 'openai',
      upstream_model: 'x',
      ...bad,
    });
    expect(created.status).toBe(400);
    expect(((await created.json()) as any).error.param).toBe(param);
    if (!('alias' in bad)) {
      const patched = await admin('PATCH', `/admin/models/${existing}`, bad);
      expect(patched.status).toBe(400);
      expect(((await patched.json()) as any).error.param).toBe(param);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('an alias cannot fall back to itself', async () => {
    const alias = await addModel();
    const before = await snapshot();
    await expectError(
      await admin('POST', '/admin/models', {
        alias: 'selfish',
        provider: 'mock',
        upstream_model: 'x',
        fallbacks: ['selfish'],
      }),
      400,
      'fallback_self',
      'fallbacks.0',
    );
    await expectError(
      await admin('PATCH', `/admin/models/${alias}`, { fallbacks: ['mock', alias] }),
      400,
      'fallback_self',
      'fallbacks.1',
    );
    expect(await snapshot()).toEqual(before);
  });
});
