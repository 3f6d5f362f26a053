/**
 * Thousands of generated bad bodies against every public endpoint: each must be a 4xx in the
 * error shape, and none may write a row or move a credit.
 */
import { env } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, books, setupTeam } from '../support/api';

let teamId = '';
let key = '';
let jobId = '';

beforeAll(async () => {
  ({ teamId, key } = await setupTeam(50));
  const res = await api('POST', '/api/jobs/create', { key, body: { team_id: teamId, job_type: 'fuzz' } });
  jobId = ((await res.json()) as { job_id: string }).job_id;
});

async function snapshot() {
  const q = (sql: string) =>
    env.DB.prepare(sql)
      .first<{ n: number }>()
      .then((r) => r!.n);
  return {
    jobs: await q('SELECT count(*) AS n FROM jobs'),
    calls: await q('SELECT count(*) AS n FROM llm_calls'),
    ledger: await q('SELECT count(*) AS n FROM credit_ledger'),
    holds: await q('SELECT count(*) AS n FROM credit_holds'),
    windows: await q('SELECT count(*) AS n FROM rate_windows'),
    slots: await q('SELECT count(*) AS n FROM active_streams'),
    books: await books(teamId),
  };
}

const anything = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.anything(), { maxKeys: 3 }),
);
const badRole = fc
  .string({ maxLength: 10 })
  .filter((r) => !['system', 'developer', 'user', 'assistant', 'tool'].includes(r));

/** A chat body with one field made wrong (or the body itself not an object, or not JSON). */
const badChatBody = fc.oneof(
  fc.record({
    messages: fc.oneof(
      fc.constant([]),
      anything.filter((v) => !Array.isArray(v)),
    ),
  }),
  fc.record({ messages: fc.array(fc.record({ role: badRole, content: fc.string() }), { minLength: 1, maxLength: 3 }) }),
  fc.record({
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    temperature: fc.oneof(
      fc.double({ min: 2.0001, noNaN: true }),
      fc.double({ max: -0.0001, noNaN: true }),
      fc.string(),
    ),
  }),
  fc.record({
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    max_tokens: fc.oneof(
      fc.integer({ min: 200_001 }),
      fc.integer({ max: 0 }),
      fc.double({ noInteger: true }),
      fc.string(),
    ),
  }),
  fc.record({
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    stop: fc.oneof(fc.integer(), fc.array(fc.integer(), { minLength: 1 })),
  }),
  fc.record({
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    top_p: fc.double({ min: 1.0001, noNaN: true }),
  }),
  fc.record({
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    tools: fc.oneof(fc.string(), fc.array(fc.record({ type: fc.string() }), { minLength: 1 })),
  }),
  fc.record({
    messages: fc.constant([{ role: 'user', content: 'hi' }]),
    model: fc.oneof(fc.integer(), fc.constant('')),
  }),
);

const nonObjectBody = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer()));

type Case = { method: string; path: () => string; body: fc.Arbitrary<unknown>; extra?: Record<string, unknown> };
const withTeam = (b: fc.Arbitrary<Record<string, unknown>>) =>
  b.map((v) => ({ team_id: teamId, job_type: 'fuzz', ...v }));

const cases: Record<string, Case> = {
  'POST /api/jobs/create': {
    method: 'POST',
    path: () => '/api/jobs/create',
    body: fc.oneof(
      nonObjectBody,
      fc.record({ team_id: fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)), job_type: fc.string() }),
      fc.record({ team_id: fc.constant('x'), job_type: fc.oneof(fc.constant(''), fc.integer()) }),
      fc.record({
        team_id: fc.constant('x'),
        job_type: fc.constant('x'),
        metadata: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer())),
      }),
    ),
  },
  'POST /api/jobs/{id}/llm-call-stream': {
    method: 'POST',
    path: () => `/api/jobs/${jobId}/llm-call-stream`,
    body: fc.oneof(nonObjectBody, badChatBody),
  },
  'POST /api/jobs/{id}/llm-call': {
    method: 'POST',
    path: () => `/api/jobs/${jobId}/llm-call`,
    body: fc.oneof(nonObjectBody, badChatBody),
  },
  'POST /api/jobs/{id}/complete': {
    method: 'POST',
    path: () => `/api/jobs/${jobId}/complete`,
    body: fc.oneof(
      nonObjectBody,
      fc.record({ status: fc.string().filter((s) => s !== 'completed' && s !== 'failed') }),
    ),
  },
  'POST /api/jobs/create-and-call-stream': {
    method: 'POST',
    path: () => '/api/jobs/create-and-call-stream',
    body: fc.oneof(nonObjectBody, withTeam(badChatBody)),
  },
  'POST /api/jobs/create-and-call': {
    method: 'POST',
    path: () => '/api/jobs/create-and-call',
    body: fc.oneof(nonObjectBody, withTeam(badChatBody)),
  },
  'PATCH /api/jobs/{id}/metadata': {
    method: 'PATCH',
    path: () => `/api/jobs/${jobId}/metadata`,
    body: fc.oneof(
      nonObjectBody,
      fc.record({ metadata: fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer()), fc.constant(null)) }),
      fc.record({ other: fc.anything() }),
    ),
  },
  'POST /v1/chat/completions': {
    method: 'POST',
    path: () => '/v1/chat/completions',
    body: fc.oneof(
      nonObjectBody,
      badChatBody.map((b) => ({ model: 'mock', ...b })),
      fc.record({
        model: fc.constant('mock'),
        messages: fc.constant([{ role: 'user', content: 'hi' }]),
        n: fc.integer({ min: 2, max: 10 }),
      }),
    ),
  },
};

describe('fuzzed bad bodies', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: 150 bad bodies, all 4xx in the error shape, nothing written`, async () => {
      const before = await snapshot();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(c.body, fc.boolean(), async (body, raw) => {
          runs++;
          // Half the time the bytes are not even JSON.
          const text = raw && typeof body === 'string' ? `{${body}` : JSON.stringify(body);
          const res = await api(c.method, c.path(), { key, body: text ?? 'undefined' });
          const json = (await res.json()) as {
            error?: { message: unknown; type: unknown; code: unknown; param: unknown };
          };
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(Object.keys(json.error ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
        }),
        { numRuns: 150, seed: 20261121 },
      );
      expect(runs).toBe(150);
      expect(await snapshot()).toEqual(before);
    });
  }
});
