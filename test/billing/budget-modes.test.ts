import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
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
  upstreamStreams,
  user,
  accountBooks,
} from '../support/api';

const settled = (jobId: string) =>
  eventually(async () => {
    const [call] = await callRows(jobId);
    const held = await env.DB.prepare("SELECT count(*) AS n FROM credit_holds WHERE job_id = ? AND status = 'active'")
      .bind(jobId)
      .first<{ n: number }>();
    return call && held!.n === 0 ? call : null;
  });

describe('consumption_tokens', () => {
  it('holds an estimate during the call, then charges ceil(total_tokens / tokens_per_credit)', async () => {
    const { teamId, key } = await setupTeam(100);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 5 });
    const model = await fakeModel('slow');
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model, messages: user('hello'), max_tokens: 40 },
      key,
    );
    // While streaming: the call's hold is ceil((prompt guess + max_tokens) / 5), in the team's
    // account (D1's copy follows it by a moment).
    const during = await accountBooks(teamId);
    expect(during.held).toBeGreaterThanOrEqual(Math.ceil(40 / 5));
    expect(during.held).toBe(during.activeHolds);
    await readSSE(res);
    const jobId = res.headers.get('x-job-id')!;
    const call = await settled(jobId);
    const tokens = Number(call.prompt_tokens) + Number(call.completion_tokens);
    const credits = Math.ceil(tokens / 5);
    expect(await books(teamId)).toEqual({ balance: 100 - credits, held: 0, ledgerSum: 100 - credits, activeHolds: 0 });
    const usage = (await ledger(teamId)).filter((r) => r.kind === 'usage');
    expect(usage).toEqual([{ kind: 'usage', amount: -credits, job_id: jobId, call_id: call.id, reason: 'call usage' }]);
    const job = await env.DB.prepare('SELECT status, credits_charged FROM jobs WHERE id = ?').bind(jobId).first();
    expect(job).toEqual({ status: 'completed', credits_charged: credits });
  });

  it('a client disconnect still pays for the tokens produced; the job is cancelled', async () => {
    const { teamId, key } = await setupTeam(5000);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 1 });
    const marker = crypto.randomUUID();
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: await fakeModel('slow'), messages: user(marker) },
      key,
    );
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (let i = 0; i < 100 && !text.includes(' t3'); i++) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    const jobId = res.headers.get('x-job-id')!;
    const call = await settled(jobId);
    expect(call).toMatchObject({ status: 'client_aborted', usage_source: 'estimated' });
    expect(Number(call.completion_tokens)).toBeGreaterThan(0);
    const credits = Number(call.prompt_tokens) + Number(call.completion_tokens);
    expect(await books(teamId)).toEqual({
      balance: 5000 - credits,
      held: 0,
      ledgerSum: 5000 - credits,
      activeHolds: 0,
    });
    const job = await env.DB.prepare('SELECT status, credits_charged FROM jobs WHERE id = ?').bind(jobId).first();
    expect(job).toEqual({ status: 'cancelled', credits_charged: credits });
    expect((await upstreamStreams(marker))[0]!.closedEarly).toBe(true);
  });

  it('an upstream failure mid-stream is not charged; the hold comes back', async () => {
    const { teamId, key } = await setupTeam(5000);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 1 });
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: await fakeModel('drop'), messages: user('x') },
      key,
    );
    await readSSE(res);
    await settled(res.headers.get('x-job-id')!);
    expect(await books(teamId)).toEqual({ balance: 5000, held: 0, ledgerSum: 5000, activeHolds: 0 });
  });
});

describe('consumption_usd', () => {
  it('charges max(1, ceil(cost_usd x credits_per_dollar)) from catalog prices and real usage', async () => {
    const { teamId, key } = await setupTeam(1000);
    await setTeam(teamId, { budget_mode: 'consumption_usd', credits_per_dollar: 1000 });
    // 11 prompt tokens at $1000/M and 3 completion tokens at $2000/M = $0.017 -> 17 credits.
    const model = await fakeModel('answer', { input: 1000, output: 2000 });
    const res = await post(
      '/api/jobs/create-and-call',
      // The hold is sized for max_tokens: 50 at $2000/M, about 100 credits of the 1000.
      { team_id: teamId, job_type: 'x', model, messages: user('x'), max_tokens: 50 },
      key,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.costs).toMatchObject({ credits_charged: 17, credits_remaining: 983 });
    expect(await books(teamId)).toEqual({ balance: 983, held: 0, ledgerSum: 983, activeHolds: 0 });

    // A free model still costs the minimum of one credit.
    const free = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: 'mock', messages: user('x') },
      key,
    );
    expect(((await free.json()) as any).costs.credits_charged).toBe(1);
  });

  it('a multi-call job pays per call; completing it adds no job credit', async () => {
    const { teamId, key } = await setupTeam(1000);
    await setTeam(teamId, { budget_mode: 'consumption_usd', credits_per_dollar: 1000 });
    const model = await fakeModel('answer', { input: 1000, output: 2000 });
    const { job_id } = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    expect(await books(teamId)).toMatchObject({ held: 0 });
    for (let i = 0; i < 2; i++) {
      const res = await post(`/api/jobs/${job_id}/llm-call`, { model, messages: user('x'), max_tokens: 50 }, key);
      expect(res.status).toBe(200);
    }
    const done = (await (await post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key)).json()) as any;
    expect(done.costs).toMatchObject({ credits_charged: 34, credits_remaining: 966, total_calls: 2 });
    expect((await ledger(teamId)).map((r) => r.kind)).toEqual(['grant', 'usage', 'usage']);
  });
});

describe('holds that do not fit', () => {
  it('402 with Retry-After while other calls hold credits; 402 without it when none do', async () => {
    const { teamId, key } = await setupTeam(10);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 10 });
    // A slow call holding ceil((prompt + 80) / 10) >= 8 credits of the 10.
    const first = post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: await fakeModel('slow'), messages: user('a'), max_tokens: 80 },
      key,
    );
    const res = await first;
    const second = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: 'mock', messages: user('b'), max_tokens: 80 },
      key,
    );
    expect(second.status).toBe(402);
    expect(second.headers.get('retry-after')).toBe('2');
    await res.body!.cancel();
    await settled(res.headers.get('x-job-id')!);

    const greedy = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: 'mock', messages: user('b'), max_tokens: 5000 },
      key,
    );
    expect(greedy.status).toBe(402);
    expect(greedy.headers.get('retry-after')).toBeNull();
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
  });
});

describe('usage the upstream did not send', () => {
  it('is counted with the tokenizer and marked estimated', async () => {
    const { teamId, key } = await setupTeam(5);
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: await fakeModel('no-usage'), messages: user('Hello there, tokenizer') },
      key,
    );
    const body = (await res.json()) as any;
    // o200k_base: "Héllo wörld 🚀" is 8 tokens; the prompt is 3 + 3 framing tokens + 4 for its text.
    expect(body.metadata).toMatchObject({ completion_tokens: 8, prompt_tokens: 10 });
    const [call] = await callRows(body.job_id);
    expect(call).toMatchObject({ usage_source: 'estimated', completion_tokens: 8, prompt_tokens: 10 });
  });

  it('an explicit zero from the provider is kept as zero', async () => {
    const { teamId, key } = await setupTeam(5);
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: await fakeModel('zero-usage'), messages: user('x') },
      key,
    );
    const body = (await res.json()) as any;
    const [call] = await callRows(body.job_id);
    expect(call).toMatchObject({ usage_source: 'provider', completion_tokens: 0, prompt_tokens: 0 });
  });
});
