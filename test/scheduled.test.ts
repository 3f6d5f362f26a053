import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../src/index';
import { expireStaleJobs } from '../src/jobs/expiry';
import { accountBooks, books, inAccount, post, setupTeam, user } from './support/api';
import { completeJob, createJob, insertCall } from './support/admin';

const DAY = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

async function runCron(cron: string, scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime, cron }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** The daily run that reports on `day`: five past midnight the day after. */
const reportOn = (day: string) => runCron('5 0 * * *', dayStart(day) + DAY + 5 * 60_000);

async function reports(teamId: string, day?: string) {
  const { results } = await env.DB.prepare(
    `SELECT * FROM credit_reports WHERE team_id = ? ${day ? 'AND day = ?' : ''} ORDER BY day`,
  )
    .bind(...(day ? [teamId, day] : [teamId]))
    .all<Record<string, any>>();
  return results;
}

async function ledgerCharged(teamId: string, day: string) {
  const row = await env.DB.prepare(
    `SELECT coalesce(-sum(amount), 0) AS c FROM credit_ledger
     WHERE team_id = ? AND kind IN ('charge', 'usage') AND created_at >= ? AND created_at < ?`,
  )
    .bind(teamId, dayStart(day), dayStart(day) + DAY)
    .first<{ c: number }>();
  return row!.c;
}

describe('daily credit report (cron 5 0 * * *)', () => {
  it("writes yesterday's figures per team, matching the ledger and the calls", async () => {
    const { teamId, key } = await setupTeam(20);
    const jobs = [await createJob(key, teamId), await createJob(key, teamId), await createJob(key, teamId, 'agent')];
    await completeJob(key, jobs[0]!);
    await completeJob(key, jobs[1]!, 'failed');
    await completeJob(key, jobs[2]!);
    const calls: [string, number, number, number][] = [
      ['gpt-4o-mini', 10, 5, 0.001],
      ['gpt-4o-mini', 20, 5, 0.002],
      ['gpt-4o-mini', 30, 5, 0.003],
      ['gpt-4o', 100, 50, 0.5],
      ['gpt-4o', 100, 50, 0.5],
      ['mock', 1, 1, 0],
      ['claude-sonnet-4', 500, 500, 1.25],
    ];
    for (const [model, prompt, completion, cost] of calls)
      await insertCall(teamId, jobs[0]!, { model, prompt, completion, cost });

    const today = utcDay(Date.now());
    await reportOn(today);
    const [report] = await reports(teamId, today);
    const b = await books(teamId);
    expect(report).toMatchObject({
      day: today,
      jobs: 3,
      calls: 7,
      tokens: 1377,
      cost_usd: 2.256,
      credits_charged: await ledgerCharged(teamId, today),
      credits_remaining: b.balance - b.held,
      low_credits: 0,
    });
    expect(report!.credits_charged).toBe(2);
    expect(JSON.parse(report!.top_models)).toEqual([
      { model: 'gpt-4o-mini', calls: 3, tokens: 75 },
      { model: 'gpt-4o', calls: 2, tokens: 300 },
      { model: 'claude-sonnet-4', calls: 1, tokens: 1000 },
    ]);
  });

  it('is idempotent: a second run for the same day writes nothing new', async () => {
    const { teamId, key } = await setupTeam(10);
    await completeJob(key, await createJob(key, teamId));
    const today = utcDay(Date.now());
    await reportOn(today);
    const first = await reports(teamId, today);
    expect(first).toHaveLength(1);
    // More activity, then the same day's run again (a retry): the first report stands.
    await completeJob(key, await createJob(key, teamId));
    await reportOn(today);
    expect(await reports(teamId, today)).toEqual(first);
    expect(first[0]!.credits_charged).toBe(1);
  });

  it('flags teams under their own threshold, or LOW_CREDIT_THRESHOLD (10) when they have none', async () => {
    const low = await setupTeam(5);
    const fine = await setupTeam(50);
    const ownThreshold = await setupTeam(50, { low_credit_threshold: 100 });
    const today = utcDay(Date.now());
    await reportOn(today);
    expect((await reports(low.teamId, today))[0]).toMatchObject({ low_credits: 1, credits_remaining: 5 });
    expect((await reports(fine.teamId, today))[0]).toMatchObject({ low_credits: 0, credits_remaining: 50 });
    expect((await reports(ownThreshold.teamId, today))[0]).toMatchObject({ low_credits: 1 });
  });

  it('counts only rows inside the UTC day, and skips teams created after it', async () => {
    const { teamId } = await setupTeam(0);
    const day = '2026-01-15';
    const start = dayStart(day);
    await env.DB.prepare('UPDATE teams SET created_at = ? WHERE id = ?')
      .bind(start - 10 * DAY, teamId)
      .run();
    const stamps = [start - 1, start, start + DAY - 1, start + DAY];
    for (const [i, at] of stamps.entries()) {
      const jobId = `job_edge_${teamId}_${i}`;
      await env.DB.prepare(
        `INSERT INTO jobs (id, team_id, job_type, status, credits_charged, created_at, completed_at)
         VALUES (?, ?, 'edge', 'completed', 1, ?, ?)`,
      )
        .bind(jobId, teamId, at, at)
        .run();
      await insertCall(teamId, jobId, { model: 'gpt-4o', prompt: 1, completion: 1, cost: 0.5, at });
      await env.DB.prepare(
        `INSERT INTO credit_ledger (id, team_id, job_id, kind, amount, reason, created_at)
         VALUES (?, ?, ?, 'charge', -1, 'edge', ?)`,
      )
        .bind(`led_edge_${teamId}_${i}`, teamId, jobId, at)
        .run();
    }
    await reportOn(day);
    expect((await reports(teamId, day))[0]).toMatchObject({
      jobs: 2,
      calls: 2,
      tokens: 4,
      cost_usd: 1,
      credits_charged: 2,
    });
    // A team made today did not exist on that day.
    const fresh = await setupTeam(5);
    await reportOn('2026-01-16');
    expect(await reports(fresh.teamId)).toEqual([]);
    expect(await reports(teamId, '2026-01-16')).toHaveLength(1);
  });
});

describe('stale job expiry (cron */10 * * * *)', () => {
  const backdate = (jobId: string, ms: number) =>
    env.DB.prepare('UPDATE jobs SET created_at = ? WHERE id = ?').bind(ms, jobId).run();

  it('fails jobs open longer than JOB_TTL and releases their holds; the books still balance', async () => {
    const { teamId, key } = await setupTeam(10);
    const now = Date.now();
    const stalePending = await createJob(key, teamId);
    const staleRunning = await createJob(key, teamId);
    const fresh = await createJob(key, teamId);
    const staleDone = await createJob(key, teamId);
    await completeJob(key, staleDone);
    for (const id of [stalePending, staleRunning, staleDone]) await backdate(id, now - 3601_000);
    await env.DB.prepare("UPDATE jobs SET status = 'in_progress' WHERE id = ?").bind(staleRunning).run();
    expect(await books(teamId)).toMatchObject({ held: 3, balance: 9 });

    await runCron('*/10 * * * *', now);

    const rows = async () =>
      (
        await env.DB.prepare('SELECT id, status, error_message, completed_at FROM jobs WHERE team_id = ?')
          .bind(teamId)
          .all<Record<string, any>>()
      ).results;
    const byId = new Map((await rows()).map((r) => [r.id, r]));
    for (const id of [stalePending, staleRunning])
      expect(byId.get(id)).toMatchObject({
        status: 'failed',
        error_message: 'expired after JOB_TTL',
        completed_at: now,
      });
    expect(byId.get(fresh)).toMatchObject({ status: 'pending', error_message: null });
    expect(byId.get(staleDone)).toMatchObject({ status: 'completed', error_message: null });

    const b = await books(teamId);
    expect(b).toEqual({ balance: 9, held: 1, ledgerSum: 9, activeHolds: 1 });
    const holds = await env.DB.prepare('SELECT job_id, status FROM credit_holds WHERE team_id = ?')
      .bind(teamId)
      .all<{ job_id: string; status: string }>();
    const holdOf = new Map(holds.results.map((h) => [h.job_id, h.status]));
    expect([holdOf.get(stalePending), holdOf.get(staleRunning), holdOf.get(fresh)]).toEqual([
      'released',
      'released',
      'active',
    ]);

    // Running again changes nothing.
    const before = await rows();
    await runCron('*/10 * * * *', now);
    expect(await rows()).toEqual(before);
    expect(await books(teamId)).toEqual(b);
  });

  it('expires a bounded number of jobs per run, oldest first', async () => {
    const { teamId, key } = await setupTeam(10);
    const now = Date.now();
    const ids = [await createJob(key, teamId), await createJob(key, teamId), await createJob(key, teamId)];
    for (const [i, id] of ids.entries()) await backdate(id, now - 7200_000 - (3 - i) * 1000);
    const first = await expireStaleJobs({ d1: env.DB, accounts: env.ACCOUNTS }, { now, ttlSeconds: 3600, limit: 2 });
    expect(first).toEqual({ found: 2, expired: 2, errors: 0 });
    const status = async (id: string) =>
      (await env.DB.prepare('SELECT status FROM jobs WHERE id = ?').bind(id).first<{ status: string }>())!.status;
    expect([await status(ids[0]!), await status(ids[1]!), await status(ids[2]!)]).toEqual([
      'failed',
      'failed',
      'pending',
    ]);
    expect(
      await expireStaleJobs({ d1: env.DB, accounts: env.ACCOUNTS }, { now, ttlSeconds: 3600, limit: 2 }),
    ).toMatchObject({ expired: 1 });
    expect(await books(teamId)).toEqual({ balance: 10, held: 0, ledgerSum: 10, activeHolds: 0 });
  });
});

describe('sweeping what dead isolates leave behind (cron */10 * * * *)', () => {
  it('releases call holds older than JOB_TTL; a later call prunes stale slots and past rate windows', async () => {
    const { teamId, key } = await setupTeam(100);
    const now = Date.now();
    const old = now - 2 * 3600_000;
    // What admissions whose isolates died before settling leave in the team's account.
    await inAccount(
      teamId,
      "INSERT INTO jobs (id, team_id, job_type, status, created_at) VALUES ('job_sweep', ?, 'x', 'completed', ?)",
      teamId,
      now,
    );
    await inAccount(
      teamId,
      `INSERT INTO credit_holds (id, team_id, job_id, call_id, amount, status, created_at)
       VALUES ('hold_dead', ?1, 'job_sweep', 'call_dead', 7, 'active', ?2), ('hold_live', ?1, 'job_sweep', 'call_live', 3, 'active', ?3)`,
      teamId,
      old,
      now,
    );
    await inAccount(teamId, 'UPDATE teams SET credits_held = credits_held + 10 WHERE id = ?', teamId);
    await inAccount(
      teamId,
      "INSERT INTO active_streams (call_id, team_id, started_at) VALUES ('call_dead', ?1, ?2), ('call_live', ?1, ?3)",
      teamId,
      old,
      now,
    );
    await inAccount(
      teamId,
      'INSERT INTO rate_windows (scope, window_start, requests) VALUES (?1, ?2, 5), (?1, ?3, 1)',
      `team:${teamId}`,
      old,
      now - (now % 60_000),
    );
    expect(await books(teamId)).toEqual({ balance: 100, held: 10, ledgerSum: 100, activeHolds: 10 });

    await runCron('*/10 * * * *', now);

    expect(await books(teamId)).toEqual({ balance: 100, held: 3, ledgerSum: 100, activeHolds: 3 });
    expect(await accountBooks(teamId)).toEqual({ balance: 100, held: 3, ledgerSum: 100, activeHolds: 3 });
    // The team's next call's books drop what no limit reads any more.
    const call = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: 'mock', messages: user('hi') },
      key,
    );
    expect(call.status).toBe(200);
    const slots = await inAccount(teamId, 'SELECT call_id FROM active_streams');
    expect(slots.results).toEqual([{ call_id: 'call_live' }]);
    const windows = await inAccount(teamId, 'SELECT requests FROM rate_windows WHERE scope = ?', `team:${teamId}`);
    expect(windows.results).toEqual([{ requests: 1 }]);
  });
});
