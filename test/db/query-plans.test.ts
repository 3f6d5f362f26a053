import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { accountStub } from '../../src/accounts/account/db';
import worker from '../../src/index';
import { ADMIN_KEY, fakeModel, setupTeam, user } from '../support/api';

/**
 * D1 bills by rows read, and these tables grow with every call a team makes. A statement that
 * scans one of them costs more with each call served, for ever: on the hot path that is both
 * latency and money. Every statement the API sends is recorded here and its query plan checked.
 */
const GROWING = ['jobs', 'llm_calls', 'credit_holds', 'credit_ledger', 'active_streams', 'rate_windows', 'api_keys'];

/** The worker's D1 binding, wrapped to keep the SQL text of every statement prepared through it. */
function recording(d1: D1Database) {
  const seen = new Set<string>();
  const db = new Proxy(d1, {
    get(target, prop) {
      if (prop === 'prepare')
        return (query: string) => {
          seen.add(query);
          return target.prepare(query);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db, seen };
}

/**
 * The teams' accounts, wrapped to keep the SQL text of every statement sent to one. An account's
 * tables hold one team's rows, but they grow with that team's calls just the same.
 */
function recordingAccounts(accounts: DurableObjectNamespace) {
  const seen = new Set<string>();
  const ns = new Proxy(accounts, {
    get(target, prop) {
      if (prop === 'get')
        return (id: DurableObjectId) => {
          const stub = target.get(id) as unknown as {
            run: (teamId: string, s: { text: string }[], o: unknown) => unknown;
          };
          return {
            run: (teamId: string, statements: { text: string }[], opts: unknown) => {
              for (const st of statements) seen.add(st.text);
              return stub.run(teamId, statements, opts);
            },
          };
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ns, seen };
}

/** Parameters do not change a plan; each gets a null. Numbered ones (`?3`) count up to the highest number, anonymous ones one each. */
function nulls(query: string) {
  const numbers = Array.from(query.matchAll(/\?(\d+)/g), (m) => Number(m[1]));
  const count = numbers.length ? Math.max(...numbers) : query.split('?').length - 1;
  return Array.from({ length: count }, () => null);
}

/** Plain table scans of growing tables in a plan's lines (an index search is fine). */
const scansIn = (plan: string[]) =>
  plan.filter((d) => GROWING.some((t) => new RegExp(`^SCAN ${t}\\b(?! USING (COVERING )?INDEX)`).test(d)));

/** Scans in `query`'s plan in D1. */
async function scans(query: string): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`)
    .bind(...nulls(query))
    .all<{ detail: string }>();
  return scansIn(results.map((r) => r.detail));
}

/** Scans in `query`'s plan in a team's account. */
async function accountScans(teamId: string, query: string): Promise<string[]> {
  return runInDurableObject(accountStub(env.ACCOUNTS, teamId), (_, state) =>
    scansIn(
      state.storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, ...nulls(query))
        .toArray()
        .map((r) => r.detail),
    ),
  );
}

describe('query plans', () => {
  it('no statement of the API scans a table that grows with traffic', async () => {
    const { db, seen } = recording(env.DB);
    const { ns, seen: sentToAccounts } = recordingAccounts(env.ACCOUNTS);
    const recorded = { ...env, DB: db, ACCOUNTS: ns };
    let someTeam = '';
    const send = async (method: string, path: string, key: string | null, body?: unknown) => {
      const ctx = createExecutionContext();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key) headers.authorization = `Bearer ${key}`;
      else headers['x-admin-key'] = ADMIN_KEY;
      const res = await worker.fetch(
        new Request(`http://sluice.test${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
        recorded,
        ctx,
      );
      const text = await res.text();
      await waitOnExecutionContext(ctx);
      return { status: res.status, json: () => JSON.parse(text) };
    };

    const model = await fakeModel('answer');
    const call = { model, messages: user('hello') };
    // Both kinds of hold (per job and per call); limits set, so the rate-window and concurrency
    // statements are sent too.
    for (const budget_mode of ['job_based', 'consumption_tokens']) {
      const { teamId, key } = await setupTeam(1000, { budget_mode, rpm_limit: 1000, tpm_limit: 1_000_000 });
      someTeam = teamId;
      await send('PATCH', `/admin/teams/${teamId}`, null, { max_concurrent_streams: 10 });
      const created = await send('POST', '/api/jobs/create', key, { team_id: teamId, job_type: 'q' });
      expect(created.status).toBe(200);
      const jobId = created.json().job_id as string;
      for (const [method, path, body] of [
        ['POST', `/api/jobs/${jobId}/llm-call-stream`, call],
        ['POST', `/api/jobs/${jobId}/llm-call`, call],
        ['POST', `/api/jobs/${jobId}/complete`, { status: 'completed' }],
        ['POST', '/api/jobs/create-and-call-stream', { team_id: teamId, job_type: 'q', ...call }],
        ['POST', '/api/jobs/create-and-call', { team_id: teamId, job_type: 'q', ...call }],
        ['POST', '/v1/chat/completions', { ...call, stream: true }],
        ['POST', '/v1/chat/completions', call],
        ['GET', `/api/jobs/${jobId}`],
        ['GET', `/api/jobs/${jobId}/costs`],
        ['GET', `/api/teams/${teamId}/credits`],
        ['GET', `/api/teams/${teamId}/usage`],
        ['GET', `/api/teams/${teamId}/jobs`],
        ['GET', '/v1/models'],
      ] as const) {
        const res = await send(method, path, key, body);
        expect(res.status, `${budget_mode}: ${method} ${path}`).toBeLessThan(300);
      }
      // A refused call: the statements that explain a refusal run too.
      await send('PATCH', `/admin/teams/${teamId}`, null, { rpm_limit: 1 });
      expect((await send('POST', '/v1/chat/completions', key, call)).status).toBe(429);
    }

    expect(seen.size).toBeGreaterThan(10);
    expect(sentToAccounts.size).toBeGreaterThan(20);
    const found: Record<string, string[]> = {};
    for (const query of seen) {
      const bad = await scans(query);
      if (bad.length) found[`D1: ${query.replace(/\s+/g, ' ').trim()}`] = bad;
    }
    for (const query of sentToAccounts) {
      const bad = await accountScans(someTeam, query);
      if (bad.length) found[`account: ${query.replace(/\s+/g, ' ').trim()}`] = bad;
    }
    expect(found).toEqual({});
  });
});
