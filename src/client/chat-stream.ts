/**
 * A streamed answer: an async iterable of `chat.completion.chunk`s read off one SSE response
 * (or, for a resumable call, off as many as it takes), with helpers that consume the rest.
 * Leaving the loop early (or aborting) closes the request, so the gateway sees the disconnect
 * and settles the call; a resumable call goes on until it ends or is cancelled.
 */
import { StreamError } from './errors.js';
import type { Sent } from './http.js';
import { createSSEDecoder, type ServerSentEvent } from './sse.js';
import { AnswerStream } from './answer-stream.js';
import type { BodyFormat, Resumption } from './stream-body.js';
import type { ChatCompletionChunk, ErrorBody, TokenUsage, ToolCall, ToolCallDelta } from './types.js';

/**
 * The chunk an event carries, or `null` for the terminal `[DONE]`. An in-band error event
 * (`data: {"error":{...}}`, or an `event: error`) and a non-JSON payload throw a `StreamError`.
 *
 * @example
 * chunkFromEvent({ event: null, data: '[DONE]', id: null }); // null
 */
export function chunkFromEvent(ev: ServerSentEvent, requestId: string | null = null): ChatCompletionChunk | null {
  if (ev.data === '[DONE]') return null;
  let json: unknown;
  try {
    json = JSON.parse(ev.data);
  } catch {
    throw new StreamError(`Malformed stream event: ${ev.data.slice(0, 200)}`, { code: 'invalid_event', requestId });
  }
  const inBand = json !== null && typeof json === 'object' && 'error' in json;
  if (inBand || ev.event === 'error') {
    const e = (inBand ? (json as ErrorBody).error : json) as Partial<ErrorBody['error']> | null;
    throw new StreamError(e?.message ?? 'The stream reported an error', {
      code: e?.code ?? null,
      type: e?.type ?? null,
      param: e?.param ?? null,
      requestId,
    });
  }
  return json as ChatCompletionChunk;
}

/**
 * Folds streamed tool-call pieces into whole calls (pieces with the same `index` belong together;
 * `arguments` arrive in fragments).
 *
 * @example
 * const calls: ToolCall[] = [];
 * addToolCallDeltas(calls, [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"ci' } }]);
 * addToolCallDeltas(calls, [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }]);
 * calls[0]!.function.arguments; // '{"city":"Oslo"}'
 */
export function addToolCallDeltas(calls: ToolCall[], deltas: ToolCallDelta[]): void {
  for (const d of deltas) {
    const call = (calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
    if (d.id) call.id = d.id;
    if (d.function?.name) call.function.name = d.function.name;
    if (d.function?.arguments) call.function.arguments += d.function.arguments;
  }
}

/** The number in an event's `id:` field, which a resumable call's events carry. */
const eventNumber = (ev: ServerSentEvent) => (ev.id !== null && /^\d+$/.test(ev.id) ? Number(ev.id) : undefined);

/**
 * One streamed answer. Iterate it once with `for await`; or call `text()`, `finalUsage()` or
 * `toolCalls()`, which read whatever is left and return the totals (over the chunks already
 * iterated too). `break` or `abort()` closes the HTTP request. A resumable stream (`resumable:
 * true`, or `client.resume()`) whose connection drops attaches again after `lastEventId` by
 * itself and goes on, with no chunk twice and none missing.
 *
 * @example
 * const stream = await client.chatStream(jobId, { messages: [{ role: 'user', content: 'Hi' }] });
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * console.log(await stream.finalUsage()); // { prompt_tokens, completion_tokens, total_tokens }
 */
export class ChatStream extends AnswerStream<ChatCompletionChunk, ServerSentEvent, TokenUsage> {
  /** Wraps a response that arrived (and how to open it again, for a resumable call); `SluiceClient` makes these. */
  constructor(sent: Sent, resumption: Resumption | null = null) {
    super(sent, resumption, 'before [DONE]');
  }

  protected take(chunk: ChatCompletionChunk): void {
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices?.find((c) => c.index === 0);
    if (!choice) return;
    if (choice.delta?.content) this.answerText += choice.delta.content;
    if (choice.delta?.tool_calls) addToolCallDeltas(this.calls, choice.delta.tool_calls);
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  /** How one connection's bytes become chunks (a fresh decoder each: a drop may cut an event). */
  protected format(): BodyFormat<ServerSentEvent, ChatCompletionChunk> {
    const decoder = createSSEDecoder();
    return {
      decode: (bytes) => decoder.decode(bytes),
      end: () => decoder.end(),
      parse: (ev) => {
        const chunk = chunkFromEvent(ev, this.requestId);
        const id = eventNumber(ev);
        return chunk === null ? { last: true, id } : { item: chunk, last: false, id };
      },
    };
  }
}
