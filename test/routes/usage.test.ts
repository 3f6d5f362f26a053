import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, get, setupTeam } from '../support/api';
import { completeJob, createJob, expectError, insertCall, snapshot } from '../support/admin';

const patch = (path: string, body: unknown, key?: string) => api('PATCH', path, { body, key });
const thisMonth = () => new Date().toISOString().slice(0, 7);

describe('GET /api/teams/{team_id}/usage', () => {
  it('totals and breakdowns by job type and model for the month', async () => {
    const { teamId, key } = await setupTeam(20);
    const chat1 = await createJob(key, teamId, 'chat');
    const chat2 = await createJob(key, teamId, 'chat');
    const agent = await createJob(key, teamId, 'agent');
    await createJob(key, teamId, 'agent'); // still pending
    await completeJob(key, chat1);
    await completeJob(key, chat2, 'failed');
    await completeJob(key, agent);
    await insertCall(teamId, chat1, { model: 'gpt-4o-mini', prompt: 100, completion: 20, cost: 0.25 });
    await insertCall(teamId, chat2, { model: 'gpt-4o-mini', status: 'error', prompt: 0, completion: 0, cost: 0 });
    await insertCall(teamId, agent, { model: 'gpt-4o', prompt: 300, completion: 100, cost: 1.5 });
    await insertCall(teamId, agent, { model: 'gpt-4o-mini', prompt: 50, completion: 10, cost: 0.125 });
    // Last month's call on the same job is not in this month's usage.
    const lastMonth = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1) - 1000;
    await insertCall(teamId, agent, { model: 'gpt-4o', prompt: 999, completion: 999, cost: 9, at: lastMonth });

    const res = await get(`/api/teams/${teamId}/usage`, key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.period).toBe(thisMonth());
    expect(body.totals).toEqual({
      jobs: 4,
      successful: 2,
      failed: 1,
      calls: 4,
      tokens: 580,
      cost_usd: 1.875,
      credits: 2,
    });
    expect(body.by_job_type).toEqual([
      { job_type: 'agent', jobs: 2, successful: 1, failed: 0, calls: 2, tokens: 460, cost_usd: 1.625, credits: 1 },
      { job_type: 'chat', jobs: 2, successful: 1, failed: 1, calls: 2, tokens: 120, cost_usd: 0.25, credits: 1 },
    ]);
    expect(body.by_model).toEqual([
      { model: 'gpt-4o-mini', calls: 3, successful: 2, failed: 1, tokens: 180, cost_usd: 0.375 },
      { model: 'gpt-4o', calls: 1, successful: 1, failed: 0, tokens: 400, cost_usd: 1.5 },
    ]);
    // credits = what the ledger charged in the period.
    const charged = await env.DB.prepare(
      "SELECT -sum(amount) AS c FROM credit_ledger WHERE team_id = ? AND kind IN ('charge', 'usage')",
    )
      .bind(teamId)
      .first<{ c: number }>();
    expect(body.totals.credits).toBe(charged!.c);

    const last = new Date(lastMonth).toISOString().slice(0, 7);
    const before = (await (await get(`/api/teams/${teamId}/usage?period=${last}`, key)).json()) as any;
    expect(before.totals).toEqual({
      jobs: 0,
      successful: 0,
      failed: 0,
      calls: 1,
      tokens: 1998,
      cost_usd: 9,
      credits: 0,
    });
    expect(before.by_model).toEqual([
      { model: 'gpt-4o', calls: 1, successful: 1, failed: 0, tokens: 1998, cost_usd: 9 },
    ]);
  });

  it('401 without a key, 403 for another team, 400 for a bad period', async () => {
    const a = await setupTeam(1);
    const b = await setupTeam(1);
    await expectError(await get(`/api/teams/${a.teamId}/usage`), 401, 'missing_api_key');
    await expectError(await get(`/api/teams/${a.teamId}/usage`, 'sk-sluice-wrong'), 401, 'invalid_api_key');
    await expectError(await get(`/api/teams/${a.teamId}/usage`, b.key), 403, 'team_mismatch');
    for (const period of ['2026-13', '2026-1', 'last-month', '2026-01-01'])
      await expectError(
        await get(`/api/teams/${a.teamId}/usage?period=${period}`, a.key),
        400,
        'invalid_request',
        'period',
      );
  });
});

describe('GET /api/teams/{team_id}/jobs', () => {
  it('newest first, paged with an opaque cursor, filtered by status', async () => {
    const { teamId, key } = await setupTeam(20);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createJob(key, teamId, `t${i}`));
    await completeJob(key, ids[1]!);
    await completeJob(key, ids[3]!, 'failed');

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res = await get(`/api/teams/${teamId}/jobs?limit=2${q}`, key);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      seen.push(...body.data.map((j: any) => j.job_id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const done = (await (await get(`/api/teams/${teamId}/jobs?status=completed`, key)).json()) as any;
    expect(done.data.map((j: any) => j.job_id)).toEqual([ids[1]]);
    expect(done.data[0]).toMatchObject({ team_id: teamId, job_type: 't1', status: 'completed', credits_charged: 1 });
    expect(done.next_cursor).toBeNull();
  });

  it('401 without a key, 403 for another team, 400 for bad filters', async () => {
    const a = await setupTeam(5);
    const b = await setupTeam(5);
    await createJob(a.key, a.teamId);
    await expectError(await get(`/api/teams/${a.teamId}/jobs`), 401, 'missing_api_key');
    await expectError(await get(`/api/teams/${a.teamId}/jobs`, b.key), 403, 'team_mismatch');
    await expectError(await get(`/api/teams/${a.teamId}/jobs?status=done`, a.key), 400, 'invalid_request', 'status');
    await expectError(await get(`/api/teams/${a.teamId}/jobs?limit=0`, a.key), 400, 'invalid_request', 'limit');
    await expectError(await get(`/api/teams/${a.teamId}/jobs?limit=abc`, a.key), 400, 'invalid_request', 'limit');
    await expectError(await get(`/api/teams/${a.teamId}/jobs?cursor=%5B1%5D`, a.key), 400, 'invalid_cursor', 'cursor');
  });
});

describe('GET /api/jobs/{job_id}/costs', () => {
  it('the per-call breakdown and the totals', async () => {
    const { teamId, key } = await setupTeam(5);
    const job = await createJob(key, teamId);
    const c1 = await insertCall(teamId, job, { prompt: 100, completion: 50, cost: 0.5 });
    const c2 = await insertCall(teamId, job, { status: 'error', prompt: 0, completion: 0, cost: 0 });
    await completeJob(key, job);
    const res = await get(`/api/jobs/${job}/costs`, key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.job_id).toBe(job);
    expect(body.status).toBe('completed');
    expect(body.costs).toEqual({
      total_calls: 2,
      successful_calls: 1,
      failed_calls: 1,
      total_tokens: 150,
      total_cost_usd: 0.5,
      avg_latency_ms: 12,
      credits_charged: 1,
      credits_remaining: 4,
    });
    expect(body.calls.map((c: any) => [c.call_id, c.status, c.cost_usd])).toEqual([
      [c1, 'success', 0.5],
      [c2, 'error', 0],
    ]);
  });

  it('401 without a key, 403 for another team, 404 for an unknown job', async () => {
    const a = await setupTeam(5);
    const b = await setupTeam(5);
    const job = await createJob(a.key, a.teamId);
    await expectError(await get(`/api/jobs/${job}/costs`), 401, 'missing_api_key');
    await expectError(await get(`/api/jobs/${job}/costs`, b.key), 403, 'team_mismatch');
    await expectError(await get('/api/jobs/job_nope/costs', a.key), 404, 'job_not_found');
  });
});

describe('PATCH /api/jobs/{job_id}/metadata', () => {
  it('merges as a JSON merge patch (null removes a key), even on a finished job', async () => {
    const { teamId, key } = await setupTeam(5);
    const job = await createJob(key, teamId, 'chat', { a: 1, nested: { x: 1 }, keep: 'me' });
    await completeJob(key, job);
    const res = await patch(`/api/jobs/${job}/metadata`, { metadata: { a: null, b: 2, nested: { y: 2 } } }, key);
    expect(res.status).toBe(200);
    const merged = { keep: 'me', nested: { x: 1, y: 2 }, b: 2 };
    expect(await res.json()).toEqual({ job_id: job, metadata: merged });
    const stored = (await (await get(`/api/jobs/${job}`, key)).json()) as any;
    expect(stored.metadata).toEqual(merged);

    const bare = await createJob(key, teamId);
    const first = await patch(`/api/jobs/${bare}/metadata`, { metadata: { tag: 'x' } }, key);
    expect(await first.json()).toEqual({ job_id: bare, metadata: { tag: 'x' } });
  });

  it('401 without a key, 403 for another team (nothing written), 404, 400 naming metadata', async () => {
    const a = await setupTeam(5);
    const b = await setupTeam(5);
    const job = await createJob(a.key, a.teamId, 'chat', { owner: 'a' });
    const before = await snapshot();
    await expectError(await patch(`/api/jobs/${job}/metadata`, { metadata: { x: 1 } }), 401, 'missing_api_key');
    await expectError(
      await patch(`/api/jobs/${job}/metadata`, { metadata: { owner: 'b' } }, b.key),
      403,
      'team_mismatch',
    );
    await expectError(await patch('/api/jobs/job_nope/metadata', { metadata: { x: 1 } }, a.key), 404, 'job_not_found');
    for (const body of [{}, { metadata: 'x' }, { metadata: [1] }, { metadata: null }])
      await expectError(await patch(`/api/jobs/${job}/metadata`, body, a.key), 400, 'invalid_request', 'metadata');
    expect(await snapshot()).toEqual(before);
  });

  it('a revoked key writes nothing', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    const job = await createJob(key, teamId, 'chat', { v: 1 });
    await api('DELETE', `/admin/keys/${keyId}`, { admin: true });
    await expectError(await patch(`/api/jobs/${job}/metadata`, { metadata: { v: 2 } }, key), 401, 'key_revoked');
    const row = await env.DB.prepare('SELECT metadata FROM jobs WHERE id = ?').bind(job).first<{ metadata: string }>();
    expect(JSON.parse(row!.metadata)).toEqual({ v: 1 });
  });
});
