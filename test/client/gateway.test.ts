/**
 * The typed client against the real Worker (its fetch handler, D1 migrated): every method, the
 * error classes the gateway's answers map to, and a `break` that the gateway sees as a disconnect.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InsufficientCreditsError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SluiceClient,
  StreamError,
} from '../../src/client';
import { eventually, fakeModel, setupTeam, user } from '../support/api';

const clientFor = (apiKey: string, teamId: string, extra: object = {}) =>
  new SluiceClient({
    baseUrl: 'http://sluice.test',
    apiKey,
    teamId,
    fetch: (url, init) => exports.default.fetch(new Request(url, init)),
    ...extra,
  });

describe('SluiceClient against the gateway', () => {
  it('create, stream, complete: the text arrives in chunks and the job is charged', async () => {
    const { teamId, key } = await setupTeam(10);
    const client = clientFor(key, teamId);
    const jobId = await client.createJob('chat', { userId: 'u-1', metadata: { source: 'test' } });
    const stream = await client.chatStream(jobId, { messages: user('Hello client'), purpose: 'greet' });
    expect(stream.jobId).toBe(jobId);
    let pieces = 0;
    let text = '';
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) (pieces++, (text += content));
    }
    expect(pieces).toBeGreaterThan(5);
    expect(text).toContain('You said: "Hello client"');
    expect(await stream.text()).toBe(text);
    expect((await stream.finalUsage())!.completion_tokens).toBe(pieces);

    const result = await client.completeJob(jobId, 'completed');
    expect(result).toMatchObject({ job_id: jobId, status: 'completed' });
    expect(result.costs).toMatchObject({ total_calls: 1, credits_charged: 1, credits_remaining: 9 });
    expect(result.calls[0]).toMatchObject({ purpose: 'greet', status: 'success' });
    expect((await client.credits()).credits_remaining).toBe(9);

    const job = await client.getJob(jobId);
    expect(job).toMatchObject({ job_id: jobId, user_id: 'u-1', metadata: { source: 'test' }, status: 'completed' });
    expect((await client.jobCosts(jobId)).calls).toHaveLength(1);
  });

  it('chat (non-stream), createAndCall and createAndCallStream with its job id', async () => {
    const { teamId, key } = await setupTeam(10);
    const client = clientFor(key, teamId);
    const jobId = await client.createJob('agent');
    const whole = await client.chat(jobId, { messages: user('one'), max_tokens: 3 });
    expect(whole.response.finish_reason).toBe('length');
    expect(whole.metadata.completion_tokens).toBe(3);
    await client.completeJob(jobId, 'completed');

    const both = await client.createAndCall({ jobType: 'classify', model: 'mock', messages: user('two') });
    expect(both.status).toBe('completed');
    expect(both.response.content).toContain('two');

    const stream = await client.createAndCallStream({ jobType: 'chat', messages: user('three') });
    expect(stream.jobId).toMatch(/^job_/);
    expect(await stream.text()).toContain('three');
    const settled = await eventually(async () => {
      const job = await client.getJob(stream.jobId!);
      return job.status === 'completed' ? job : null;
    });
    expect(settled.job_type).toBe('chat');
  });

  it('tool calls arrive assembled; an in-band error is a StreamError', async () => {
    const { teamId, key } = await setupTeam(10);
    const client = clientFor(key, teamId);
    const tools = await fakeModel('tools');
    const stream = await client.createAndCallStream({ jobType: 'x', model: tools, messages: user('weather?') });
    expect(await stream.toolCalls()).toEqual([
      {
        id: 'call_abc',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "c"}' },
      },
    ]);
    expect(stream.finishReason).toBe('tool_calls');

    const broken = await fakeModel('error-event');
    const failing = await client.createAndCallStream({ jobType: 'x', model: broken, messages: user('x') });
    const err = await failing.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).message).toContain('Model overloaded');
  });

  it('format ndjson: typed events from the gateway, tool calls assembled, an in-band error a StreamError', async () => {
    const { teamId, key } = await setupTeam(10);
    const client = clientFor(key, teamId);
    const jobId = await client.createJob('chat');
    const stream = await client.chatStream(jobId, { messages: user('Hello events'), max_tokens: 3, format: 'ndjson' });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(['metadata', 'token', 'token', 'token', 'done']);
    expect(stream.metadata).toEqual({ job_id: jobId, call_id: stream.callId, model: 'mock', upstream_model: 'mock-1' });
    expect(await stream.text()).toBe("Hello from Sluice's");
    expect(stream.finishReason).toBe('length');
    expect(await stream.finalUsage()).toMatchObject({ completion_tokens: 3 });
    expect((await client.completeJob(jobId, 'completed')).costs).toMatchObject({ credits_charged: 1 });

    const tools = await fakeModel('tools');
    const called = await client.createAndCallStream({
      jobType: 'x',
      model: tools,
      messages: user('w'),
      format: 'ndjson',
    });
    expect(await called.toolCalls()).toEqual([
      {
        id: 'call_abc',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "c"}' },
      },
    ]);
    expect(called.finishReason).toBe('tool_calls');

    const broken = await fakeModel('error-event');
    const failing = await client.createAndCallStream({
      jobType: 'x',
      model: broken,
      messages: user('x'),
      format: 'ndjson',
    });
    const err = await failing.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({ message: 'Model overloaded', code: 'overloaded', type: 'upstream_error' });
  });

  it('the gateway’s errors arrive as their classes, with code, param and request id', async () => {
    const { teamId, key } = await setupTeam(1);
    const client = clientFor(key, teamId, { maxRetries: 0 });

    const bad = await client
      .createAndCall({ jobType: 'x', messages: user('x'), temperature: 5 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect(bad).toMatchObject({ status: 400, param: 'temperature' });
    expect((bad as BadRequestError).requestId).toBeTruthy();

    const unknownKey = await clientFor('sk-sluice-nope', teamId)
      .credits()
      .catch((e: unknown) => e);
    expect(unknownKey).toBeInstanceOf(AuthenticationError);

    const other = await setupTeam(1);
    expect(
      await clientFor(key, other.teamId)
        .credits()
        .catch((e: unknown) => e),
    ).toBeInstanceOf(PermissionDeniedError);
    expect(await client.getJob('job_missing').catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);

    const jobId = await client.createJob('x');
    // The only credit is held by that job.
    expect(await client.createJob('y').catch((e: unknown) => e)).toBeInstanceOf(InsufficientCreditsError);
    await client.completeJob(jobId, 'failed', { errorMessage: 'gave up' });
    const late = await client.chatStream(jobId, { messages: user('x') }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ConflictError);
    expect(late).toMatchObject({ status: 409, code: 'job_not_active' });

    const limited = await fakeModel('status-429');
    const rate = await client
      .createAndCall({ jobType: 'x', model: limited, messages: user('x') })
      .catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(RateLimitError);
    expect((rate as RateLimitError).retryAfter).toBe(7);
  });

  it('break mid-stream disconnects: the gateway records the call as aborted and cancels the job', async () => {
    const { teamId, key } = await setupTeam(3);
    const client = clientFor(key, teamId);
    const slow = await fakeModel('slow');
    const stream = await client.createAndCallStream({ jobType: 'x', model: slow, messages: user('slowly') });
    let seen = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content && ++seen === 2) break;
    const job = await eventually(async () => {
      const j = await client.getJob(stream.jobId!);
      return j.status === 'cancelled' ? j : null;
    });
    expect(job.calls[0]!.status).toBe('client_aborted');
    expect((await client.credits()).credits_remaining).toBe(3);
  });

  it('models, usage, jobs and reports for the dashboard', async () => {
    const { teamId, key } = await setupTeam(10);
    const client = clientFor(key, teamId);
    await client.createAndCall({ jobType: 'chat', messages: user('count me') });
    expect((await client.models()).data.map((m) => m.id)).toContain('mock');
    const usage = await client.usage();
    expect(usage.totals).toMatchObject({ jobs: 1, calls: 1 });
    expect(usage.by_model[0]).toMatchObject({ model: 'mock', calls: 1 });
    const page = await client.jobs({ status: 'completed', limit: 1 });
    expect(page.data).toHaveLength(1);
    expect(page.next_cursor).toBeNull();
    const reports = await client.reports();
    expect(reports.team_id).toBe(teamId);
    expect(Array.isArray(reports.data)).toBe(true);
    await expect(client.usage('2026-13')).rejects.toBeInstanceOf(BadRequestError);
  });
});
