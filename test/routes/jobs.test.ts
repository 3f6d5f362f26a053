import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { answerEvents } from '../support/fixtures';
import {
  books,
  callRows,
  eventually,
  fakeModel,
  get,
  post,
  readSSE,
  setupTeam,
  upstreamRequests,
  user,
} from '../support/api';

describe('job lifecycle', () => {
  it('create -> stream -> complete charges one credit and records the call', async () => {
    const { teamId, key } = await setupTeam(10);
    const created = await post(
      '/api/jobs/create',
      { team_id: teamId, job_type: 'chat', user_id: 'u-1', metadata: { a: 1 } },
      key,
    );
    expect(created.status).toBe(200);
    const job = (await created.json()) as { job_id: string; status: string; created_at: string };
    expect(job.status).toBe('pending');
    expect(new Date(job.created_at).toString()).not.toBe('Invalid Date');
    expect(await books(teamId)).toEqual({ balance: 10, held: 1, ledgerSum: 10, activeHolds: 1 });

    const res = await post(
      `/api/jobs/${job.job_id}/llm-call-stream`,
      { messages: user('Tell me a story'), purpose: 'story' },
      key,
    );
    expect(res.status).toBe(200);
    const { data } = await readSSE(res);
    expect(data.at(-1)).toBe('[DONE]');

    const [call] = await eventually(async () => {
      const rows = await callRows(job.job_id);
      return rows.length ? rows : null;
    });
    expect(call).toMatchObject({
      status: 'success',
      stream: 1,
      purpose: 'story',
      model: 'mock',
      finish_reason: 'stop',
    });
    expect(String(call!.content)).toContain('Tell me a story');
    expect(call!.latency_ms).toBeGreaterThanOrEqual(0);
    expect(call!.ttft_ms).not.toBeNull();

    const done = await post(`/api/jobs/${job.job_id}/complete`, { status: 'completed', metadata: { rating: 5 } }, key);
    expect(done.status).toBe(200);
    const result = (await done.json()) as any;
    expect(result).toMatchObject({
      job_id: job.job_id,
      status: 'completed',
      costs: { total_calls: 1, successful_calls: 1, failed_calls: 0, credits_charged: 1, credits_remaining: 9 },
    });
    expect(result.calls).toHaveLength(1);
    expect(result.calls[0]).toMatchObject({ model: 'mock', purpose: 'story', error: null });
    expect(result.costs.total_tokens).toBe(Number(call!.prompt_tokens) + Number(call!.completion_tokens));
    expect(await books(teamId)).toEqual({ balance: 9, held: 0, ledgerSum: 9, activeHolds: 0 });

    const stored = await env.DB.prepare('SELECT status, metadata FROM jobs WHERE id = ?')
      .bind(job.job_id)
      .first<{ metadata: string }>();
    expect(JSON.parse(stored!.metadata)).toEqual({ a: 1, rating: 5 });
  });

  it('takes several calls in one job, and GET shows them all', async () => {
    const { teamId, key } = await setupTeam(5);
    const { job_id } = (await (
      await post('/api/jobs/create', { team_id: teamId, job_type: 'agent' }, key)
    ).json()) as any;
    const first = await post(`/api/jobs/${job_id}/llm-call`, { messages: user('one'), purpose: 'plan' }, key);
    expect(first.status).toBe(200);
    const body = (await first.json()) as any;
    expect(body.call_id).toMatch(/^call_/);
    expect(body.response.content).toContain('"one"');
    expect(body.response.finish_reason).toBe('stop');
    expect(body.metadata).toMatchObject({ model: 'mock' });
    expect(body.metadata.tokens_used).toBe(body.metadata.prompt_tokens + body.metadata.completion_tokens);

    const second = await post(
      `/api/jobs/${job_id}/llm-call`,
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'one' },
          { role: 'assistant', content: body.response.content },
          { role: 'user', content: 'two' },
        ],
        max_tokens: 3,
      },
      key,
    );
    expect(((await second.json()) as any).response.finish_reason).toBe('length');

    const view = (await (await get(`/api/jobs/${job_id}`, key)).json()) as any;
    expect(view).toMatchObject({ job_id, team_id: teamId, job_type: 'agent', status: 'in_progress' });
    expect(view.calls.map((c: any) => c.purpose)).toEqual(['plan', null]);
    expect(view.costs.total_calls).toBe(2);
  });

  it('the stored answers read back: GET shows each call with its text and tool calls, and one call whole', async () => {
    const { teamId, key } = await setupTeam(5);
    const { job_id } = (await (
      await post('/api/jobs/create', { team_id: teamId, job_type: 'agent' }, key)
    ).json()) as any;
    const said = (await (
      await post(`/api/jobs/${job_id}/llm-call`, { model: await fakeModel('answer'), messages: user('x') }, key)
    ).json()) as any;
    const tool = (await (
      await post(`/api/jobs/${job_id}/llm-call`, { model: await fakeModel('tools'), messages: user('y') }, key)
    ).json()) as any;

    const view = (await (await get(`/api/jobs/${job_id}`, key)).json()) as any;
    expect(view.calls.map((c: any) => [c.call_id, c.content, c.stored_truncated])).toEqual([
      [said.call_id, 'Héllo wörld 🚀', false],
      [tool.call_id, '', false],
    ]);
    expect(view.calls[0].tool_calls).toEqual([]);
    expect(view.calls[1].tool_calls).toEqual([
      {
        id: 'call_abc',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "c"}' },
      },
    ]);

    const one = await get(`/api/jobs/${job_id}/calls/${tool.call_id}`, key);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      call_id: tool.call_id,
      job_id,
      status: 'success',
      finish_reason: 'tool_calls',
      prompt_tokens: 20,
      completion_tokens: 9,
      content: '',
      tool_calls: view.calls[1].tool_calls,
      stored_truncated: false,
      attempts: 1,
      stream: false,
    });

    // Another team's key, a call of another job, an unknown call.
    const other = await setupTeam(5);
    expect((await get(`/api/jobs/${job_id}/calls/${tool.call_id}`, other.key)).status).toBe(403);
    const elsewhere = (await (
      await post('/api/jobs/create', { team_id: teamId, job_type: 'agent' }, key)
    ).json()) as any;
    expect((await get(`/api/jobs/${elsewhere.job_id}/calls/${tool.call_id}`, key)).status).toBe(404);
    expect((await get(`/api/jobs/${job_id}/calls/call_missing`, key)).status).toBe(404);
  });

  it('a failed job releases its hold and charges nothing', async () => {
    const { teamId, key } = await setupTeam(3);
    const { job_id } = (await (
      await post('/api/jobs/create', { team_id: teamId, job_type: 'chat' }, key)
    ).json()) as any;
    const res = await post(`/api/jobs/${job_id}/complete`, { status: 'failed', error_message: 'user left' }, key);
    expect(((await res.json()) as any).costs).toMatchObject({ credits_charged: 0, credits_remaining: 3 });
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
  });

  it('completing twice returns the same result and charges once; another status is 409', async () => {
    const { teamId, key } = await setupTeam(3);
    const { job_id } = (await (
      await post('/api/jobs/create', { team_id: teamId, job_type: 'chat' }, key)
    ).json()) as any;
    const [a, b] = await Promise.all([
      post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key),
      post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key),
    ]);
    const again = await post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key);
    const bodies = await Promise.all([a.json(), b.json(), again.json()]);
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[0]).toEqual(bodies[2]);
    expect(await books(teamId)).toEqual({ balance: 2, held: 0, ledgerSum: 2, activeHolds: 0 });

    const other = await post(`/api/jobs/${job_id}/complete`, { status: 'failed' }, key);
    expect(other.status).toBe(409);
    expect(((await other.json()) as any).error.code).toBe('job_already_finished');
    const charges = await env.DB.prepare("SELECT count(*) AS n FROM credit_ledger WHERE job_id = ? AND kind = 'charge'")
      .bind(job_id)
      .first<{ n: number }>();
    expect(charges!.n).toBe(1);
  });

  it('GET credits shows available and held credits', async () => {
    const { teamId, key } = await setupTeam(7);
    await post('/api/jobs/create', { team_id: teamId, job_type: 'chat' }, key);
    const res = await get(`/api/teams/${teamId}/credits`, key);
    expect(await res.json()).toEqual({ team_id: teamId, credits_remaining: 6, credits_held: 1 });
  });
});

describe('single-call jobs', () => {
  it('create-and-call-stream streams the exact SSE bytes of the mock and completes the job', async () => {
    const { teamId, key } = await setupTeam(2);
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'chat', model: 'mock', messages: user('Hi'), max_tokens: 4 },
      key,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const jobId = res.headers.get('x-job-id')!;
    expect(jobId).toMatch(/^job_/);

    const { raw } = await readSSE(res);
    const first = JSON.parse(raw.slice('data: '.length, raw.indexOf('\n\n')));
    const head = `{"id":"${first.id}","object":"chat.completion.chunk","created":${first.created},"model":"mock-1"`;
    const event = (choices: string) => `data: ${head},"choices":[${choices}]}\n\n`;
    const delta = (d: string, finish = 'null') => `{"index":0,"delta":${d},"finish_reason":${finish}}`;
    expect(raw).toBe(
      event(delta('{"role":"assistant","content":""}')) +
        event(delta('{"content":"Hello"}')) +
        event(delta('{"content":" from"}')) +
        event(delta('{"content":" Sluice\'s"}')) +
        event(delta('{"content":" mock"}')) +
        event(delta('{}', '"length"')) +
        `data: ${head},"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":4,"total_tokens":8}}\n\n` +
        'data: [DONE]\n\n',
    );

    const job = await eventually(async () => {
      const row = await env.DB.prepare('SELECT status, credits_charged FROM jobs WHERE id = ?')
        .bind(jobId)
        .first<{ status: string; credits_charged: number }>();
      return row?.status === 'completed' ? row : null;
    });
    expect(job.credits_charged).toBe(1);
    const [call] = await callRows(jobId);
    expect(call).toMatchObject({
      content: "Hello from Sluice's mock",
      finish_reason: 'length',
      prompt_tokens: 4,
      completion_tokens: 4,
    });
    expect(await books(teamId)).toEqual({ balance: 1, held: 0, ledgerSum: 1, activeHolds: 0 });
  });

  it('create-and-call returns the answer, the settled job and its costs', async () => {
    const { teamId, key } = await setupTeam(2);
    const model = await fakeModel('answer', { input: 1000, output: 2000 });
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'summary', model, messages: user('Sum it up') },
      key,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      status: 'completed',
      response: { content: 'Héllo wörld 🚀', finish_reason: 'stop' },
      metadata: { model, prompt_tokens: 11, completion_tokens: 3, tokens_used: 14 },
      costs: { total_calls: 1, successful_calls: 1, credits_charged: 1, credits_remaining: 1, total_tokens: 14 },
    });
    // 11 input tokens at $1000/M + 3 output tokens at $2000/M
    expect(body.costs.total_cost_usd).toBeCloseTo(0.017, 9);
    expect(body.completed_at).not.toBeNull();
    expect(await books(teamId)).toEqual({ balance: 1, held: 0, ledgerSum: 1, activeHolds: 0 });
  });
});

describe('forwarding to an OpenAI-compatible upstream', () => {
  it('sends every parameter, the key and include_usage; forwards the bytes untouched', async () => {
    const { teamId, key } = await setupTeam(2);
    const model = await fakeModel('split');
    const marker = crypto.randomUUID();
    const messages = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: `first ${marker}` },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'second' },
    ];
    const res = await post(
      '/api/jobs/create-and-call-stream',
      {
        team_id: teamId,
        job_type: 'chat',
        model,
        messages,
        temperature: 0.3,
        max_tokens: 50,
        stop: ['END'],
        top_p: 0.9,
        purpose: 'p',
      },
      key,
    );
    const { raw } = await readSSE(res);
    // The split scenario's bytes, reassembled by the transport, reach the client unchanged.
    const expected = `: keep-alive comment\r\n\r\n${answerEvents('split')
      .map((e) => `data: ${e}\r\n\r\n`)
      .join('')}`;
    expect(raw).toBe(expected);

    const [sent] = await upstreamRequests(marker);
    expect(sent!.path).toBe('/v1/chat/completions');
    expect(sent!.headers.authorization).toBe('Bearer sk-upstream-test');
    expect(sent!.body).toEqual({
      model: 'split',
      messages,
      temperature: 0.3,
      max_tokens: 50,
      stop: ['END'],
      top_p: 0.9,
      stream: true,
      stream_options: { include_usage: true },
    });

    const jobId = res.headers.get('x-job-id')!;
    const [call] = await eventually(async () => {
      const rows = await callRows(jobId);
      return rows.length ? rows : null;
    });
    expect(call).toMatchObject({
      status: 'success',
      content: 'Héllo wörld 🚀',
      prompt_tokens: 11,
      completion_tokens: 3,
      usage_source: 'provider',
      upstream_model: 'split',
    });
  });
});
