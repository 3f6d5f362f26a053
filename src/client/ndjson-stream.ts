/**
 * A streamed answer as Sluice's NDJSON events (`format: 'ndjson'`): an async iterable of typed
 * events read off one response, with helpers that consume the rest. Leaving the loop early (or
 * aborting) closes the request, so the gateway sees the disconnect and settles the call.
 */
import { StreamError } from './errors.js';
import type { Sent } from './http.js';
import { createNDJSONDecoder } from './ndjson.js';
import { type BodyFormat, readBody } from './stream-body.js';
import type { FinishReason, NdjsonChunk, NdjsonEvent, NdjsonUsage, ToolCall } from './types.js';

type Metadata = Extract<NdjsonEvent, { type: 'metadata' }>['metadata'];

const KNOWN = new Set<string>(['metadata', 'token', 'chunk', 'done', 'error']);

/**
 * The event one line carries, or `null` for a type this client does not know (a newer gateway's,
 * skipped). An `error` line and a line that is not a JSON event throw a `StreamError`.
 *
 * @example
 * eventFromLine('{"type":"token","data":"Hel","metadata":{}}'); // { type: 'token', data: 'Hel', metadata: {} }
 */
export function eventFromLine(line: string, requestId: string | null = null): NdjsonEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    json = null;
  }
  const type = json !== null && typeof json === 'object' ? (json as { type?: unknown }).type : undefined;
  if (typeof type !== 'string')
    throw new StreamError(`Malformed stream event: ${line.slice(0, 200)}`, { code: 'invalid_event', requestId });
  if (type === 'error') {
    const { data, metadata } = json as Partial<Extract<NdjsonEvent, { type: 'error' }>>;
    throw new StreamError(typeof data === 'string' ? data : 'The stream reported an error', {
      code: metadata?.code ?? null,
      type: metadata?.type ?? null,
      requestId,
    });
  }
  return KNOWN.has(type) ? (json as NdjsonEvent) : null;
}

/**
 * Folds one streamed piece of a tool call into the calls so far: a `tool_call` starts the call
 * at its index (a later one adds to its name), `tool_args` fragments add to its arguments.
 *
 * @example
 * const calls: ToolCall[] = [];
 * addToolCallChunk(calls, { tool_call: { index: 0, id: 'call_1', name: 'weather' } });
 * addToolCallChunk(calls, { tool_args: { index: 0, args: '{"city":"Oslo"}' } });
 * calls[0]!.function.arguments; // '{"city":"Oslo"}'
 */
export function addToolCallChunk(calls: ToolCall[], chunk: NdjsonChunk): void {
  const piece = 'tool_call' in chunk ? chunk.tool_call : 'tool_args' in chunk ? chunk.tool_args : null;
  if (!piece) return;
  const call = (calls[piece.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
  if ('tool_call' in chunk) {
    if (chunk.tool_call.id) call.id = chunk.tool_call.id;
    call.function.name += chunk.tool_call.name;
  } else if ('tool_args' in chunk) call.function.arguments += chunk.tool_args.args;
}

/**
 * One streamed answer as NDJSON events: `metadata`, then `token` and `chunk` events, then
 * `done`, the last one yielded. An `error` line throws a `StreamError`; blank lines
 * (keep-alives) and event types this client does not know are skipped. Iterate it once with
 * `for await`; or call `text()`, `finalUsage()` or `toolCalls()`, which read whatever is left
 * and return the totals (over the events already iterated too).
 *
 * @example
 * const stream = await client.chatStream(jobId, { messages: [{ role: 'user', content: 'Hi' }], format: 'ndjson' });
 * for await (const event of stream) if (event.type === 'token') process.stdout.write(event.data);
 * console.log(await stream.finalUsage()); // { prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, total_tokens }
 */
export class NdjsonStream implements AsyncIterable<NdjsonEvent> {
  /** The HTTP response (status 200; its body is this stream). */
  readonly response: Response;
  /** The job the call belongs to (`x-job-id`); for `createAndCallStream`, the job it created. */
  readonly jobId: string | null;
  /** The call's id (`x-call-id`). */
  readonly callId: string | null;
  /** The gateway's `x-request-id`. */
  readonly requestId: string | null;

  readonly #sent: Sent;
  readonly #events: AsyncGenerator<NdjsonEvent, void, undefined>;
  #metadata: Metadata | null = null;
  #text = '';
  #usage: NdjsonUsage | null = null;
  #finishReason: FinishReason | null = null;
  #toolCalls: ToolCall[] = [];

  /** Wraps a response that arrived; `SluiceClient` makes these. */
  constructor(sent: Sent) {
    this.#sent = sent;
    this.response = sent.response;
    this.jobId = sent.response.headers.get('x-job-id');
    this.callId = sent.response.headers.get('x-call-id');
    this.requestId = sent.response.headers.get('x-request-id');
    this.#events = this.#read();
  }

  [Symbol.asyncIterator](): AsyncIterator<NdjsonEvent> {
    return this.#events;
  }

  /** The `metadata` line (job, call, the alias asked for and the upstream model), once it has been read. */
  get metadata(): Metadata | null {
    return this.#metadata;
  }

  /** The whole text of the answer (its `token` events), reading the rest of the stream first. */
  async text(): Promise<string> {
    await this.#drain();
    return this.#text;
  }

  /** The usage of the `done` line, reading the rest of the stream first; `null` if the upstream reported none. */
  async finalUsage(): Promise<NdjsonUsage | null> {
    await this.#drain();
    return this.#usage;
  }

  /** The tool calls the model made, assembled, reading the rest of the stream first. */
  async toolCalls(): Promise<ToolCall[]> {
    await this.#drain();
    return this.#toolCalls.filter(Boolean);
  }

  /** The finish reason of the `done` line (`stop`, `length`, `tool_calls`...), or `null` before it. */
  get finishReason(): FinishReason | null {
    return this.#finishReason;
  }

  /** Stops reading and closes the request; a pending or later read throws `APIUserAbortError`. */
  abort(): void {
    this.#sent.abort();
  }

  async #drain(): Promise<void> {
    for (;;) if ((await this.#events.next()).done) return;
  }

  #take(event: NdjsonEvent): void {
    switch (event.type) {
      case 'metadata':
        this.#metadata = event.metadata;
        break;
      case 'token':
        this.#text += event.data;
        break;
      case 'chunk':
        addToolCallChunk(this.#toolCalls, event.data);
        break;
      case 'done':
        this.#usage = event.metadata.usage;
        this.#finishReason = event.metadata.finish_reason;
        break;
    }
  }

  async *#read(): AsyncGenerator<NdjsonEvent, void, undefined> {
    const decoder = createNDJSONDecoder();
    const format: BodyFormat<string, NdjsonEvent> = {
      decode: (bytes) => decoder.decode(bytes),
      end: () => decoder.end(),
      parse: (line) => {
        const event = eventFromLine(line, this.requestId);
        return event === null ? { last: false } : { item: event, last: event.type === 'done' };
      },
    };
    for await (const event of readBody(this.#sent, this.requestId, format, 'before its done event')) {
      this.#take(event);
      yield event;
    }
  }
}
