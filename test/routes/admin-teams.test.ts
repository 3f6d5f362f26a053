import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { books, get, post as apiPost, setupTeam, uniqueId } from '../support/api';
import {
  admin,
  adminJson,
  completeJob,
  createJob,
  expectAdminOnly,
  expectError,
  ledgerRows,
  setupOrganization,
  snapshot,
} from '../support/admin';

describe('organizations', () => {
  it('create, get, rename, list, delete when empty', async () => {
    const id = uniqueId('org');
    const created = await adminJson('POST', '/admin/organizations', { organization_id: id, name: 'Initech' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ organization_id: id, name: 'Initech', teams: 0 });
    expect((await admin('POST', '/admin/organizations', { organization_id: id })).status).toBe(409);

    await setupTeam(0, { organization_id: id });
    const got = await adminJson('GET', `/admin/organizations/${id}`);
    expect(got.body).toMatchObject({ organization_id: id, teams: 1 });

    const renamed = await adminJson('PATCH', `/admin/organizations/${id}`, { name: 'Initech Inc' });
    expect(renamed.body).toMatchObject({ organization_id: id, name: 'Initech Inc', teams: 1 });

    await expectError(await admin('DELETE', `/admin/organizations/${id}`), 409, 'organization_not_empty');
    const empty = await setupOrganization();
    expect((await adminJson('DELETE', `/admin/organizations/${empty}`)).body).toEqual({
      organization_id: empty,
      deleted: true,
    });
    await expectError(await admin('GET', `/admin/organizations/${empty}`), 404, 'organization_not_found');
  });

  it('list pages through every organization exactly once', async () => {
    const ids = [await setupOrganization(), await setupOrganization(), await setupOrganization()];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await adminJson('GET', `/admin/organizations?limit=2${q}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((o: any) => o.organization_id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect(seen).toContain(id);
  });

  it('need the admin key', async () => {
    await expectAdminOnly('POST', '/admin/organizations', { organization_id: uniqueId('org') });
    await expectAdminOnly('GET', '/admin/organizations');
    await expectAdminOnly('GET', '/admin/organizations/x');
    await expectAdminOnly('PATCH', '/admin/organizations/x', { name: 'y' });
    await expectAdminOnly('DELETE', '/admin/organizations/x');
  });

  it('bad input is a 400 naming the field, and writes nothing', async () => {
    const before = await snapshot();
    await expectError(
      await admin('POST', '/admin/organizations', { organization_id: 'has space' }),
      400,
      'invalid_request',
      'organization_id',
    );
    await expectError(
      await admin('POST', '/admin/organizations', { organization_id: 'ok', name: '' }),
      400,
      'invalid_request',
      'name',
    );
    await expectError(await admin('GET', '/admin/organizations?limit=0'), 400, 'invalid_request', 'limit');
    await expectError(await admin('GET', '/admin/organizations?cursor=zzz'), 400, 'invalid_cursor', 'cursor');
    expect(await snapshot()).toEqual(before);
  });
});

describe('teams', () => {
  it('create with every setting, then get it back', async () => {
    const org = await setupOrganization();
    const teamId = uniqueId('team');
    const settings = {
      name: 'Globex',
      organization_id: org,
      budget_mode: 'consumption_tokens',
      credits_per_job: 2,
      credits_per_dollar: 250,
      tokens_per_credit: 500,
      rpm_limit: 60,
      tpm_limit: 100_000,
      max_concurrent_streams: 4,
      allowed_models: ['mock', 'gpt-4o-mini'],
      low_credit_threshold: 25,
    };
    const res = await adminJson('POST', '/admin/teams', { team_id: teamId, credits: 40, ...settings });
    expect(res.status).toBe(201);
    const expected = {
      team_id: teamId,
      ...settings,
      status: 'active',
      credits_balance: 40,
      credits_held: 0,
      credits_remaining: 40,
      updated_at: null,
    };
    expect(res.body).toMatchObject(expected);
    expect((await adminJson('GET', `/admin/teams/${teamId}`)).body).toMatchObject(expected);
    expect(await ledgerRows(teamId)).toEqual([{ kind: 'grant', amount: 40, reason: 'initial credits', job_id: null }]);
    await expectError(await admin('GET', '/admin/teams/no-such-team'), 404, 'team_not_found');
  });

  it('PATCH changes only what it names; null clears a limit', async () => {
    const { teamId } = await setupTeam(5, { rpm_limit: 10, tpm_limit: 20, name: 'Before' });
    const org = await setupOrganization();
    const res = await adminJson('PATCH', `/admin/teams/${teamId}`, {
      name: 'After',
      organization_id: org,
      budget_mode: 'consumption_usd',
      credits_per_dollar: 1000,
      rpm_limit: null,
      max_concurrent_streams: 2,
      allowed_models: ['mock'],
      low_credit_threshold: 3,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'After',
      organization_id: org,
      budget_mode: 'consumption_usd',
      credits_per_dollar: 1000,
      rpm_limit: null,
      tpm_limit: 20,
      max_concurrent_streams: 2,
      allowed_models: ['mock'],
      low_credit_threshold: 3,
      credits_remaining: 5,
    });
    expect(res.body.updated_at).toBeTruthy();
    const row = await env.DB.prepare('SELECT rpm_limit, tpm_limit, allowed_models FROM teams WHERE id = ?')
      .bind(teamId)
      .first();
    expect(row).toEqual({ rpm_limit: null, tpm_limit: 20, allowed_models: '["mock"]' });
    await expectError(await admin('PATCH', '/admin/teams/nope', { name: 'x' }), 404, 'team_not_found');
  });

  it('list filters by organization and status, and pages without repeats', async () => {
    const org = await setupOrganization();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await setupTeam(0, { organization_id: org })).teamId);
    await admin('POST', `/admin/teams/${ids[1]}/suspend`);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await adminJson('GET', `/admin/teams?organization_id=${org}&limit=2${q}`);
      seen.push(...res.body.data.map((t: any) => t.team_id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual([...ids].sort());
    expect(pages).toBe(3);
    const suspended = await adminJson('GET', `/admin/teams?organization_id=${org}&status=suspended`);
    expect(suspended.body.data.map((t: any) => t.team_id)).toEqual([ids[1]]);
    expect(suspended.body.next_cursor).toBeNull();
  });

  it('suspend: the team key gets 403 team_suspended at once; resume lets it back in', async () => {
    const { teamId, key } = await setupTeam(5);
    expect((await get(`/api/teams/${teamId}/credits`, key)).status).toBe(200);
    const s = await adminJson('POST', `/admin/teams/${teamId}/suspend`);
    expect(s.body.status).toBe('suspended');
    await expectError(await get(`/api/teams/${teamId}/credits`, key), 403, 'team_suspended');
    await expectError(
      await apiPost('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key),
      403,
      'team_suspended',
    );
    expect((await adminJson('POST', `/admin/teams/${teamId}/resume`)).body.status).toBe('active');
    expect((await get(`/api/teams/${teamId}/credits`, key)).status).toBe(200);
    await expectError(await admin('POST', '/admin/teams/nope/suspend'), 404, 'team_not_found');
    await expectError(await admin('POST', '/admin/teams/nope/resume'), 404, 'team_not_found');
  });

  it('delete only an empty team: jobs, holds or a balance make it 409 and nothing is removed', async () => {
    const busy = await setupTeam(5);
    await createJob(busy.key, busy.teamId);
    const held = await snapshot();
    const e = await expectError(await admin('DELETE', `/admin/teams/${busy.teamId}`), 409, 'team_not_empty');
    expect(e.message).toMatch(/1 job\(s\), 1 active hold\(s\), a balance of 5 credits/);
    expect(await snapshot()).toEqual(held);

    const funded = await setupTeam(3);
    await expectError(await admin('DELETE', `/admin/teams/${funded.teamId}`), 409, 'team_not_empty');
    // Taking the credits back empties it: its keys, ledger rows and reports go with it.
    await admin('POST', `/admin/teams/${funded.teamId}/credits`, { credits: -3, reason: 'close account' });
    const res = await adminJson('DELETE', `/admin/teams/${funded.teamId}`);
    expect(res).toEqual({ status: 200, body: { team_id: funded.teamId, deleted: true } });
    for (const t of ['teams', 'api_keys', 'credit_ledger']) {
      const col = t === 'teams' ? 'id' : 'team_id';
      const n = await env.DB.prepare(`SELECT count(*) AS n FROM ${t} WHERE ${col} = ?`)
        .bind(funded.teamId)
        .first<{ n: number }>();
      expect(n!.n).toBe(0);
    }
    await expectError(await get(`/api/teams/${funded.teamId}/credits`, funded.key), 401, 'invalid_api_key');
    await expectError(await admin('DELETE', `/admin/teams/${funded.teamId}`), 404, 'team_not_found');
  });

  it('need the admin key', async () => {
    const { teamId } = await setupTeam(1);
    await expectAdminOnly('POST', '/admin/teams', { team_id: uniqueId('t') });
    await expectAdminOnly('GET', '/admin/teams');
    await expectAdminOnly('GET', `/admin/teams/${teamId}`);
    await expectAdminOnly('PATCH', `/admin/teams/${teamId}`, { name: 'x' });
    await expectAdminOnly('POST', `/admin/teams/${teamId}/suspend`);
    await expectAdminOnly('POST', `/admin/teams/${teamId}/resume`);
    await expectAdminOnly('DELETE', `/admin/teams/${teamId}`);
    await expectAdminOnly('POST', `/admin/teams/${teamId}/credits`, { credits: 1 });
    await expectAdminOnly('GET', `/admin/teams/${teamId}/transactions`);
    await expectAdminOnly('GET', '/admin/alerts/low-credits');
    expect((await adminJson('GET', `/admin/teams/${teamId}`)).body.name).toBe(teamId);
  });

  it.each([
    ['team_id with a slash', { team_id: 'a/b' }, 'team_id'],
    ['unknown budget_mode', { budget_mode: 'free' }, 'budget_mode'],
    ['negative credits_per_job', { credits_per_job: -1 }, 'credits_per_job'],
    ['zero credits_per_dollar', { credits_per_dollar: 0 }, 'credits_per_dollar'],
    ['fractional tokens_per_credit', { tokens_per_credit: 1.5 }, 'tokens_per_credit'],
    ['zero rpm_limit', { rpm_limit: 0 }, 'rpm_limit'],
    ['string tpm_limit', { tpm_limit: '5' }, 'tpm_limit'],
    ['zero max_concurrent_streams', { max_concurrent_streams: 0 }, 'max_concurrent_streams'],
    ['allowed_models not a list', { allowed_models: 'mock' }, 'allowed_models'],
    ['unknown model in allowed_models', { allowed_models: ['mock', 'no-such-model'] }, 'allowed_models.1'],
    ['negative low_credit_threshold', { low_credit_threshold: -1 }, 'low_credit_threshold'],
    ['unknown organization', { organization_id: 'no-such-org' }, 'organization_id'],
  ])('POST and PATCH refuse %s with a 400 naming it, writing nothing', async (_name, bad, param) => {
    const { teamId } = await setupTeam(1);
    const before = await snapshot();
    const created = await admin('POST', '/admin/teams', { team_id: uniqueId('team'), ...bad });
    expect(((await created.json()) as any).error.param).toBe(param);
    expect(created.status).toBe(400);
    if (!('team_id' in bad)) {
      const patched = await admin('PATCH', `/admin/teams/${teamId}`, bad);
      expect(patched.status).toBe(400);
      expect(((await patched.json()) as any).error.param).toBe(param);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('credits and transactions', () => {
  it('transactions: newest first, filtered by kind and dates, paged', async () => {
    const { teamId, key } = await setupTeam(10);
    await admin('POST', `/admin/teams/${teamId}/credits`, { credits: 5, reason: 'top-up' });
    await admin('POST', `/admin/teams/${teamId}/credits`, { credits: -2, reason: 'refund' });
    const job = await createJob(key, teamId);
    await completeJob(key, job);

    const all = await adminJson('GET', `/admin/teams/${teamId}/transactions`);
    expect(all.status).toBe(200);
    expect(all.body.data.map((t: any) => [t.kind, t.amount])).toEqual([
      ['charge', -1],
      ['adjustment', -2],
      ['grant', 5],
      ['grant', 10],
    ]);
    expect(all.body.data[0]).toMatchObject({ job_id: job, call_id: null, reason: 'job completed' });
    expect(all.body.next_cursor).toBeNull();
    const sum = all.body.data.reduce((n: number, t: any) => n + t.amount, 0);
    expect(sum).toBe((await books(teamId)).balance);

    const grants = await adminJson('GET', `/admin/teams/${teamId}/transactions?kind=grant`);
    expect(grants.body.data.map((t: any) => t.amount)).toEqual([5, 10]);

    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await adminJson('GET', `/admin/teams/${teamId}/transactions?limit=3${q}`);
      pages.push(res.body.data.map((t: any) => t.amount));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(pages).toEqual([[-1, -2, 5], [10]]);

    const today = new Date().toISOString().slice(0, 10);
    const inDay = await adminJson('GET', `/admin/teams/${teamId}/transactions?from=${today}&to=${today}`);
    expect(inDay.body.data).toHaveLength(4);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await adminJson('GET', `/admin/teams/${teamId}/transactions?from=${tomorrow}`)).body.data).toEqual([]);
    const past = new Date(Date.now() - 86_400_000).toISOString();
    expect((await adminJson('GET', `/admin/teams/${teamId}/transactions?to=${past}`)).body.data).toEqual([]);
    await expectError(await admin('GET', '/admin/teams/nope/transactions'), 404, 'team_not_found');
  });

  it.each([
    ['kind', 'kind=gift'],
    ['from', 'from=yesterday'],
    ['to', 'to=2026-13-01'],
    ['to', 'from=2026-05-02&to=2026-05-01'],
    ['limit', 'limit=1000'],
    ['cursor', 'cursor=bm9wZQ'],
  ])('transactions: bad %s is a 400 naming it', async (param, query) => {
    const { teamId } = await setupTeam(1);
    const res = await admin('GET', `/admin/teams/${teamId}/transactions?${query}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe(param);
  });

  it('credits: bad input is a 400 naming the field, nothing written', async () => {
    const { teamId } = await setupTeam(1);
    const before = await snapshot();
    await expectError(
      await admin('POST', `/admin/teams/${teamId}/credits`, { credits: 1.5 }),
      400,
      'invalid_request',
      'credits',
    );
    await expectError(
      await admin('POST', `/admin/teams/${teamId}/credits`, { credits: 1, reason: 'x'.repeat(501) }),
      400,
      'invalid_request',
      'reason',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('low-credit alerts list teams under their own threshold or the default of 10', async () => {
    const low = await setupTeam(5);
    const fine = await setupTeam(50);
    const ownThreshold = await setupTeam(50, { low_credit_threshold: 100 });
    const zeroThreshold = await setupTeam(0, { low_credit_threshold: 0 });
    const res = await adminJson('GET', '/admin/alerts/low-credits');
    expect(res.status).toBe(200);
    const byId = new Map(res.body.data.map((t: any) => [t.team_id, t]));
    expect(byId.get(low.teamId)).toMatchObject({ credits_remaining: 5, low_credit_threshold: 10, status: 'active' });
    expect(byId.get(ownThreshold.teamId)).toMatchObject({ credits_remaining: 50, low_credit_threshold: 100 });
    expect(byId.has(fine.teamId)).toBe(false);
    expect(byId.has(zeroThreshold.teamId)).toBe(false);
    const remaining = res.body.data.map((t: any) => t.credits_remaining);
    expect(remaining).toEqual([...remaining].sort((a: number, b: number) => a - b));
  });
});
