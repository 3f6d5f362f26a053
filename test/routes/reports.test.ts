import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { api, get, setupTeam } from '../support/api';
import { completeJob, createJob, expectError, insertCall } from '../support/admin';

const DAY = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function runDailyReport(day: string) {
  const ctx = createExecutionContext();
  const scheduledTime = Date.parse(`${day}T00:05:00Z`) + DAY;
  await worker.scheduled(createScheduledController({ scheduledTime, cron: '5 0 * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** A stored report for an earlier day, as the cron job would have written it then. */
async function storeReport(teamId: string, day: string, fields: Record<string, unknown> = {}) {
  const r = { jobs: 1, calls: 2, tokens: 30, cost_usd: 0.5, credits_charged: 1, credits_remaining: 9, ...fields };
  await env.DB.prepare(
    `INSERT INTO credit_reports (id, team_id, day, jobs, calls, tokens, cost_usd, credits_charged, credits_remaining,
       top_models, low_credits, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
  )
    .bind(
      `rep_${teamId}_${day}`,
      teamId,
      day,
      r.jobs,
      r.calls,
      r.tokens,
      r.cost_usd,
      r.credits_charged,
      r.credits_remaining,
      JSON.stringify([{ model: 'gpt-4o', calls: 2, tokens: 30 }]),
      Date.parse(`${day}T00:05:00Z`) + DAY,
    )
    .run();
}

describe('GET /api/teams/{team_id}/reports', () => {
  it("returns the cron job's reports for from..to as JSON", async () => {
    const { teamId, key } = await setupTeam(10);
    const job = await createJob(key, teamId);
    await insertCall(teamId, job, { model: 'gpt-4o-mini', prompt: 40, completion: 2, cost: 0.01 });
    await completeJob(key, job);
    const today = utcDay(Date.now());
    await runDailyReport(today);
    await storeReport(teamId, '2026-03-01');

    const res = await get(`/api/teams/${teamId}/reports?from=2026-01-01&to=${today}`, key);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ team_id: teamId, from: '2026-01-01', to: today });
    expect(body.data.map((r: any) => r.day)).toEqual(['2026-03-01', today]);
    expect(body.data[1]).toMatchObject({
      day: today,
      jobs: 1,
      calls: 1,
      tokens: 42,
      cost_usd: 0.01,
      credits_charged: 1,
      credits_remaining: 9,
      low_credits: true,
      top_models: [{ model: 'gpt-4o-mini', calls: 1, tokens: 42 }],
    });

    const narrow = (await (await get(`/api/teams/${teamId}/reports?from=2026-02-01&to=2026-03-01`, key)).json()) as any;
    expect(narrow.data.map((r: any) => r.day)).toEqual(['2026-03-01']);
  });

  it('with Accept: text/csv, a header row and one row per day', async () => {
    const { teamId, key } = await setupTeam(10);
    await storeReport(teamId, '2026-04-01', { jobs: 3, tokens: 300 });
    await storeReport(teamId, '2026-04-02', { jobs: 4, cost_usd: 1.25 });
    const res = await api('GET', `/api/teams/${teamId}/reports?from=2026-04-01&to=2026-04-30`, {
      key,
      headers: { accept: 'text/csv' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('.csv');
    expect(await res.text()).toBe(
      'day,jobs,calls,tokens,cost_usd,credits_charged,credits_remaining,low_credits,top_models\r\n' +
        '2026-04-01,3,2,300,0.5,1,9,false,gpt-4o:2\r\n' +
        '2026-04-02,4,2,30,1.25,1,9,false,gpt-4o:2\r\n',
    );
  });

  it('defaults to the 30 days up to yesterday', async () => {
    const { teamId, key } = await setupTeam(10);
    const yesterday = utcDay(Date.now() - DAY);
    await storeReport(teamId, yesterday);
    await storeReport(teamId, utcDay(Date.now() - 40 * DAY));
    const body = (await (await get(`/api/teams/${teamId}/reports`, key)).json()) as any;
    expect(body.to).toBe(yesterday);
    expect(body.from).toBe(utcDay(Date.now() - 30 * DAY));
    expect(body.data.map((r: any) => r.day)).toEqual([yesterday]);
  });

  it('401 without a key, 403 for another team (JSON or CSV)', async () => {
    const a = await setupTeam(1);
    const b = await setupTeam(1);
    await storeReport(a.teamId, '2026-05-01');
    await expectError(await get(`/api/teams/${a.teamId}/reports`), 401, 'missing_api_key');
    await expectError(await get(`/api/teams/${a.teamId}/reports`, 'sk-sluice-nope'), 401, 'invalid_api_key');
    await expectError(await get(`/api/teams/${a.teamId}/reports?from=2026-05-01`, b.key), 403, 'team_mismatch');
    const csv = await api('GET', `/api/teams/${a.teamId}/reports?from=2026-05-01`, {
      key: b.key,
      headers: { accept: 'text/csv' },
    });
    await expectError(csv, 403, 'team_mismatch');
  });

  it.each([
    ['from', 'from=2026-02-30'],
    ['to', 'to=yesterday'],
    ['to', 'from=2026-05-02&to=2026-05-01'],
    ['from', 'from=2024-01-01&to=2026-01-01'],
  ])('400 naming %s for %s', async (param, query) => {
    const { teamId, key } = await setupTeam(1);
    await expectError(await get(`/api/teams/${teamId}/reports?${query}`, key), 400, 'invalid_request', param);
  });
});
