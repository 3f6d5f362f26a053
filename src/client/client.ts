import { ChatStream } from './chat-stream.js';
import { APIConnectionError, SluiceError } from './errors.js';
import { abortError, type FetchLike, type RequestPolicy, type Sent, send } from './http.js';
import { NdjsonStream } from './ndjson-stream.js';
import type { Resumption } from './stream-body.js';
import type {
  CallDetail,
  CancelledCall,
  ChatParams,
  CompleteJobResult,
  CreateAndCallResult,
  Credits,
  Job,
  JobCosts,
  JobStatus,
  JobSummary,
  LlmCallResult,
  ModelList,
  Page,
  Reports,
  TeamUsage,
} from './types.js';

/**
 * How to reach Sluice and how patient to be.
 *
 * @example
 * const options: SluiceClientOptions = { baseUrl: 'http://127.0.0.1:8787', apiKey: 'sk-sluice-...', teamId: 'acme-corp' };
 */
export interface SluiceClientOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:8787` (a trailing `/` is fine). */
  baseUrl: string;
  /** A virtual key (`sk-sluice-...`). */
  apiKey: string;
  /** The team the key belongs to; new jobs and team reads use it. */
  teamId: string;
  /** Another `fetch` (a Worker's service binding, a test double); default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Milliseconds to wait for response headers, per attempt (default 60 000; `0` for none). */
  timeoutMs?: number;
  /** Retries after a network error, a timeout, a 429 or a 5xx, before any byte arrived (default 2). */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, up to `maxRetryDelayMs` (defaults 500 and 8 000). */
  initialRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** The longest `Retry-After` honoured, in milliseconds (default 60 000). */
  maxRetryAfterMs?: number;
}

/**
 * Per-call overrides.
 *
 * @example
 * await client.credits({ signal: AbortSignal.timeout(2_000), maxRetries: 0 });
 */
export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  maxRetries?: number;
}

/**
 * Options of one LLM call: the generation parameters plus an optional `signal`.
 *
 * @example
 * const call: CallOptions = { messages: [{ role: 'user', content: 'Hi' }], temperature: 0.7, signal: controller.signal };
 */
export type CallOptions = ChatParams & RequestOptions;

/**
 * Options of a one-request job: its type (and user, metadata) plus the call's parameters.
 *
 * @example
 * const opts: CreateAndCallOptions = { jobType: 'chat', model: 'mock', messages: [{ role: 'user', content: 'Hi' }] };
 */
export type CreateAndCallOptions = CallOptions & {
  jobType: string;
  userId?: string;
  metadata?: Record<string, unknown>;
};

/**
 * How a streamed call's answer arrives: `sse` (the default), OpenAI `chat.completion.chunk`s in
 * a `ChatStream`; `ndjson`, Sluice's own events (`metadata`, `token`, `chunk`, `done`) in an
 * `NdjsonStream`.
 *
 * @example
 * const stream = await client.chatStream(jobId, { messages, format: 'ndjson' satisfies StreamFormat });
 */
export type StreamFormat = 'sse' | 'ndjson';

/**
 * How a resumable stream attaches again after its connection drops: `maxAttempts` tries in a row
 * that bring no new event (default 5), the first after `initialDelayMs` (default 100), each wait
 * twice the last, up to `maxDelayMs` (default 2 000); then it throws `APIConnectionError`.
 *
 * @example
 * const stream = await client.chatStream(jobId, { messages, resumable: { maxAttempts: 10, maxDelayMs: 5_000 } });
 */
export interface ReconnectOptions {
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * The options of the streaming calls: the format, and whether the call is resumable.
 *
 * `resumable: true` has the gateway run the call on its own, so it goes on when the connection
 * drops: the stream then attaches again after the last event it read, by itself, and yields on
 * with no chunk twice and none missing. Leaving the loop or `abort()` then closes the request but
 * not the call, which runs to its end (and is charged): stop it with `client.cancel(callId)`.
 * Pass `ReconnectOptions` instead of `true` to tune the attempts.
 *
 * @example
 * const opts: CallOptions & StreamOptions<'ndjson'> = { messages, format: 'ndjson' };
 * @example
 * const stream = await client.chatStream(jobId, { messages, resumable: true });
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? ''); // survives a dropped connection
 */
export interface StreamOptions<F extends StreamFormat = StreamFormat> {
  format?: F;
  resumable?: boolean | ReconnectOptions;
}

/**
 * Options of `resume()`: where to start, the format the call streams in (default `sse`), and how
 * to attach again if this connection drops too.
 *
 * @example
 * const rest = await client.resume(callId, { after: stream.lastEventId ?? undefined, format: 'ndjson' });
 */
export interface ResumeOptions<F extends StreamFormat = StreamFormat> extends RequestOptions {
  /** The number of the last event the caller has (SSE `id`, NDJSON `seq`); the stream starts after it. Default: from the first. */
  after?: number;
  format?: F;
  reconnect?: ReconnectOptions;
}

const ACCEPT: Record<StreamFormat, string> = { sse: 'text/event-stream', ndjson: 'application/x-ndjson' };

const DEFAULTS = {
  timeoutMs: 60_000,
  maxRetries: 2,
  initialRetryDelayMs: 500,
  maxRetryDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

const RECONNECT = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 2_000 };

const CHAT_KEYS = [
  'messages',
  'model',
  'temperature',
  'max_tokens',
  'stop',
  'top_p',
  'tools',
  'tool_choice',
  'response_format',
  'purpose',
] as const;

function chatBody(opts: CallOptions): ChatParams {
  const body: Record<string, unknown> = {};
  for (const k of CHAT_KEYS) if (opts[k] !== undefined) body[k] = opts[k];
  return body as unknown as ChatParams;
}

const seg = encodeURIComponent;

/**
 * The typed client for Sluice's job API: jobs, streamed and whole LLM calls, credits and the
 * team's usage reads. Uses only `fetch`, `ReadableStream`, `TextDecoder` and `AbortController`,
 * so it runs in Node 20+, browsers and Workers.
 *
 * @example
 * const client = new SluiceClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: process.env.SLUICE_KEY!, teamId: 'acme-corp' });
 * const jobId = await client.createJob('chat');
 * const stream = await client.chatStream(jobId, { messages: [{ role: 'user', content: 'Hello' }] });
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * const { costs } = await client.completeJob(jobId, 'completed');
 * console.log(`\nCredits remaining: ${costs.credits_remaining}`);
 */
export class SluiceClient {
  readonly baseUrl: string;
  readonly teamId: string;
  readonly #apiKey: string;
  readonly #fetch: FetchLike;
  readonly #policy: RequestPolicy;

  constructor(options: SluiceClientOptions) {
    if (!options.baseUrl) throw new TypeError('SluiceClient: baseUrl is required');
    if (!options.apiKey) throw new TypeError('SluiceClient: apiKey is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.teamId = options.teamId;
    this.#apiKey = options.apiKey;
    // Looked up per call (not bound once) so a page or test may swap globalThis.fetch later.
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#policy = {
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
      initialRetryDelayMs: options.initialRetryDelayMs ?? DEFAULTS.initialRetryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULTS.maxRetryDelayMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    };
  }

  /**
   * Opens a job (and holds its credit); returns its id.
   *
   * @example
   * const jobId = await client.createJob('support_chat', { userId: 'user-42', metadata: { ticket: 'T-1' } });
   */
  async createJob(
    jobType: string,
    options: { metadata?: Record<string, unknown>; userId?: string } & RequestOptions = {},
  ): Promise<string> {
    const body = { team_id: this.teamId, job_type: jobType, user_id: options.userId, metadata: options.metadata };
    const res = await this.#json<{ job_id: string }>('POST', '/api/jobs/create', body, options);
    return res.job_id;
  }

  /**
   * Streams one LLM call inside a job. Resolves once the response headers arrive (errors such as
   * 402 or 404 throw here); the chunks then arrive through the returned `ChatStream`.
   *
   * With `format: 'ndjson'`, they arrive as Sluice's own events through an `NdjsonStream`.
   *
   * @example
   * const stream = await client.chatStream(jobId, { messages: [{ role: 'user', content: 'Write a haiku' }], temperature: 0.7 });
   * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
   * @example
   * const events = await client.chatStream(jobId, { messages: [{ role: 'user', content: 'Hi' }], format: 'ndjson' });
   * for await (const event of events) if (event.type === 'token') process.stdout.write(event.data);
   */
  chatStream(jobId: string, options: CallOptions & StreamOptions<'sse'>): Promise<ChatStream>;
  chatStream(jobId: string, options: CallOptions & StreamOptions & { format: 'ndjson' }): Promise<NdjsonStream>;
  chatStream(jobId: string, options: CallOptions & StreamOptions): Promise<ChatStream | NdjsonStream>;
  chatStream(jobId: string, options: CallOptions & StreamOptions): Promise<ChatStream | NdjsonStream> {
    return this.#stream(`/api/jobs/${seg(jobId)}/llm-call-stream`, chatBody(options), options);
  }

  /**
   * Makes one LLM call inside a job and returns the whole answer.
   *
   * @example
   * const { response, metadata } = await client.chat(jobId, { messages: [{ role: 'user', content: 'Summarize: ...' }] });
   * console.log(response.content, metadata.tokens_used);
   */
  chat(jobId: string, options: CallOptions): Promise<LlmCallResult> {
    return this.#json('POST', `/api/jobs/${seg(jobId)}/llm-call`, chatBody(options), options);
  }

  /**
   * Finishes a job: `completed` charges its credit, `failed` releases it. Returns its costs and calls.
   *
   * @example
   * const result = await client.completeJob(jobId, 'completed', { metadata: { rating: 5 } });
   * console.log(result.costs.credits_remaining);
   */
  completeJob(
    jobId: string,
    status: 'completed' | 'failed',
    options: { metadata?: Record<string, unknown>; errorMessage?: string } & RequestOptions = {},
  ): Promise<CompleteJobResult> {
    const body = { status, metadata: options.metadata, error_message: options.errorMessage };
    return this.#json('POST', `/api/jobs/${seg(jobId)}/complete`, body, options);
  }

  /**
   * Creates a job, streams one call and lets the gateway complete the job: one request. The
   * new job's id is `stream.jobId`.
   *
   * @example
   * const stream = await client.createAndCallStream({ jobType: 'chat', messages: [{ role: 'user', content: 'Hello' }] });
   * console.log(stream.jobId, await stream.text());
   * @example
   * const events = await client.createAndCallStream({ jobType: 'chat', messages, format: 'ndjson' });
   * console.log(await events.text(), await events.finalUsage());
   */
  createAndCallStream(options: CreateAndCallOptions & StreamOptions<'sse'>): Promise<ChatStream>;
  createAndCallStream(options: CreateAndCallOptions & StreamOptions & { format: 'ndjson' }): Promise<NdjsonStream>;
  createAndCallStream(options: CreateAndCallOptions & StreamOptions): Promise<ChatStream | NdjsonStream>;
  createAndCallStream(options: CreateAndCallOptions & StreamOptions): Promise<ChatStream | NdjsonStream> {
    return this.#stream('/api/jobs/create-and-call-stream', this.#newJobBody(options), options);
  }

  /**
   * Reads a resumable call's stream (one started with `resumable: true`) from the event after
   * `after`, or from its first: the events stored, then the live ones until the call ends. It is
   * a stream like the one the call started with, and attaches again by itself if it drops too.
   * Give the `format` the call was started with (default `sse`); calls started on the job API or
   * `/v1/chat/completions` can be read so.
   *
   * @example
   * const stream = await client.chatStream(jobId, { messages, resumable: true });
   * const callId = stream.callId!;
   * // ...the process restarts; later, with the last event id it had kept:
   * const rest = await client.resume(callId, { after: 12 });
   * for await (const chunk of rest) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
   * @example
   * const events = await client.resume(callId, { format: 'ndjson' }); // the whole call again, from its metadata line
   * console.log(await events.text());
   */
  resume(callId: string, options?: ResumeOptions<'sse'>): Promise<ChatStream>;
  resume(callId: string, options: ResumeOptions & { format: 'ndjson' }): Promise<NdjsonStream>;
  resume(callId: string, options?: ResumeOptions): Promise<ChatStream | NdjsonStream>;
  async resume(callId: string, options: ResumeOptions = {}): Promise<ChatStream | NdjsonStream> {
    const format = options.format ?? 'sse';
    const after = options.after !== undefined && options.after >= 0 ? options.after : null;
    const sent = await this.#attach(callId, format, after, options);
    const type = sent.response.headers.get('content-type') ?? '';
    // A 204 (the call ended, nothing after `after`) has no type: it is an empty stream of either.
    if (sent.response.status !== 204 && !type.includes(ACCEPT[format])) {
      sent.abort();
      sent.release();
      await sent.response.body?.cancel().catch(() => {});
      throw new SluiceError(
        `The call streams ${type || 'an unknown type'}, not ${format}: resume it in its own format`,
        {
          status: sent.response.status,
          code: 'format_mismatch',
          requestId: sent.response.headers.get('x-request-id'),
        },
      );
    }
    return this.#open(format, sent, this.#resumption(callId, format, after, options, options.reconnect ?? {}));
  }

  /**
   * Cancels a resumable call: the gateway closes its upstream at once and records and charges
   * what it produced. Resolves once that is written, with the call's status (`client_aborted`;
   * `success` or `error` if it had already ended). Its readers get a `call_cancelled` error last.
   *
   * @example
   * const stream = await client.createAndCallStream({ jobType: 'essay', messages, resumable: true });
   * const { status } = await client.cancel(stream.callId!); // 'client_aborted'
   */
  cancel(callId: string, options: RequestOptions = {}): Promise<CancelledCall> {
    return this.#json('POST', `/api/calls/${seg(callId)}/cancel`, undefined, options);
  }

  /**
   * Creates a job, makes one call and completes the job: the answer and the settled costs.
   *
   * @example
   * const { job_id, response, costs } = await client.createAndCall({ jobType: 'classify', messages });
   */
  createAndCall(options: CreateAndCallOptions): Promise<CreateAndCallResult> {
    return this.#json('POST', '/api/jobs/create-and-call', this.#newJobBody(options), options);
  }

  /**
   * A job with its calls and costs.
   *
   * @example
   * const job = await client.getJob(jobId);
   * console.log(job.status, job.costs.total_tokens);
   */
  getJob(jobId: string, options: RequestOptions = {}): Promise<Job> {
    return this.#json('GET', `/api/jobs/${seg(jobId)}`, undefined, options);
  }

  /**
   * One call of a job, whole: its usage, cost, timing and the answer it stored.
   *
   * @example
   * const { content, tool_calls } = await client.getCall(jobId, stream.callId!);
   */
  getCall(jobId: string, callId: string, options: RequestOptions = {}): Promise<CallDetail> {
    return this.#json('GET', `/api/jobs/${seg(jobId)}/calls/${seg(callId)}`, undefined, options);
  }

  /**
   * A job's costs and per-call breakdown.
   *
   * @example
   * const { costs, calls } = await client.jobCosts(jobId);
   */
  jobCosts(jobId: string, options: RequestOptions = {}): Promise<JobCosts> {
    return this.#json('GET', `/api/jobs/${seg(jobId)}/costs`, undefined, options);
  }

  /**
   * The team's available and held credits.
   *
   * @example
   * const { credits_remaining, credits_held } = await client.credits();
   */
  credits(options: RequestOptions = {}): Promise<Credits> {
    return this.#json('GET', `/api/teams/${seg(this.teamId)}/credits`, undefined, options);
  }

  /**
   * The model aliases this key may call (`GET /v1/models`).
   *
   * @example
   * const ids = (await client.models()).data.map((m) => m.id);
   */
  models(options: RequestOptions = {}): Promise<ModelList> {
    return this.#json('GET', '/v1/models', undefined, options);
  }

  /**
   * A month of the team's usage: totals, by job type, by model. `period` is `YYYY-MM` (UTC); default this month.
   *
   * @example
   * const { totals, by_model } = await client.usage('2026-11');
   */
  usage(period?: string, options: RequestOptions = {}): Promise<TeamUsage> {
    return this.#json('GET', `/api/teams/${seg(this.teamId)}/usage${query({ period })}`, undefined, options);
  }

  /**
   * The team's jobs, newest first, a page at a time.
   *
   * @example
   * const page = await client.jobs({ status: 'completed', limit: 20 });
   * const next = page.next_cursor ? await client.jobs({ cursor: page.next_cursor }) : null;
   */
  jobs(
    filter: { status?: JobStatus; limit?: number; cursor?: string } = {},
    options: RequestOptions = {},
  ): Promise<Page<JobSummary>> {
    return this.#json('GET', `/api/teams/${seg(this.teamId)}/jobs${query(filter)}`, undefined, options);
  }

  /**
   * Daily credit reports for `from..to` (UTC days, both included; default the 30 days up to yesterday).
   *
   * @example
   * const { data } = await client.reports({ from: '2026-11-01', to: '2026-11-30' });
   */
  reports(range: { from?: string; to?: string } = {}, options: RequestOptions = {}): Promise<Reports> {
    return this.#json('GET', `/api/teams/${seg(this.teamId)}/reports${query(range)}`, undefined, options);
  }

  #newJobBody(options: CreateAndCallOptions) {
    return {
      team_id: this.teamId,
      job_type: options.jobType,
      user_id: options.userId,
      metadata: options.metadata,
      ...chatBody(options),
    };
  }

  #policyFor(options: RequestOptions): RequestPolicy {
    return {
      ...this.#policy,
      timeoutMs: options.timeoutMs ?? this.#policy.timeoutMs,
      maxRetries: options.maxRetries ?? this.#policy.maxRetries,
    };
  }

  #send(
    method: string,
    path: string,
    body: unknown,
    accept: string,
    options: RequestOptions,
    extra: Record<string, string> = {},
  ) {
    const headers: Record<string, string> = { ...extra, authorization: `Bearer ${this.#apiKey}`, accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    return send(this.#fetch, this.#policyFor(options), `${this.baseUrl}${path}`, init, options.signal);
  }

  async #json<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
    const sent = await this.#send(method, path, body, 'application/json', options);
    try {
      let text: string;
      try {
        text = await sent.response.text();
      } catch (err) {
        if (sent.signal.aborted) throw abortError(sent.signal);
        throw new APIConnectionError(`The response broke off: ${(err as Error)?.message ?? String(err)}`, {
          cause: err,
        });
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new SluiceError(`Expected JSON from ${method} ${path}, got: ${text.slice(0, 200)}`, {
          status: sent.response.status,
          code: 'invalid_response',
          requestId: sent.response.headers.get('x-request-id'),
        });
      }
    } finally {
      sent.release();
    }
  }

  async #stream(
    path: string,
    body: object,
    options: RequestOptions & StreamOptions,
  ): Promise<ChatStream | NdjsonStream> {
    const format = options.format ?? 'sse';
    const wanted = options.resumable ?? false;
    const sent = await this.#send('POST', path, wanted ? { ...body, resumable: true } : body, ACCEPT[format], options);
    const callId = sent.response.headers.get('x-call-id');
    // A gateway that did not take the call as resumable streams it as before: nothing to attach to again.
    const resumable = wanted !== false && callId !== null && sent.response.headers.get('x-sluice-resumable') === 'true';
    const reconnect = typeof wanted === 'object' ? wanted : {};
    return this.#open(format, sent, resumable ? this.#resumption(callId, format, null, options, reconnect) : null);
  }

  #open(format: StreamFormat, sent: Sent, resumption: Resumption | null): ChatStream | NdjsonStream {
    return format === 'ndjson' ? new NdjsonStream(sent, resumption) : new ChatStream(sent, resumption);
  }

  /** A call's stream from after event `after`: SSE names it as EventSource does, NDJSON in the query. */
  #attach(callId: string, format: StreamFormat, after: number | null, options: RequestOptions): Promise<Sent> {
    const path = `/api/calls/${seg(callId)}/stream`;
    if (after === null) return this.#send('GET', path, undefined, ACCEPT[format], options);
    if (format === 'sse')
      return this.#send('GET', path, undefined, ACCEPT[format], options, { 'last-event-id': String(after) });
    return this.#send('GET', `${path}${query({ after })}`, undefined, ACCEPT[format], options);
  }

  #resumption(
    callId: string,
    format: StreamFormat,
    after: number | null,
    options: RequestOptions,
    reconnect: ReconnectOptions,
  ): Resumption {
    return {
      after,
      // One try per attempt: the stream counts and spaces the attempts itself.
      open: (from, signal) =>
        this.#attach(callId, format, from, { timeoutMs: options.timeoutMs, maxRetries: 0, signal }),
      signal: options.signal,
      maxAttempts: reconnect.maxAttempts ?? RECONNECT.maxAttempts,
      initialDelayMs: reconnect.initialDelayMs ?? RECONNECT.initialDelayMs,
      maxDelayMs: reconnect.maxDelayMs ?? RECONNECT.maxDelayMs,
    };
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
