import { env, runInDurableObject } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountStub } from '../../src/accounts/account/db';
import type { Account } from '../../src/accounts/account/object';
import { sweepStale } from '../../src/calls/sweep';
import { expireStaleJobs } from '../../src/jobs/expiry';
import {
  accountBooks,
  api,
  books,
  eventually,
  fakeModel,
  inAccount as inAccountSql,
  post,
  setupTeam,
  user,
} from '../support/api';

/**
 * The books' equations after any mix of work: for every team, balance = ledger and held = active
 * holds, in its account and in D1 once the copies have landed, and the two agree. A run replays a
 * random workload (calls that succeed, fail upstream before or during the stream, lose their
 * client, stall; jobs completed, failed or left to expire; an account whose next answers are lost
 * after it ran their batches), a few operations at a time, on three teams (one per budget mode)
 * with two keys each.
 */
type Op =
  | { kind: 'call'; team: number; key: number; model: 'ok' | 'refused' | 'drop' | 'stall'; stream: boolean }
  | { kind: 'disconnect'; team: number; key: number }
  | { kind: 'job'; team: number; key: number; calls: number; end: 'completed' | 'failed' | 'open' }
  | { kind: 'expire' }
  | { kind: 'lose'; team: number; answers: number };

const team = fc.integer({ min: 0, max: 2 });
const key = fc.integer({ min: 0, max: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      team,
      key,
      model: fc.constantFrom('ok' as const, 'ok' as const, 'refused' as const, 'drop' as const, 'stall' as const),
      stream: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('disconnect' as const), team, key }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('job' as const),
      team,
      key,
      calls: fc.integer({ min: 0, max: 2 }),
      end: fc.constantFrom('completed' as const, 'failed' as const, 'open' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'expire' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('lose' as const), team, answers: fc.integer({ min: 1, max: 2 }) }),
  },
);
/** Operations run together, so their batches interleave in the accounts. */
const rounds = fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 8 });

describe('the books balance after any workload', () => {
  it('balance = ledger and held = active holds, in each account and in D1, which agree', async () => {
    const models = {
      ok: await fakeModel('answer'),
      refused: await fakeModel('status-500'),
      drop: await fakeModel('drop'),
      stall: await fakeModel('stall'),
      slow: await fakeModel('slow'),
    };
    let expiredAt = Date.now();

    await fc.assert(
      fc.asyncProperty(rounds, async (plan) => {
        const teams = [
          await setupTeam(5, { budget_mode: 'job_based' }),
          await setupTeam(20, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 }),
          await setupTeam(15, { budget_mode: 'consumption_usd' }),
        ];
        const keys = await Promise.all(
          teams.map(async (t) => {
            const res = await api('POST', `/admin/teams/${t.teamId}/keys`, { admin: true, body: { name: 'second' } });
            return [t.key, ((await res.json()) as { key: string }).key];
          }),
        );
        const run = async (o: Op) => {
          if (o.kind === 'expire') {
            // As the cron would, long after these jobs were opened.
            expiredAt += 3 * 3600_000;
            const deps = { d1: env.DB, accounts: env.ACCOUNTS };
            await expireStaleJobs(deps, { now: expiredAt, ttlSeconds: 3600 });
            await sweepStale(deps, { now: expiredAt, ttlSeconds: 3600 });
            return;
          }
          const { teamId } = teams[o.team]!;
          if (o.kind === 'lose') {
            // Whichever batches come next, admissions and books alike: each is sent again. At most
            // two in a row, fewer than an admission's tries: one that loses every answer is refused
            // with 503, and what its first run held waits for the sweep.
            await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (a: Account) => {
              a.loseAnswers = Math.max(a.loseAnswers, o.answers);
            });
            return;
          }
          const k = keys[o.team]![o.key]!;
          const body = { team_id: teamId, job_type: 'fuzz', messages: user('hello') };
          if (o.kind === 'call') {
            const path = o.stream ? '/api/jobs/create-and-call-stream' : '/api/jobs/create-and-call';
            const res = await post(path, { ...body, model: models[o.model] }, k);
            await res.text().catch(() => '');
            expect(res.status).not.toBe(500);
          } else if (o.kind === 'disconnect') {
            const abort = new AbortController();
            const res = await api('POST', '/api/jobs/create-and-call-stream', {
              key: k,
              body: { ...body, model: models.slow },
              signal: abort.signal,
            });
            if (res.body) {
              const reader = res.body.getReader();
              await reader.read().catch(() => null);
              abort.abort();
              await reader.cancel().catch(() => {});
            }
          } else {
            const created = await post('/api/jobs/create', { team_id: teamId, job_type: 'fuzz' }, k);
            if (created.status !== 200) return;
            const { job_id } = (await created.json()) as { job_id: string };
            for (let i = 0; i < o.calls; i++)
              await (await post(`/api/jobs/${job_id}/llm-call`, { model: models.ok, messages: user('x') }, k)).text();
            if (o.end !== 'open') await (await post(`/api/jobs/${job_id}/complete`, { status: o.end }, k)).text();
          }
        };
        for (const round of plan) await Promise.all(round.map(run));
        // Answers still set to be lost would be the checks' own.
        for (const { teamId } of teams)
          await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (a: Account) => {
            a.loseAnswers = 0;
          });

        for (const { teamId } of teams) {
          // The last books are written under waitUntil, and copied to D1 after that.
          const check = await eventually(async () => {
            const res = await api('POST', `/admin/reconciliation?team_id=${teamId}`, { admin: true });
            const result = (await res.json()) as { differences: { pending: number; differences: string[] }[] };
            return result.differences[0]!.pending === 0 ? result.differences[0]! : null;
          }, 5000);
          expect(check.differences).toEqual([]);
          const inAccount = await accountBooks(teamId);
          const inD1 = await books(teamId);
          expect(inAccount.balance).toBe(inAccount.ledgerSum);
          expect(inAccount.held).toBe(inAccount.activeHolds);
          expect(inD1).toEqual(inAccount);
          expect(inD1.held).toBeGreaterThanOrEqual(0);
          expect(inD1.balance).toBeGreaterThanOrEqual(inD1.held);
          // Every call has ended, so none holds credits or a slot (books sent again may still be on their way).
          const open = `SELECT (SELECT count(*) FROM credit_holds WHERE call_id IS NOT NULL AND status = 'active')
            + (SELECT count(*) FROM active_streams) AS n`;
          const callsOpen = async () => ((await inAccountSql(teamId, open)).results[0] as { n: number }).n;
          await eventually(async () => (await callsOpen()) === 0 || null, 5000).catch(() => {});
          expect(await callsOpen()).toBe(0);
        }
      }),
      // A failure is reported as found: shrinking a workload this slow would outlast the test.
      { numRuns: 4, endOnFailure: true },
    );
  }, 60_000);
});
