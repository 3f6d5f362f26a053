import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type Accounts, RETRIES, accountDb, accountStub } from '../../src/accounts/account/db';
import type { Account } from '../../src/accounts/account/object';
import { Caller } from '../../src/auth/caller';
import { type Admitted, admitCall } from '../../src/calls/admission';
import { type FinishedCall, writeBooks } from '../../src/calls/books';
import { requireEntry } from '../../src/catalog/models';
import { ApiError } from '../../src/errors';
import { hashKey, newId } from '../../src/lib/crypto';
import { accountBooks, books, callRows, eventually, fakeModel, inAccount, post, setupTeam, user } from '../support/api';

type Failure = 'retryable' | 'overloaded' | 'own';

/**
 * The accounts as a Worker sees them when the runtime cannot get its calls through: the first
 * `fails` calls fail with `failure` (an error the runtime marks retryable or overloaded, or one the
 * object's own code threw), before the object runs them, or, with `lost`, after it has run them
 * (the answer lost on the way back). Every later call reaches the real account.
 */
function flakyAccounts(fails: number, failure: Failure, when: 'refused' | 'lost' = 'refused') {
  const state = { tries: 0 };
  const real = env.ACCOUNTS as unknown as DurableObjectNamespace;
  const accounts = {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id) as unknown as { run(...args: unknown[]): Promise<unknown> };
      return {
        run: async (...args: unknown[]) => {
          state.tries++;
          if (state.tries > fails) return stub.run(...args);
          if (when === 'lost') await stub.run(...args);
          const err = new Error(failure === 'own' ? 'no such table: x' : 'Network connection lost.');
          throw failure === 'own' ? err : Object.assign(err, { [failure]: true });
        },
      };
    },
  } as unknown as Accounts;
  return { accounts, state };
}

/** A consumption_tokens team (10 tokens a credit, a tokens-per-minute limit) and a call admitted in its account. */
async function admittedCall(): Promise<{ teamId: string; finished: FinishedCall; admitted: Admitted }> {
  const { teamId, key } = await setupTeam(100, {
    budget_mode: 'consumption_tokens',
    tokens_per_credit: 10,
    tpm_limit: 100_000,
  });
  const model = await requireEntry(env.DB, 'mock');
  const params = { messages: user('hello there'), max_tokens: 200 };
  const admitted = await admitCall(
    { account: accountDb(env.ACCOUNTS, teamId), model, d1: env.DB },
    {
      caller: new Caller(await hashKey(key)),
      alias: 'mock',
      params,
      now: Date.now(),
      newJob: { id: newId('job'), teamId, jobType: 'retry', userId: null, metadata: null },
    },
  );
  const usage = { input: 30, cachedInput: 0, cacheWrite: 0, output: 70, reasoning: 0 };
  const finished: FinishedCall = {
    admitted,
    params,
    stream: true,
    finishesJob: true,
    served: model,
    attempts: 1,
    outcome: {
      status: 'success',
      completion: { id: null, content: 'hi', toolCalls: [], finishReason: 'stop', usage, done: true, error: null },
      ttftMs: 1,
      latencyMs: 2,
      error: null,
    },
  };
  return { teamId, finished, admitted };
}

/** The call's row in D1 (once the account's copy landed) and the tokens its team's rate window counted. */
async function recorded(teamId: string, callId: string) {
  const rows = await eventually(async () => {
    const { results } = await env.DB.prepare('SELECT status, completion_tokens FROM llm_calls WHERE id = ?')
      .bind(callId)
      .all();
    return results.length ? results : null;
  });
  const { results } = await inAccount(
    teamId,
    'SELECT coalesce(sum(tokens), 0) AS tokens FROM rate_windows WHERE scope = ?',
    `team:${teamId}`,
  );
  return { rows, tokens: (results[0] as { tokens: number }).tokens };
}

describe("a call's books reach its account through the runtime's transient failures, once", () => {
  it('sent again after three retryable failures before the account saw them: charged once', async () => {
    const { teamId, finished, admitted } = await admittedCall();
    const flaky = flakyAccounts(3, 'retryable');
    await writeBooks(flaky.accounts, finished);
    expect(flaky.state.tries).toBe(4);
    // 100 tokens at 10 a credit.
    expect(await accountBooks(teamId)).toEqual({ balance: 90, held: 0, ledgerSum: 90, activeHolds: 0 });
    expect(await recorded(teamId, admitted.callId)).toEqual({
      rows: [{ status: 'success', completion_tokens: 70 }],
      tokens: 100,
    });
    const inD1 = await eventually(async () => {
      const b = await books(teamId);
      return b.balance === 90 ? b : null;
    });
    expect(inD1).toEqual({ balance: 90, held: 0, ledgerSum: 90, activeHolds: 0 });
  });

  it('sent again after the account ran them and the answer was lost: run once, the tokens counted once', async () => {
    const { teamId, finished, admitted } = await admittedCall();
    const flaky = flakyAccounts(1, 'retryable', 'lost');
    // `now`: the first run's copy reaches D1, and the account lets go of the call's row, before
    // its answer is lost; only the batch's key stops the second from writing it all again.
    await writeBooks(flaky.accounts, finished, 'now');
    expect(flaky.state.tries).toBe(2);
    expect(await accountBooks(teamId)).toEqual({ balance: 90, held: 0, ledgerSum: 90, activeHolds: 0 });
    expect(await recorded(teamId, admitted.callId)).toEqual({
      rows: [{ status: 'success', completion_tokens: 70 }],
      tokens: 100,
    });
  });

  it('an overloaded account is tried again after a wait, and the books land', async () => {
    const { teamId, finished } = await admittedCall();
    const flaky = flakyAccounts(2, 'overloaded');
    await writeBooks(flaky.accounts, finished);
    expect(flaky.state.tries).toBe(3);
    expect(await accountBooks(teamId)).toEqual({ balance: 90, held: 0, ledgerSum: 90, activeHolds: 0 });
  });

  it("an error of the account's own code is not sent again: the hold stays for the sweep", async () => {
    const { teamId, finished } = await admittedCall();
    const held = await accountBooks(teamId);
    expect(held.held).toBeGreaterThan(0);
    const flaky = flakyAccounts(1, 'own');
    await writeBooks(flaky.accounts, finished);
    expect(flaky.state.tries).toBe(1);
    expect(await accountBooks(teamId)).toEqual(held);
  });
});

/** A new-job admission of `key` in its team's account, named by its call as calls/open.ts names it. */
async function admit(accounts: Accounts, teamId: string, key: string, named = true) {
  const callId = newId('call');
  const now = Date.now();
  const opts = named ? { record: 'now' as const, once: { key: `admission:${callId}`, at: now } } : undefined;
  return admitCall(
    {
      account: accountDb(accounts, teamId, opts, RETRIES.client),
      model: await requireEntry(env.DB, 'mock'),
      d1: env.DB,
    },
    {
      caller: new Caller(await hashKey(key)),
      alias: 'mock',
      params: { messages: user('hi'), max_tokens: 50 },
      now,
      callId,
      newJob: { id: newId('job'), teamId, jobType: 'retry', userId: null, metadata: null },
    },
  ).catch((err: unknown) => err as ApiError);
}

/** What an account holds of a team's admissions: its books, its jobs, slots and requests counted. */
async function admissions(teamId: string) {
  const { results } = await inAccount(
    teamId,
    `SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM active_streams) AS slots,
      (SELECT coalesce(sum(requests), 0) FROM rate_windows WHERE scope = ?) AS requests`,
    `team:${teamId}`,
  );
  return { ...(await accountBooks(teamId)), ...(results[0] as object) };
}

const refusedWith = (err: unknown) => {
  expect(err).toBeInstanceOf(ApiError);
  const e = err as ApiError;
  return { status: e.status, code: e.toJSON().error.code, headers: e.headers };
};

describe("a call's admission through the runtime's transient failures, while its client waits", () => {
  it('an admission whose answer was lost is sent again and answers what the account decided: credits held once', async () => {
    // A limit, so that the account counts the team's requests.
    const once = await setupTeam(100, { rpm_limit: 1000 });
    const lost = await setupTeam(100, { rpm_limit: 1000 });
    const admitted = await admit(env.ACCOUNTS, once.teamId, once.key);
    const flaky = flakyAccounts(1, 'retryable', 'lost');
    const again = await admit(flaky.accounts, lost.teamId, lost.key);
    expect(flaky.state.tries).toBe(2);
    expect(again).not.toBeInstanceOf(Error);
    expect(again).toMatchObject({ maxTokens: (admitted as Admitted).maxTokens, team: { id: lost.teamId } });
    const held = await admissions(once.teamId);
    expect(held).toMatchObject({ jobs: 1, slots: 1, requests: 1 });
    expect(held.held).toBeGreaterThan(0);
    expect(await admissions(lost.teamId)).toEqual(held);
  });

  it('a refused admission whose answer was lost is refused again for its reason, nothing held', async () => {
    const { teamId, key } = await setupTeam(0, { rpm_limit: 1000 });
    const flaky = flakyAccounts(1, 'retryable', 'lost');
    expect(refusedWith(await admit(flaky.accounts, teamId, key))).toMatchObject({
      status: 402,
      code: 'insufficient_credits',
    });
    // The first run, its replay, and the read-only batch that finds the refusal's reason.
    expect(flaky.state.tries).toBe(3);
    expect(await admissions(teamId)).toEqual({
      balance: 0,
      held: 0,
      ledgerSum: 0,
      activeHolds: 0,
      jobs: 0,
      slots: 0,
      requests: 1,
    });
  });

  it('an account that stays unreachable: 503 account_unavailable with Retry-After after four tries, nothing held', async () => {
    const { teamId, key } = await setupTeam(100);
    const flaky = flakyAccounts(10, 'retryable');
    expect(refusedWith(await admit(flaky.accounts, teamId, key))).toEqual({
      status: 503,
      code: 'account_unavailable',
      headers: { 'retry-after': '1' },
    });
    expect(flaky.state.tries).toBe(1 + RETRIES.client.waits.length);
    expect(await accountBooks(teamId)).toEqual({ balance: 100, held: 0, ledgerSum: 100, activeHolds: 0 });
  });

  it('a flooded account is not tried again while the client waits: 503 at once', async () => {
    const { teamId, key } = await setupTeam(100);
    const flaky = flakyAccounts(1, 'overloaded');
    expect(refusedWith(await admit(flaky.accounts, teamId, key)).status).toBe(503);
    expect(flaky.state.tries).toBe(1);
  });

  it('a batch without a name is not sent again: 503, for its caller to send again', async () => {
    const { teamId, key } = await setupTeam(100);
    const flaky = flakyAccounts(1, 'retryable');
    expect(refusedWith(await admit(flaky.accounts, teamId, key, false)).status).toBe(503);
    expect(flaky.state.tries).toBe(1);
    expect(await accountBooks(teamId)).toEqual({ balance: 100, held: 0, ledgerSum: 100, activeHolds: 0 });
  });
});

/**
 * The call of a create-and-call job once D1 has its row, and the books of its team (100 credits,
 * 10 tokens a credit) once that call is charged.
 */
async function chargedCall(jobId: string) {
  const [row] = await eventually(async () => {
    const rows = await callRows(jobId);
    return rows.length ? rows : null;
  });
  const { id, status, prompt_tokens, completion_tokens } = row as {
    id: string;
    status: string;
    prompt_tokens: number;
    completion_tokens: number;
  };
  const tokens = prompt_tokens + completion_tokens;
  const charge = Math.max(1, Math.ceil(tokens / 10));
  return { id, status, tokens, settled: { balance: 100 - charge, held: 0, ledgerSum: 100 - charge, activeHolds: 0 } };
}

describe('through the routes', () => {
  it('a streamed call whose admission lost its answer streams all the same, charged once', async () => {
    const { teamId, key } = await setupTeam(100, {
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
      rpm_limit: 1000,
    });
    await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (instance: Account) => {
      instance.loseAnswers = 1;
    });
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'lost', model: 'mock', messages: user('hi') },
      key,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data: [DONE]');
    const { settled } = await chargedCall(res.headers.get('x-job-id')!);
    expect(
      await eventually(async () => ((await accountBooks(teamId)).held === 0 ? accountBooks(teamId) : null)),
    ).toEqual(settled);
    expect(await admissions(teamId)).toMatchObject({ jobs: 1, slots: 0, requests: 1 });
  });

  it('a streamed call whose books ran and lost their answer twice is charged once, its row in D1', async () => {
    const { teamId, key } = await setupTeam(100, {
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
      tpm_limit: 100_000,
    });
    const model = await fakeModel('slow-first');
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'lost', model, messages: user('hi') },
      key,
    );
    expect(res.status).toBe(200);
    // Admitted (the 200 says so); the answer's first token is 350 ms away, its books after it.
    const account = accountStub(env.ACCOUNTS, teamId);
    await runInDurableObject(account, (instance: Account) => {
      instance.loseAnswers = 2;
    });
    expect(await res.text()).toContain('data: [DONE]');

    const call = await chargedCall(res.headers.get('x-job-id')!);
    expect(call.status).toBe('success');
    // The row landed with the first try; both answers lost means the Worker tried twice more, the
    // last after a wait of at most 300 ms (accounts/account/db.ts): give it that and more.
    await eventually(async () => (await runInDurableObject(account, (a: Account) => a.loseAnswers)) === 0 || null);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const { settled } = call;
    expect(await accountBooks(teamId)).toEqual(settled);
    expect((await recorded(teamId, call.id)).tokens).toBe(call.tokens);
    expect(
      await eventually(async () => {
        const b = await books(teamId);
        return b.balance === settled.balance ? b : null;
      }),
    ).toEqual(settled);
  });
});
