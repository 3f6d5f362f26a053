/**
 * A streamed answer as Sluice's NDJSON events (`format: 'ndjson'`): an async iterable of typed
 * events read off one response (or, for a resumable call, off as many as it takes), with helpers
 * that consume the rest. Leaving the loop early (or aborting) closes the request, so the gateway
 * sees the disconnect and settles the call; a resumable call goes on until it ends or is cancelled.
 */
import { StreamError } from './errors.js';
import type { Sent } from './http.js';
import { createNDJSONDecoder } from './ndjson.js';
import { AnswerStream } from './answer-stream.js';
import type { BodyFormat, Resumption } from './stream-body.js';
import type { NdjsonChunk, NdjsonEvent, NdjsonUsage, ToolCall } from './types.js';

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
  return readLine(line, requestId).event;
}

/** A line's event (as `eventFromLine`) and its number, `seq`, which a resumable call's lines carry. */
function readLine(line: string, requestId: string | null): { event: NdjsonEvent | null; seq?: number } {
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
  const seq = (json as { seq?: unknown }).seq;
  return {
    event: KNOWN.has(type) ? (json as NdjsonEvent) : null,
    seq: typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : undefined,
  };
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
 * and return the totals (over the events already iterated too). A resumable stream (`resumable:
 * true`, or `client.resume()`) whose connection drops attaches again after `lastEventId` by
 * itself and goes on, with no event twice and none missing.
 *
 * @example
 * const stream = await client.chatStream(jobId, { messages: [{ role: 'user', content: 'Hi' }], format: 'ndjson' });
 * for await (const event of stream) if (event.type === 'token') process.stdout.write(event.data);
 * console.log(await stream.finalUsage()); // { prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, total_tokens }
 */
export class NdjsonStream extends AnswerStream<NdjsonEvent, string, NdjsonUsage> {
  #metadata: Metadata | null = null;

  /** Wraps a response that arrived (and how to open it again, for a resumable call); `SluiceClient` makes these. */
  constructor(sent: Sent, resumption: Resumption | null = null) {
    super(sent, resumption, 'before its done event');
  }

  /** The `metadata` line (job, call, the alias asked for and the upstream model), once it has been read. */
  get metadata(): Metadata | null {
    return this.#metadata;
  }

  protected take(event: NdjsonEvent): void {
    switch (event.type) {
      case 'metadata':
        this.#metadata = event.metadata;
        break;
      case 'token':
        this.answerText += event.data;
        break;
      case 'chunk':
        addToolCallChunk(this.calls, event.data);
        break;
      case 'done':
        this.usage = event.metadata.usage;
        this.finish = event.metadata.finish_reason;
        break;
    }
  }

  /** How one connection's bytes become events (a fresh decoder each: a drop may cut a line). */
  protected format(): BodyFormat<string, NdjsonEvent> {
    const decoder = createNDJSONDecoder();
    return {
      decode: (bytes) => decoder.decode(bytes),
      end: () => decoder.end(),
      parse: (line) => {
        const { event, seq: id } = readLine(line, this.requestId);
        return event === null ? { last: false, id } : { item: event, last: event.type === 'done', id };
      },
    };
  }
}
