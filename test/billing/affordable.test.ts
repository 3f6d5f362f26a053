/**
 * A consumption-mode team can make every call it can afford: a call without `max_tokens` holds
 * what the team can afford (up to the default) and asks the upstream for no more; a call whose
 * own `max_tokens` cannot be afforded is told how many tokens can be.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_TOKENS } from '../../src/billing/budget';
import { roughPromptTokens } from '../../src/billing/tokens';
import {
  books,
  callRows,
  eventually,
  fakeModel,
  ledger,
  post,
  readSSE,
  setTeam,
  setupTeam,
  upstreamRequests,
  user,
} from '../support/api';

const call = (teamId: string, key: string, body: Record<string, unknown>) =>
  post('/api/jobs/create-and-call', { team_id: teamId, job_type: 'x', ...body }, key);

const settledBooks = (teamId: string) =>
  eventually(async () => {
    const b = await books(teamId);
    return b.held === 0 ? b : null;
  });

describe('consumption_tokens: a call without max_tokens', () => {
  it('a team with 100 credits at 10 tokens a credit gets its answer, capped at what it can afford', async () => {
    const { teamId, key } = await setupTeam(100);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 });
    const marker = crypto.randomUUID();
    const messages = user(`${marker} tell me something`);
    // A hold for the default output (4,096 tokens) would not fit in 100 credits.
    const res = await call(teamId, key, { model: await fakeModel('answer'), messages });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    // The upstream was asked for exactly what 100 credits cover: 1,000 tokens less the prompt's estimate.
    const [sent] = await upstreamRequests(marker);
    expect(sent!.body.max_tokens).toBe(100 * 10 - roughPromptTokens({ messages }));
    // Charged for what the answer used (11 + 3 tokens): 2 credits.
    expect(body.costs).toMatchObject({ credits_charged: 2, credits_remaining: 98 });
    expect(await settledBooks(teamId)).toEqual({ balance: 98, held: 0, ledgerSum: 98, activeHolds: 0 });
  });

  it('the mock model’s 31-token answer, on a team that could not hold the default', async () => {
    const { teamId, key } = await setupTeam(100);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 });
    const words = 'one two three four five six seven eight nine ten eleven twelve';
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: 'mock', messages: user(words) },
      key,
    );
    expect(res.status).toBe(200);
    const { data } = await readSSE(res);
    expect(data.at(-1)).toBe('[DONE]');
    const jobId = res.headers.get('x-job-id')!;
    const [row] = await eventually(async () => ((await callRows(jobId)).length ? callRows(jobId) : null));
    expect(row).toMatchObject({ status: 'success', finish_reason: 'stop', completion_tokens: 31 });
    const credits = Math.ceil((Number(row!.prompt_tokens) + 31) / 10);
    expect(await settledBooks(teamId)).toEqual({
      balance: 100 - credits,
      held: 0,
      ledgerSum: 100 - credits,
      activeHolds: 0,
    });
  });

  it('a rich team is capped at the default, which the upstream is sent', async () => {
    const { teamId, key } = await setupTeam(1_000_000);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 });
    const marker = crypto.randomUUID();
    expect((await call(teamId, key, { model: await fakeModel('answer'), messages: user(marker) })).status).toBe(200);
    expect((await upstreamRequests(marker))[0]!.body.max_tokens).toBe(DEFAULT_OUTPUT_TOKENS);
  });
});

describe('consumption_usd: a call without max_tokens', () => {
  it('holds what the team can afford at the model’s prices, and pays what it used', async () => {
    const { teamId, key } = await setupTeam(10);
    // 1 credit = $0.001; output at $2,000/M tokens: about 5 tokens a credit.
    await setTeam(teamId, { budget_mode: 'consumption_usd', credits_per_dollar: 1000 });
    const model = await fakeModel('answer', { input: 100, output: 2000 });
    const marker = crypto.randomUUID();
    const messages = user(marker);
    const res = await call(teamId, key, { model, messages });
    expect(res.status).toBe(200);
    const p = roughPromptTokens({ messages });
    const maxTokens = (await upstreamRequests(marker))[0]!.body.max_tokens as number;
    // The most whose hold fits in 10 credits: ceil((p x 100 + n x 2000) / 1e6 x 1000) <= 10.
    const hold = (n: number) => Math.ceil(((p * 100 + n * 2000) / 1e6) * 1000 - 1e-9);
    expect(hold(maxTokens)).toBeLessThanOrEqual(10);
    expect(hold(maxTokens + 1)).toBeGreaterThan(10);
    // 11 prompt tokens at $100/M and 3 completion tokens at $2,000/M = $0.0071 -> 8 credits.
    expect(((await res.json()) as any).costs.credits_charged).toBe(8);
    expect(await settledBooks(teamId)).toEqual({ balance: 2, held: 0, ledgerSum: 2, activeHolds: 0 });
  });
});

describe("a caller's own max_tokens that the team cannot afford", () => {
  it.each([
    ['consumption_tokens', { tokens_per_credit: 10 }, { input: 1, output: 2 }],
    ['consumption_usd', { credits_per_dollar: 1000 }, { input: 100, output: 2000 }],
  ] as const)('%s: 402 saying how many tokens it can afford; that many is admitted', async (mode, rates, prices) => {
    const { teamId, key } = await setupTeam(20);
    await setTeam(teamId, { budget_mode: mode, ...rates });
    const model = await fakeModel('answer', prices);
    const messages = user('hello there');
    const refused = await call(teamId, key, { model, messages, max_tokens: 50_000 });
    expect(refused.status).toBe(402);
    const error = ((await refused.json()) as any).error;
    expect(error).toMatchObject({ type: 'insufficient_credits', code: 'insufficient_credits' });
    const afford = Number(/but can only afford (\d+)/.exec(error.message)?.[1]);
    expect(error.message).toContain('You requested up to 50000 tokens');
    expect(afford).toBeGreaterThan(0);
    expect(await books(teamId)).toMatchObject({ balance: 20, held: 0 });
    expect(((await ledger(teamId)) as unknown[]).length).toBe(1); // the grant only

    expect((await call(teamId, key, { model, messages, max_tokens: afford + 1 })).status).toBe(402);
    const admitted = await call(teamId, key, { model, messages, max_tokens: afford });
    expect(admitted.status).toBe(200);
    const after = await settledBooks(teamId);
    expect(after.balance).toBe(after.ledgerSum);
  });
});

describe('job_based teams', () => {
  it('send no max_tokens the caller did not set', async () => {
    const { teamId, key } = await setupTeam(5);
    const marker = crypto.randomUUID();
    expect((await call(teamId, key, { model: await fakeModel('answer'), messages: user(marker) })).status).toBe(200);
    expect((await upstreamRequests(marker))[0]!.body).not.toHaveProperty('max_tokens');
  });
});
