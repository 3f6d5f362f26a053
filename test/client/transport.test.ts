/**
 * The client's retry, timeout, abort and stream rules, against a fake `fetch` that plays each
 * situation exactly (no gateway involved).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  type ChatCompletionChunk,
  ChatStream,
  ConflictError,
  InsufficientCreditsError,
  InternalServerError,
  type NdjsonEvent,
  NdjsonStream,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SluiceClient,
  StreamError,
  type ToolCallDelta,
  UpstreamError,
  retryDelayMs,
} from '../../src/client';
import { CHAT_PARAMS } from '../../src/core/chat-params';

type Step = (init: RequestInit) => Response | Promise<Response>;

/** A fetch that answers the n-th request with `steps[n]` and records what it was sent. */
function fakeFetch(...steps: Step[]) {
  const calls: { url: string; init: RequestInit; at: number }[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    calls.push({ url, init, at: Date.now() });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
    return step(init);
  };
  return { fetch, calls };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const errorBody = (message: string, type: string, code: string, param: string | null = null) => ({
  error: { message, type, code, param },
});

const networkError: Step = () => {
  throw new TypeError('fetch failed');
};

/** Never answers; rejects when the request's signal fires, like a real fetch. */
const hang: Step = (init) =>
  new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)));

const chunk = (content: string, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
  ...extra,
});
const data = (v: unknown) => `data: ${JSON.stringify(v)}\n\n`;

/** An SSE response whose body is written by `source`; `cancelled` records a cancel from the client. */
function sse(source: (c: ReadableStreamDefaultController<Uint8Array>, write: (s: string) => void) => unknown) {
  const state = { cancelled: false, signal: null as AbortSignal | null };
  const enc = new TextEncoder();
  const step: Step = (init) => {
    state.signal = init.signal ?? null;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        // Writes after the client has gone are dropped, as a server's would be.
        const write = (s: string) => {
          if (!state.cancelled) c.enqueue(enc.encode(s));
        };
        void Promise.resolve(source(c, write)).catch(() => {});
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'x-job-id': 'job_1', 'x-request-id': 'req_1' },
    });
  };
  return { step, state };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const client = (fetch: ReturnType<typeof fakeFetch>['fetch'], extra: object = {}) =>
  new SluiceClient({
    baseUrl: 'http://sluice.test/',
    apiKey: 'sk-sluice-test',
    teamId: 'acme',
    fetch,
    initialRetryDelayMs: 1,
    maxRetryDelayMs: 5,
    ...extra,
  });

const messages = [{ role: 'user' as const, content: 'Hi' }];

describe('retries before the first byte', () => {
  it('retries a network error, then succeeds', async () => {
    const f = fakeFetch(networkError, json(200, { job_id: 'job_1', status: 'pending' }));
    expect(await client(f.fetch).createJob('chat')).toBe('job_1');
    expect(f.calls).toHaveLength(2);
    expect(f.calls[0]!.url).toBe('http://sluice.test/api/jobs/create');
    expect(JSON.parse(String(f.calls[1]!.init.body))).toEqual({ team_id: 'acme', job_type: 'chat' });
    expect(new Headers(f.calls[1]!.init.headers).get('authorization')).toBe('Bearer sk-sluice-test');
  });

  it('waits for Retry-After on a 429, then succeeds', async () => {
    const f = fakeFetch(
      json(429, errorBody('slow down', 'rate_limit_error', 'rate_limited'), { 'retry-after': '0.25' }),
      json(200, { team_id: 'acme', credits_remaining: 5, credits_held: 0 }),
    );
    expect((await client(f.fetch).credits()).credits_remaining).toBe(5);
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]!.at - f.calls[0]!.at).toBeGreaterThanOrEqual(240);
  });

  it('caps a long Retry-After at maxRetryAfterMs', async () => {
    const f = fakeFetch(
      json(429, errorBody('slow down', 'rate_limit_error', 'rate_limited'), { 'retry-after': '3600' }),
      json(200, { team_id: 'acme', credits_remaining: 5, credits_held: 0 }),
    );
    await client(f.fetch, { maxRetryAfterMs: 20 }).credits();
    expect(f.calls[1]!.at - f.calls[0]!.at).toBeLessThan(1000);
  });

  it('retries 500 and 503, then succeeds; gives up after maxRetries with the typed error', async () => {
    const ok = fakeFetch(json(500, {}), json(503, {}), json(200, { object: 'list', data: [] }));
    expect(await client(ok.fetch).models()).toEqual({ object: 'list', data: [] });
    expect(ok.calls).toHaveLength(3);

    const down = fakeFetch(json(502, errorBody('Upstream error (500): boom', 'upstream_error', 'upstream_error')));
    const err = await client(down.fetch, { maxRetries: 1 })
      .credits()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ status: 502, code: 'upstream_error', type: 'upstream_error' });
    expect(down.calls).toHaveLength(2);
  });

  it('never retries a 4xx other than 429, and maps each status to its class', async () => {
    const cases = [
      [
        400,
        BadRequestError,
        errorBody('temperature: too big', 'invalid_request_error', 'invalid_request', 'temperature'),
      ],
      [401, AuthenticationError, errorBody('bad key', 'authentication_error', 'invalid_api_key')],
      [402, InsufficientCreditsError, errorBody('no credits', 'insufficient_credits', 'insufficient_credits')],
      [403, PermissionDeniedError, errorBody('other team', 'permission_error', 'team_mismatch')],
      [404, NotFoundError, errorBody("No job 'x'", 'not_found_error', 'job_not_found')],
      [409, ConflictError, errorBody('already completed', 'conflict_error', 'job_already_finished')],
    ] as const;
    for (const [status, Class, body] of cases) {
      const f = fakeFetch(json(status, body, { 'x-request-id': `req-${status}` }));
      const err = await client(f.fetch)
        .getJob('x')
        .catch((e: unknown) => e);
      expect(err, String(status)).toBeInstanceOf(Class);
      expect(err).toMatchObject({
        status,
        message: body.error.message,
        code: body.error.code,
        type: body.error.type,
        param: body.error.param,
        requestId: `req-${status}`,
      });
      expect(f.calls, String(status)).toHaveLength(1);
    }
  });

  it('a 429 that stays a 429 becomes a RateLimitError carrying retryAfter', async () => {
    const f = fakeFetch(json(429, errorBody('busy', 'rate_limit_error', 'rate_limited'), { 'retry-after': '0' }));
    const err = await client(f.fetch)
      .credits()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfter).toBe(0);
    expect(f.calls).toHaveLength(3);
  });

  it('a non-JSON 500 still becomes an InternalServerError with the text as its message', async () => {
    const f = fakeFetch(() => new Response('gateway exploded', { status: 500 }));
    const err = await client(f.fetch, { maxRetries: 0 })
      .credits()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as Error).message).toBe('gateway exploded');
  });

  it('backoff doubles, is capped, and loses at most a quarter to jitter', () => {
    const policy = { initialRetryDelayMs: 500, maxRetryDelayMs: 8000, maxRetryAfterMs: 60_000 };
    expect(retryDelayMs(0, null, policy, () => 0)).toBe(500);
    expect(retryDelayMs(2, null, policy, () => 0)).toBe(2000);
    expect(retryDelayMs(10, null, policy, () => 0)).toBe(8000);
    expect(retryDelayMs(1, null, policy, () => 1)).toBe(750);
    expect(retryDelayMs(0, 2, policy)).toBe(2000);
    expect(retryDelayMs(0, 600, policy)).toBe(60_000);
  });
});

describe('timeouts and aborts', () => {
  it('timeoutMs bounds the wait for headers: APITimeoutError, after the retries', async () => {
    const f = fakeFetch(hang);
    const started = Date.now();
    const err = await client(f.fetch, { timeoutMs: 50, maxRetries: 1 })
      .credits()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(f.calls).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a timed-out attempt is retried and the next one may succeed', async () => {
    const f = fakeFetch(hang, json(200, { team_id: 'acme', credits_remaining: 1, credits_held: 0 }));
    expect((await client(f.fetch, { timeoutMs: 50 }).credits()).credits_remaining).toBe(1);
  });

  it('timeoutMs does not cut a stream that outlives it', async () => {
    const { step } = sse(async (c, write) => {
      for (const word of ['slow', ' but', ' steady']) {
        write(data(chunk(word)));
        await sleep(40);
      }
      write('data: [DONE]\n\n');
      c.close();
    });
    const stream = await client(fakeFetch(step).fetch, { timeoutMs: 30 }).chatStream('job_1', { messages });
    expect(await stream.text()).toBe('slow but steady');
  });

  it("the caller's signal aborts a request before its headers, without retrying", async () => {
    const f = fakeFetch(hang);
    const controller = new AbortController();
    const pending = client(f.fetch)
      .credits({ signal: controller.signal })
      .catch((e: unknown) => e);
    await sleep(10);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    expect(f.calls).toHaveLength(1);
  });

  it("the caller's signal aborts a stream mid-way: the read stops and the body is cancelled", async () => {
    const { step, state } = sse(async (_c, write) => {
      for (let i = 0; i < 100; i++) {
        write(data(chunk(`t${i} `)));
        await sleep(10);
      }
    });
    const controller = new AbortController();
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages, signal: controller.signal });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of stream) {
        seen.push(c.choices[0]!.delta.content!);
        if (seen.length === 3) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIUserAbortError);
    expect(seen.length).toBeLessThan(6);
    expect(state.cancelled).toBe(true);
    expect(state.signal!.aborted).toBe(true);
  });

  it('AbortSignal.timeout as the caller’s signal reports an APITimeoutError mid-stream', async () => {
    const { step } = sse(async (_c, write) => {
      for (let i = 0; i < 100; i++) {
        write(data(chunk('x')));
        await sleep(10);
      }
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', {
      messages,
      signal: AbortSignal.timeout(60),
    });
    const err = await stream.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APITimeoutError);
  });
});

describe('streams', () => {
  it('yields typed chunks, exposes the headers, and the helpers total text, usage and tool calls', async () => {
    const { step } = sse((c, write) => {
      write(': ping\n\n');
      write(
        data(chunk('', { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })),
      );
      write(data(chunk('Hel')));
      write(data(chunk('lo')));
      const tc = (delta: ToolCallDelta) => ({
        choices: [{ index: 0, delta: { tool_calls: [delta] }, finish_reason: null }],
      });
      write(
        data(chunk('', tc({ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a"' } }))),
      );
      write(data(chunk('', tc({ index: 0, function: { arguments: ':1}' } }))));
      write(data(chunk('', { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })));
      write(data(chunk('', { choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } })));
      write('data: [DONE]\n\n');
      c.close();
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages });
    expect(stream.jobId).toBe('job_1');
    expect(stream.requestId).toBe('req_1');
    const first: ChatCompletionChunk[] = [];
    for await (const c of stream) {
      first.push(c);
      if (first.length === 2) break;
    }
    // The helpers count the chunks already iterated; after a break there is nothing left to read.
    expect(first[1]!.choices[0]!.delta.content).toBe('Hel');
    expect(await stream.text()).toBe('Hel');

    const again = await client(fakeFetch(step).fetch).chatStream('job_1', { messages });
    expect(await again.text()).toBe('Hello');
    expect(await again.finalUsage()).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    expect(await again.toolCalls()).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
    ]);
    expect(again.finishReason).toBe('tool_calls');
  });

  it('break leaves the loop and aborts the request', async () => {
    const { step, state } = sse(async (_c, write) => {
      for (let i = 0; i < 100; i++) {
        write(data(chunk(`t${i}`)));
        await sleep(5);
      }
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages });
    for await (const c of stream) if (c.choices[0]!.delta.content === 't1') break;
    expect(state.cancelled).toBe(true);
    expect(state.signal!.aborted).toBe(true);
  });

  it('an in-band error event is raised as a StreamError with its fields', async () => {
    const { step } = sse((c, write) => {
      write(data(chunk('partial')));
      write(
        data({
          error: { message: 'Upstream timed out', type: 'upstream_error', code: 'upstream_timeout', param: null },
        }),
      );
      c.close();
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c.choices[0]!.delta.content!);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['partial']);
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({
      message: 'Upstream timed out',
      code: 'upstream_timeout',
      type: 'upstream_error',
      requestId: 'req_1',
    });
  });

  it('a stream that breaks after its first byte is not replayed: one request, APIConnectionError', async () => {
    const { step } = sse(async (c, write) => {
      write(data(chunk('first')));
      await sleep(5);
      c.error(new TypeError('connection reset'));
    });
    const f = fakeFetch(step, step);
    const stream = await client(f.fetch).chatStream('job_1', { messages });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c.choices[0]!.delta.content!);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['first']);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(f.calls).toHaveLength(1);
  });

  it('a stream that ends without [DONE] is an error, not a silent truncation', async () => {
    const { step } = sse((c, write) => {
      write(data(chunk('cut')));
      c.close();
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages });
    await expect(stream.text()).rejects.toMatchObject({ name: 'StreamError', code: 'stream_truncated' });
  });

  it('stops at [DONE] even if more bytes follow', async () => {
    const { step } = sse((c, write) => {
      write(data(chunk('a')) + 'data: [DONE]\n\n' + data(chunk('ignored')));
      c.close();
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages });
    expect(await stream.text()).toBe('a');
  });

  it('sends only the chat parameters given, as JSON, with Accept: text/event-stream', async () => {
    const f = fakeFetch(sse((c, write) => (write('data: [DONE]\n\n'), c.close())).step);
    const stream = await client(f.fetch).chatStream('job/1', {
      messages,
      model: 'mock',
      max_tokens: 5,
      purpose: 'test',
      signal: new AbortController().signal,
    });
    await stream.text();
    expect(f.calls[0]!.url).toBe('http://sluice.test/api/jobs/job%2F1/llm-call-stream');
    expect(JSON.parse(String(f.calls[0]!.init.body))).toEqual({
      messages,
      model: 'mock',
      max_tokens: 5,
      purpose: 'test',
    });
    expect(new Headers(f.calls[0]!.init.headers).get('accept')).toBe('text/event-stream');
  });
});

describe('NDJSON streams (format: ndjson)', () => {
  const line = (event: NdjsonEvent) => `${JSON.stringify(event)}\n`;
  const metadata: NdjsonEvent = {
    type: 'metadata',
    data: '',
    metadata: { job_id: 'job_1', call_id: 'call_1', model: 'm', upstream_model: 'u' },
  };
  const token = (data: string): NdjsonEvent => ({ type: 'token', data, metadata: {} });
  const done: NdjsonEvent = {
    type: 'done',
    data: '',
    metadata: {
      finish_reason: 'tool_calls',
      usage: { prompt_tokens: 3, completion_tokens: 4, cached_tokens: 1, reasoning_tokens: 2, total_tokens: 7 },
    },
  };

  it('asks for NDJSON, yields the typed events (keep-alives skipped), and the helpers total them', async () => {
    const { step } = sse((c, write) => {
      write('\n\n');
      write(line(metadata));
      write(line(token('Hel')) + '\n');
      write(line(token('lo')));
      write(line({ type: 'chunk', data: { reasoning: 'hmm' }, metadata: {} }));
      write(line({ type: 'chunk', data: { tool_call: { index: 0, id: 'call_1', name: 'f' } }, metadata: {} }));
      write(line({ type: 'chunk', data: { tool_args: { index: 0, args: '{"a"' } }, metadata: {} }));
      write(line({ type: 'chunk', data: { tool_args: { index: 0, args: ':1}' } }, metadata: {} }));
      write(line(done));
      c.close();
    });
    const f = fakeFetch(step);
    const stream = await client(f.fetch).chatStream('job_1', { messages, format: 'ndjson' });
    expectTypeOf(stream).toEqualTypeOf<NdjsonStream>();
    expect(stream).toBeInstanceOf(NdjsonStream);
    expect(new Headers(f.calls[0]!.init.headers).get('accept')).toBe('application/x-ndjson');
    expect(JSON.parse(String(f.calls[0]!.init.body))).toEqual({ messages });
    expect(stream.jobId).toBe('job_1');
    expect(stream.requestId).toBe('req_1');

    const events: NdjsonEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.map((e) => e.type)).toEqual([
      'metadata',
      'token',
      'token',
      'chunk',
      'chunk',
      'chunk',
      'chunk',
      'done',
    ]);
    expect(events[0]).toEqual(metadata);
    expect(stream.metadata).toEqual(metadata.metadata);
    expect(await stream.text()).toBe('Hello');
    expect(await stream.finalUsage()).toEqual(done.metadata.usage);
    expect(await stream.toolCalls()).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
    ]);
    expect(stream.finishReason).toBe('tool_calls');
  });

  it('without a format, or with sse, the stream is still a ChatStream', async () => {
    const f = fakeFetch(sse((c, write) => (write('data: [DONE]\n\n'), c.close())).step);
    const plain = await client(f.fetch).createAndCallStream({ jobType: 'x', messages });
    expectTypeOf(plain).toEqualTypeOf<ChatStream>();
    expect(plain).toBeInstanceOf(ChatStream);
    const explicit = await client(f.fetch).chatStream('job_1', { messages, format: 'sse' });
    expect(explicit).toBeInstanceOf(ChatStream);
    expect(f.calls.map((c) => new Headers(c.init.headers).get('accept'))).toEqual([
      'text/event-stream',
      'text/event-stream',
    ]);
  });

  it('createAndCallStream with format ndjson posts the new job and reads events', async () => {
    const f = fakeFetch(sse((c, write) => (write(line(metadata) + line(token('x')) + line(done)), c.close())).step);
    const stream = await client(f.fetch).createAndCallStream({ jobType: 'chat', messages, format: 'ndjson' });
    expect(f.calls[0]!.url).toBe('http://sluice.test/api/jobs/create-and-call-stream');
    expect(JSON.parse(String(f.calls[0]!.init.body))).toEqual({ team_id: 'acme', job_type: 'chat', messages });
    expect(await stream.text()).toBe('x');
  });

  it('an error line is raised as a StreamError after the events before it', async () => {
    const { step } = sse((c, write) => {
      write(line(metadata) + line(token('partial')));
      write(
        line({
          type: 'error',
          data: 'Upstream timed out',
          metadata: { type: 'upstream_error', code: 'upstream_timeout' },
        }),
      );
      c.close();
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages, format: 'ndjson' });
    const got: string[] = [];
    const err = await (async () => {
      for await (const e of stream) got.push(e.type);
    })().catch((e: unknown) => e);
    expect(got).toEqual(['metadata', 'token']);
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({ message: 'Upstream timed out', code: 'upstream_timeout', type: 'upstream_error' });
  });

  it('a stream that ends without done is an error, not a silent truncation', async () => {
    const { step } = sse((c, write) => (write(line(metadata) + line(token('cut'))), c.close()));
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages, format: 'ndjson' });
    await expect(stream.text()).rejects.toMatchObject({ name: 'StreamError', code: 'stream_truncated' });
  });

  it('stops at done even if more bytes follow, and leaves the request alone', async () => {
    const { step, state } = sse((_c, write) =>
      write(line(metadata) + line(token('a')) + line(done) + line(token('b'))),
    );
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages, format: 'ndjson' });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    expect(types).toEqual(['metadata', 'token', 'done']);
    expect(await stream.text()).toBe('a');
    expect(state.cancelled).toBe(false);
    expect(state.signal!.aborted).toBe(false);
  });

  it('break leaves the loop and aborts the request', async () => {
    const { step, state } = sse(async (_c, write) => {
      write(line(metadata));
      for (let i = 0; i < 100; i++) {
        write(line(token(`t${i}`)));
        await sleep(5);
      }
    });
    const stream = await client(fakeFetch(step).fetch).chatStream('job_1', { messages, format: 'ndjson' });
    for await (const e of stream) if (e.type === 'token' && e.data === 't1') break;
    expect(state.cancelled).toBe(true);
    expect(state.signal!.aborted).toBe(true);
  });
});

describe('the generation parameters', () => {
  it('the client sends exactly the ones the gateway reads, no more and none left out', async () => {
    const { fetch, calls } = fakeFetch(json(200, { call_id: 'c', response: {}, metadata: {} }));
    const client = new SluiceClient({ baseUrl: 'http://sluice.test', apiKey: 'k', teamId: 't', fetch });
    const every = {
      messages: [{ role: 'user' as const, content: 'x' }],
      model: 'm',
      temperature: 0.5,
      max_tokens: 9,
      stop: 's',
      top_p: 0.9,
      tools: [{ type: 'function' as const, function: { name: 'f' } }],
      tool_choice: 'auto' as const,
      response_format: { type: 'text' as const },
      purpose: 'p',
    };
    await client.chat('job_1', { ...every, signal: new AbortController().signal, timeoutMs: 1000 });
    const sent = JSON.parse(String(calls[0]!.init.body)) as Record<string, unknown>;
    expect(Object.keys(sent).sort()).toEqual([...CHAT_PARAMS].sort());
  });
});
