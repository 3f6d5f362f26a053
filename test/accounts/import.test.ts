import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { Caller } from '../../src/auth/caller';
import { moveCredits, finishJob, holdForJob } from '../../src/billing/ledger';
import { admitCall } from '../../src/calls/admission';
import { writeBooks } from '../../src/calls/books';
import { requireEntry } from '../../src/catalog/models';
import { batch } from '../../src/db/statement';
import { openJobRow } from '../../src/jobs/store';
import { hashKey, newId } from '../../src/lib/crypto';
import { accountBooks, api, books, post, uniqueId, user } from '../support/api';

/**
 * A database as the gateway wrote it before teams had accounts: every statement below is one the
 * gateway sent D1 then (they are the statements it sends its accounts now), run against D1.
 */
async function teamWrittenToD1(budgetMode: string, credits: number) {
  const teamId = uniqueId('d1team');
  const secret = `sk-sluice-${uniqueId('secret')}`;
  const keyHash = await hashKey(secret);
  const now = Date.now();
  await env.DB.prepare(
    'INSERT INTO teams (id, name, budget_mode, tokens_per_credit, created_at) VALUES (?, ?, ?, 10, ?)',
  )
    .bind(teamId, teamId, budgetMode, now)
    .run();
  await env.DB.prepare('INSERT INTO api_keys (id, team_id, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)')
    .bind(uniqueId('key'), teamId, keyHash, secret.slice(0, 12), now)
    .run();
  await batch(env.DB, moveCredits(teamId, credits, 'initial credits', now));
  return { teamId, secret, keyHash, caller: new Caller(keyHash) };
}

async function openJobInD1(caller: Caller, teamId: string) {
  const job = { id: newId('job'), teamId, jobType: 'old', userId: null, metadata: null };
  const now = Date.now();
  const [, inserted] = await caller.batch(env.DB, [openJobRow(caller.keyHash, job, now), ...holdForJob(job.id, now)]);
  expect(inserted).toBe(1);
  return job;
}

describe("an existing deployment's teams move into their accounts by themselves", () => {
  it('job_based: the balance, an open job and its hold, and the finished jobs carry over; each job is charged once', async () => {
    const t = await teamWrittenToD1('job_based', 10);
    const finished = await openJobInD1(t.caller, t.teamId);
    await batch(env.DB, finishJob(finished, 'completed', Date.now()));
    const open = await openJobInD1(t.caller, t.teamId);
    expect(await books(t.teamId)).toEqual({ balance: 9, held: 1, ledgerSum: 9, activeHolds: 1 });

    // The first request of the new code: its key works, its account takes the team from D1.
    const done = await post(`/api/jobs/${open.id}/complete`, { status: 'completed' }, t.secret);
    expect(done.status).toBe(200);
    expect(await accountBooks(t.teamId)).toEqual({ balance: 8, held: 0, ledgerSum: 8, activeHolds: 0 });
    expect(await books(t.teamId)).toEqual({ balance: 8, held: 0, ledgerSum: 8, activeHolds: 0 });

    // A job that finished before the move is found in D1, and completing it again charges nothing.
    const again = await post(`/api/jobs/${finished.id}/complete`, { status: 'completed' }, t.secret);
    expect(again.status).toBe(200);
    const refused = await post(`/api/jobs/${finished.id}/complete`, { status: 'failed' }, t.secret);
    expect(refused.status).toBe(409);
    expect(await books(t.teamId)).toEqual({ balance: 8, held: 0, ledgerSum: 8, activeHolds: 0 });

    // New work goes through the account; D1's counters are the account's copy.
    const call = await post(
      '/api/jobs/create-and-call',
      { team_id: t.teamId, job_type: 'new', model: 'mock', messages: user('hi') },
      t.secret,
    );
    expect(call.status).toBe(200);
    const reconciled = await api('POST', `/admin/reconciliation?team_id=${t.teamId}`, { admin: true });
    expect(await reconciled.json()).toMatchObject({ checked: 1, differing: 0 });
    expect(await books(t.teamId)).toEqual({ balance: 7, held: 0, ledgerSum: 7, activeHolds: 0 });
  });

  it('consumption_tokens: a call admitted in D1 before the move settles in the account, once', async () => {
    const t = await teamWrittenToD1('consumption_tokens', 100);
    const model = await requireEntry(env.DB, 'mock');
    const now = Date.now();
    const admitted = await admitCall(
      { account: env.DB, model, d1: env.DB },
      {
        caller: t.caller,
        alias: 'mock',
        params: { messages: user('hello there'), max_tokens: 200 },
        now,
        newJob: { id: newId('job'), teamId: t.teamId, jobType: 'old', userId: null, metadata: null },
      },
    );
    const before = await books(t.teamId);
    expect(before.held).toBeGreaterThan(0);

    // The isolate that admitted it settles it after the new code is live.
    const usage = { input: 30, cachedInput: 0, cacheWrite: 0, output: 70, reasoning: 0 };
    const finished = {
      admitted,
      params: { messages: user('hello there'), max_tokens: 200 },
      stream: true,
      finishesJob: true,
      served: model,
      attempts: 1,
      outcome: {
        status: 'success' as const,
        completion: {
          id: null,
          content: 'hi',
          toolCalls: [],
          finishReason: 'stop' as const,
          usage,
          done: true,
          error: null,
        },
        ttftMs: 1,
        latencyMs: 2,
        error: null,
      },
    };
    await writeBooks(env.ACCOUNTS, finished);
    await writeBooks(env.ACCOUNTS, finished);
    // 100 tokens at 10 a credit.
    expect(await accountBooks(t.teamId)).toEqual({ balance: 90, held: 0, ledgerSum: 90, activeHolds: 0 });
    expect(await books(t.teamId)).toEqual({ balance: 90, held: 0, ledgerSum: 90, activeHolds: 0 });
    const calls = await env.DB.prepare('SELECT count(*) AS n FROM llm_calls WHERE id = ?')
      .bind(admitted.callId)
      .first();
    expect(calls).toEqual({ n: 1 });
  });
});
