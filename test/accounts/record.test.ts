import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { accountStub } from '../../src/accounts/account/db';
import type { Account } from '../../src/accounts/account/object';
import { RECORD_BATCH_ROWS, RECORD_SQL, confirmCopy, pendingCopy } from '../../src/accounts/account/record';
import { ACCOUNT_DDL, RECORDED } from '../../src/accounts/account/schema';
import {
  ADMIN_KEY,
  accountBooks,
  api,
  books,
  callRows,
  eventually,
  inAccount,
  post,
  setupTeam,
  user,
} from '../support/api';

/**
 * D1 as an account sees it when D1 is overloaded or the network drops: its first `fails` batches
 * are refused (nothing of them written), or, with `lost`, written and then reported as failed
 * (the answer lost on the way back).
 */
function flakyD1(fails: number, mode: 'refused' | 'lost' = 'refused') {
  const state = { tries: 0 };
  const d1 = {
    prepare: (q: string) => env.DB.prepare(q),
    batch: async (statements: D1PreparedStatement[]) => {
      state.tries++;
      if (state.tries > fails) return env.DB.batch(statements);
      if (mode === 'lost') await env.DB.batch(statements);
      throw new Error('D1_ERROR: D1 is overloaded. Requests queued for too long.');
    },
  } as unknown as D1Database;
  return { d1, state };
}

async function recordTo(teamId: string, d1: D1Database) {
  await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (instance: Account) => {
    instance.recordTo = d1;
  });
}

/** Runs the account's alarm until `done` holds (each run retries the copy at once), at most 10 times. */
async function alarmsUntil(teamId: string, done: () => Promise<boolean>) {
  for (let i = 0; i < 10 && !(await done()); i++) await runDurableObjectAlarm(accountStub(env.ACCOUNTS, teamId));
  expect(await done()).toBe(true);
}

const d1Rows = async (sql: string, ...params: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...params)
      .all()
  ).results as Record<string, unknown>[];

describe('the record reaches D1 whatever D1 does', () => {
  it('a call whose D1 writes fail the first three times is settled in its account at once, and in D1 once they land', async () => {
    const { teamId, key } = await setupTeam(100, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 });
    const flaky = flakyD1(3);
    await recordTo(teamId, flaky.d1);

    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'flaky', model: 'mock', messages: user('hi') },
      key,
    );
    expect(res.status).toBe(200);
    const job = (await res.json()) as { job_id: string };

    // The account has the charge...
    const charged = await eventually(async () => {
      const b = await accountBooks(teamId);
      return b.balance < 100 && b.held === 0 ? b : null;
    });
    expect(charged.balance).toBe(charged.ledgerSum);
    // ...D1 has nothing of the call yet, and the account has tried.
    expect(await callRows(job.job_id)).toEqual([]);
    expect(flaky.state.tries).toBeGreaterThanOrEqual(1);

    await alarmsUntil(teamId, async () => (await callRows(job.job_id)).length === 1);
    expect(flaky.state.tries).toBeGreaterThan(3);
    const usage = await d1Rows("SELECT amount FROM credit_ledger WHERE team_id = ? AND kind = 'usage'", teamId);
    expect(usage).toEqual([{ amount: charged.balance - 100 }]);
    expect(await books(teamId)).toEqual({
      balance: charged.balance,
      held: 0,
      ledgerSum: charged.balance,
      activeHolds: 0,
    });
    const [d1Job] = await d1Rows('SELECT status, credits_charged FROM jobs WHERE id = ?', job.job_id);
    expect(d1Job).toEqual({ status: 'completed', credits_charged: 100 - charged.balance });
  });

  it('a copy D1 took whose answer was lost is sent again and changes nothing more', async () => {
    const { teamId, key } = await setupTeam(10);
    const flaky = flakyD1(2, 'lost');
    await recordTo(teamId, flaky.d1);

    const created = await post('/api/jobs/create', { team_id: teamId, job_type: 'lost' }, key);
    expect(created.status).toBe(200);
    const { job_id } = (await created.json()) as { job_id: string };
    const done = await post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key);
    expect(done.status).toBe(200);

    await alarmsUntil(teamId, async () => flaky.state.tries > 2);
    expect(
      await d1Rows('SELECT kind, amount FROM credit_ledger WHERE team_id = ? ORDER BY created_at', teamId),
    ).toEqual([
      { kind: 'grant', amount: 10 },
      { kind: 'charge', amount: -1 },
    ]);
    expect(await books(teamId)).toEqual({ balance: 9, held: 0, ledgerSum: 9, activeHolds: 0 });
    expect(await accountBooks(teamId)).toEqual({ balance: 9, held: 0, ledgerSum: 9, activeHolds: 0 });
  });
});

describe('a record longer than one copy', () => {
  it('lands whole once D1 is back, parents before their children', async () => {
    const { teamId, key } = await setupTeam(1000, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 });
    // D1 refuses everything while the calls run: the outbox grows past one copy's worth.
    const flaky = flakyD1(1_000_000);
    await recordTo(teamId, flaky.d1);
    const calls = 110;
    for (let i = 0; i < calls; i++) {
      const res = await post(
        '/api/jobs/create-and-call-stream',
        { team_id: teamId, job_type: 'long', model: 'mock', messages: user('hi') },
        key,
      );
      await res.text();
    }
    const pending = await inAccount(teamId, 'SELECT count(*) AS n FROM outbox');
    expect((pending.results[0] as { n: number }).n).toBeGreaterThan(RECORD_BATCH_ROWS);

    await recordTo(teamId, env.DB);
    const landed = async () =>
      (
        await d1Rows(
          "SELECT count(*) AS n FROM llm_calls WHERE team_id = ? AND job_id IN (SELECT id FROM jobs WHERE job_type = 'long')",
          teamId,
        )
      )[0]!.n === calls;
    await alarmsUntil(teamId, landed);
    const inD1 = await books(teamId);
    expect(inD1).toEqual(await accountBooks(teamId));
    expect(inD1.balance).toBe(inD1.ledgerSum);
  }, 30_000);
});

describe('reconciliation', () => {
  const reconcile = async (teamId?: string) => {
    const res = await api('POST', `/admin/reconciliation${teamId ? `?team_id=${teamId}` : ''}`, { admin: true });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      checked: number;
      differing: number;
      differences: { team_id: string; differences: string[]; pending: number }[];
    };
  };

  it('finds every team in step once the copies have landed, and names a ledger row D1 lost', async () => {
    const { teamId, key } = await setupTeam(20);
    const job = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'r', model: 'mock', messages: user('hi') },
      key,
    );
    expect(job.status).toBe(200);
    await eventually(async () => ((await books(teamId)).held === 0 ? true : null));

    const all = await reconcile();
    expect(all.checked).toBeGreaterThanOrEqual(1);
    expect(all.differences.map((d) => d.team_id)).not.toContain(teamId);

    // D1 loses the charge (an operator's stray DELETE, a restore from an older backup).
    const [charge] = await d1Rows("SELECT id FROM credit_ledger WHERE team_id = ? AND kind = 'charge'", teamId);
    await env.DB.prepare('DELETE FROM credit_ledger WHERE id = ?').bind(charge!.id).run();
    const one = await reconcile(teamId);
    expect(one.differing).toBe(1);
    expect(one.differences[0]!.differences).toEqual([
      'D1 balance and its ledger: 19 and 20',
      `ledger row ${charge!.id} (-1) is not in D1`,
    ]);
    const listed = await api('GET', '/admin/reconciliation', { admin: true });
    const page = (await listed.json()) as { data: { team_id: string; in_step: boolean }[] };
    expect(page.data).toContainEqual(expect.objectContaining({ team_id: teamId, in_step: false }));
  });

  it('checks a team whose copy is on its way to a slow D1 as soon as the copy lands', async () => {
    const { teamId } = await setupTeam(20);
    // D1 answers the next copy after 800 ms, as an overloaded D1 would.
    let slowed = false;
    const slow = {
      prepare: (q: string) => env.DB.prepare(q),
      batch: async (statements: D1PreparedStatement[]) => {
        if (!slowed) {
          slowed = true;
          await new Promise((r) => setTimeout(r, 800));
        }
        return env.DB.batch(statements);
      },
    } as unknown as D1Database;
    await recordTo(teamId, slow);
    const patched = api('PATCH', `/admin/teams/${teamId}`, { admin: true, body: { low_credit_threshold: 3 } });
    await new Promise((r) => setTimeout(r, 200));
    expect(slowed).toBe(true);

    // Checked while that copy is in flight: the check waits for it, then compares (a check that
    // waited for it with the object closed to events waited for good, until the object was reset).
    const check = await reconcile(teamId);
    expect(check.differing).toBe(0);
    expect(check.differences[0]!.pending).toBe(0);
    expect((await patched).status).toBe(200);
  });

  it('every admin route needs the admin key', async () => {
    expect((await api('GET', '/admin/reconciliation')).status).toBe(401);
    expect((await api('POST', '/admin/reconciliation', { headers: { 'x-admin-key': `${ADMIN_KEY}x` } })).status).toBe(
      401,
    );
  });
});

describe("the account's outbox", () => {
  it('names a row once however often it changes before a copy, and keeps a change made while a copy is under way', async () => {
    const { teamId } = await setupTeam(100);
    const out = await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (_instance, state) => {
      const sql = state.storage.sql;
      const entries = () =>
        sql.exec<{ tbl: string; v: number }>("SELECT tbl, v FROM outbox WHERE tbl = 'teams'").toArray();
      const touch = (n: number) => {
        const cursor = sql.exec('UPDATE teams SET low_credit_threshold = ? WHERE id = ?', n, teamId);
        cursor.toArray();
        return cursor.rowsWritten;
      };
      // Drain what setting the team up left, as a copy that landed would.
      for (let copy = pendingCopy(sql); copy; copy = pendingCopy(sql)) confirmCopy(sql, copy);
      const first = touch(1); // the row, and its outbox entry
      const again = touch(2); // the row alone: it already waits for this copy
      const waiting = entries();
      const copy = pendingCopy(sql)!;
      touch(3); // while the copy is on its way to D1
      confirmCopy(sql, copy);
      const left = entries();
      const next = pendingCopy(sql);
      return { first, again, waiting, copied: copy.entries, left, next: next?.statements.length ?? 0 };
    });
    expect(out.first).toBe(2);
    expect(out.again).toBe(1);
    expect(out.waiting).toHaveLength(1);
    expect(out.copied).toEqual([['teams', teamId, out.waiting[0]!.v]]);
    // The third change waits for the next copy, which takes it.
    expect(out.left).toHaveLength(1);
    expect(out.left[0]!.v).toBeGreaterThan(out.waiting[0]!.v);
    expect(out.next).toBe(1);
  });

  it('counts its copies from above any entry an earlier layout left (one counted its changes)', async () => {
    const { teamId } = await setupTeam(100);
    const next = await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO outbox (tbl, row_id, v) VALUES ('teams', ?, 50) ON CONFLICT DO UPDATE SET v = 50", teamId);
      sql.exec("DELETE FROM meta WHERE name = 'copy'");
      sql.exec(ACCOUNT_DDL); // as the object runs it when it starts
      return sql.exec<{ value: number }>("SELECT value FROM meta WHERE name = 'copy'").one().value;
    });
    expect(next).toBe(51);
  });

  it("finds its entries and rows by key: no statement of the record scans the outbox or a team's tables", async () => {
    const { teamId } = await setupTeam(100);
    const statements: [string, ...SqlStorageValue[]][] = [
      [RECORD_SQL.pending, 'jobs', 200],
      ...RECORDED.map((t): [string, string] => [RECORD_SQL.rows(t), '["a","b"]']),
      [RECORD_SQL.confirm, '[["jobs","a",1],["teams","b",2]]'],
      [RECORD_SQL.dropCalls, '["a","b"]'],
    ];
    const plans = await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (_instance, state) =>
      statements.map(([text, ...params]) =>
        state.storage.sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, ...params)
          .toArray()
          .map((r) => r.detail),
      ),
    );
    const scans = plans.flat().filter((d) => /^SCAN (?!e\b|json_each)/.test(d));
    expect(scans).toEqual([]);
    expect(plans.flat().some((d) => d.startsWith('SEARCH outbox USING PRIMARY KEY'))).toBe(true);
  });
});
