/**
 * Stream events as OpenAI's Responses API writes them, and whole answers as its `response`
 * object. Both SDKs are strict readers: the openai SDK's stream helper throws on an event type it
 * does not know and builds its snapshot by pushing items in `output_index` order (so a message
 * item needs `content: []` and a `content_part.added` before its first delta), and the AI SDK
 * validates each event it models and runs tools only after `response.completed`. So every event
 * carries `sequence_number`, and the terminal event carries the whole output.
 */
import type { Completion, FinishReason, PriceOf, StreamError, TokenUsage } from '../../core/completion';
import { concatBytes } from '../../lib/bytes';
import type { Encoder } from '../../streaming/codec';
import { costFields } from '../cost';
import type { ResponsesRequest } from './request';

const encoder = new TextEncoder();

export interface ResponseIdentity {
  /** `resp_…`: the response's id. */
  id: string;
  /** The stem of its items' ids (`msg_<stem>`, `fc_<stem>_<n>`). */
  stem: string;
  /** Unix seconds. */
  createdAt: number;
  /** The model the client asked for. */
  model: string;
  /** The request's settings a response object repeats. */
  echo: ResponseEcho;
  /** Prices the final usage (`cost_usd`, `credits` in it). */
  cost?: PriceOf;
  /** Run in the background (a resumable call): retrievable and cancellable by its id. */
  background?: boolean;
}

/**
 * A call's response identity: `resp_<stem>` and its items' ids from the call's own id, so a later
 * request can refer back to them.
 */
export function responseIdentity(
  callId: string,
  r: { model: string; createdAt: number; echo: ResponseEcho; background?: boolean },
): Omit<ResponseIdentity, 'cost'> {
  const stem = callId.replace(/^call_/, '');
  return { id: `resp_${stem}`, stem, createdAt: r.createdAt, model: r.model, echo: r.echo, background: r.background };
}

/** The call a response id of Sluice's names (`resp_<stem>`), or null when it is not one of Sluice's. */
export function callOfResponse(responseId: string): string | null {
  const m = /^resp_([A-Za-z0-9]+)$/.exec(responseId);
  return m ? `call_${m[1]}` : null;
}

/** The request settings every `response` object states (OpenAI's defaults where the client set none). */
export interface ResponseEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  temperature: number;
  text: object;
  tool_choice: unknown;
  tools: unknown[];
  top_p: number;
}

export function echoOf(body: ResponsesRequest): ResponseEcho {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
  };
}

/** The item ids of a response: its message is the call's, in the form clients refer back to. */
export const messageId = (stem: string, n: number) => (n === 0 ? `msg_${stem}` : `msg_${stem}_${n}`);
const functionCallId = (stem: string, n: number) => `fc_${stem}_${n}`;

/** The call an item id of Sluice's names (`msg_<stem>[_n]`), or null when it is not one of Sluice's. */
export function callOfItem(itemId: string): string | null {
  const m = /^msg_([A-Za-z0-9]+)(?:_\d+)?$/.exec(itemId);
  return m ? `call_${m[1]}` : null;
}

type Status = 'in_progress' | 'completed' | 'incomplete';

const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });

const messageItem = (id: string, text: string | null, status: Status) => ({
  id,
  type: 'message',
  status,
  role: 'assistant',
  content: text === null ? [] : [textPart(text)],
});

const functionCallItem = (id: string, callId: string, name: string, args: string, status: Status) => ({
  id,
  type: 'function_call',
  status,
  arguments: args,
  call_id: callId,
  name,
});

/** Usage as the Responses API counts it, and what the call cost where that is known. */
export function responsesUsage(u: TokenUsage, cost?: PriceOf) {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cachedInput, cache_write_tokens: u.cacheWrite },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
    ...costFields(u, cost),
  };
}

/** How an answer ended, as the Responses API says it: cut short is `incomplete`, with the reason. */
function ending(reason: FinishReason | null) {
  if (reason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (reason === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

interface ResponseState {
  status: string;
  output: object[];
  usage: ReturnType<typeof responsesUsage> | null;
  error?: { code: string; message: string } | null;
  incomplete_details?: object | null;
  completed_at?: number | null;
}

/** The `response` object, as every snapshot event and the non-streaming answer carry it. */
function responseObject(r: ResponseIdentity, state: ResponseState) {
  return {
    id: r.id,
    object: 'response' as const,
    created_at: r.createdAt,
    status: state.status,
    completed_at: state.completed_at ?? null,
    background: r.background ?? false,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    ...r.echo,
    model: r.model,
    output: state.output,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: r.background ?? false,
    truncation: 'disabled',
    usage: state.usage,
    user: null,
  };
}

/** A whole answer as a `response` object (non-streaming calls). */
export function responseOf(r: ResponseIdentity, completion: Completion, usage: TokenUsage) {
  return responseObject(r, {
    ...ending(completion.finishReason),
    output: outputOf(r, completion, 'completed'),
    usage: responsesUsage(usage, r.cost),
    completed_at: Math.floor(Date.now() / 1000),
  });
}

/** The output items an answer (whole or so far) spells out. */
function outputOf(r: ResponseIdentity, completion: Completion, status: Status) {
  const output: object[] = [];
  if (completion.content) output.push(messageItem(messageId(r.stem, 0), completion.content, status));
  completion.toolCalls.forEach((call, n) =>
    output.push(
      functionCallItem(
        functionCallId(r.stem, n),
        call.id || `call_${r.stem}_${n}`,
        call.function.name,
        call.function.arguments,
        status,
      ),
    ),
  );
  return output;
}

/** Where a background response stands, as `GET /v1/responses/{id}` reports it. */
export type BackgroundState =
  | { status: 'in_progress' }
  | { status: 'ended'; usage: TokenUsage; completedAt: number }
  | { status: 'cancelled' | 'failed'; usage: TokenUsage; error: StreamError | null };

/** A background response's `response` object: the answer so far, or whole, and how it ended. */
export function backgroundResponse(r: ResponseIdentity, completion: Completion, state: BackgroundState) {
  if (state.status === 'in_progress')
    return responseObject(r, { status: 'in_progress', output: outputOf(r, completion, 'in_progress'), usage: null });
  if (state.status === 'ended')
    return responseObject(r, {
      ...ending(completion.finishReason),
      output: outputOf(r, completion, 'completed'),
      usage: responsesUsage(state.usage, r.cost),
      completed_at: Math.floor(state.completedAt / 1000),
    });
  return responseObject(r, {
    status: state.status,
    output: outputOf(r, completion, 'incomplete'),
    usage: responsesUsage(state.usage, r.cost),
    error: state.status === 'failed' ? { code: 'server_error', message: state.error?.message ?? 'failed' } : null,
  });
}

type OpenItem =
  | { kind: 'message'; id: string; text: string; open: boolean }
  | { kind: 'function_call'; id: string; callId: string; name: string; args: string; open: boolean };

const itemOf = (item: OpenItem, status: Status) =>
  item.kind === 'message'
    ? messageItem(item.id, item.text, status)
    : functionCallItem(item.id, item.callId, item.name, item.args, status);

/**
 * Stream events as Responses events: `response.created` and `response.in_progress` first, then
 * each text or tool call as an output item (added; its deltas; done), then `response.completed`
 * (`response.incomplete` when cut short) with the whole output and the usage. A failure is
 * `response.failed`, carrying the output so far.
 */
export function responsesEncoder(r: ResponseIdentity): Encoder {
  let seq = 0;
  let started = false;
  const items: OpenItem[] = [];
  /** The message item text goes to (null: the next text opens one). */
  let message: Extract<OpenItem, { kind: 'message' }> | null = null;
  const toolItems = new Map<number, Extract<OpenItem, { kind: 'function_call' }>>(); // tool call index -> item
  let reason: FinishReason | null = null;
  let usage: TokenUsage | null = null;

  const event = (type: string, data: object) =>
    encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  const snapshot = (state: ResponseState) => ({ response: responseObject(r, state) });

  const start = (out: Uint8Array[]) => {
    if (started) return;
    started = true;
    const state = { status: 'in_progress', output: [], usage: null };
    out.push(event('response.created', snapshot(state)), event('response.in_progress', snapshot(state)));
  };
  const add = (item: OpenItem, out: Uint8Array[]) => {
    items.push(item);
    // The openai SDK pushes a message's parts onto its `content` as they are added: it starts empty.
    const added = item.kind === 'message' ? messageItem(item.id, null, 'in_progress') : itemOf(item, 'in_progress');
    out.push(event('response.output_item.added', { output_index: items.length - 1, item: added }));
  };
  const openMessage = (out: Uint8Array[]) => {
    const n = items.filter((i) => i.kind === 'message').length;
    message = { kind: 'message', id: messageId(r.stem, n), text: '', open: true };
    add(message, out);
    out.push(
      event('response.content_part.added', {
        item_id: message.id,
        output_index: items.length - 1,
        content_index: 0,
        part: textPart(''),
      }),
    );
    return message;
  };
  /** Ends an item: its text or arguments whole, then the item itself, complete. */
  const close = (item: OpenItem, out: Uint8Array[]) => {
    if (!item.open) return;
    item.open = false;
    const output_index = items.indexOf(item);
    if (item.kind === 'message') {
      const at = { item_id: item.id, output_index, content_index: 0 };
      out.push(event('response.output_text.done', { ...at, text: item.text, logprobs: [] }));
      out.push(event('response.content_part.done', { ...at, part: textPart(item.text) }));
      if (message === item) message = null;
    } else {
      out.push(
        event('response.function_call_arguments.done', {
          item_id: item.id,
          output_index,
          name: item.name,
          arguments: item.args,
        }),
      );
    }
    out.push(event('response.output_item.done', { output_index, item: itemOf(item, 'completed') }));
  };

  return {
    encode(events) {
      const out: Uint8Array[] = [];
      for (const e of events) {
        switch (e.type) {
          case 'start':
            start(out);
            break;
          case 'text': {
            start(out);
            const m = message ?? openMessage(out);
            m.text += e.text;
            out.push(
              event('response.output_text.delta', {
                item_id: m.id,
                output_index: items.indexOf(m),
                content_index: 0,
                delta: e.text,
                logprobs: [],
              }),
            );
            break;
          }
          case 'tool_call': {
            start(out);
            if (toolItems.has(e.index)) break; // a later fragment of its name: the item has it already
            if (message) close(message, out);
            const item = {
              kind: 'function_call' as const,
              id: functionCallId(r.stem, toolItems.size),
              callId: e.id || `call_${r.stem}_${toolItems.size}`,
              name: e.name,
              args: '',
              open: true,
            };
            toolItems.set(e.index, item);
            add(item, out);
            break;
          }
          case 'tool_args': {
            const item = toolItems.get(e.index);
            if (!item) break;
            item.args += e.args;
            out.push(
              event('response.function_call_arguments.delta', {
                item_id: item.id,
                output_index: items.indexOf(item),
                delta: e.args,
              }),
            );
            break;
          }
          case 'finish':
            reason = e.reason;
            break;
          case 'usage':
            usage = e.usage;
            break;
          case 'done': {
            start(out);
            for (const item of items) close(item, out);
            const end = ending(reason);
            out.push(
              event(end.status === 'completed' ? 'response.completed' : 'response.incomplete', {
                ...snapshot({
                  ...end,
                  output: items.map((i) => itemOf(i, 'completed')),
                  usage: usage ? responsesUsage(usage, r.cost) : null,
                  completed_at: Math.floor(Date.now() / 1000),
                }),
              }),
            );
            break;
          }
          case 'error':
          case 'reasoning':
            break;
        }
      }
      return out;
    },
    error(error: Pick<StreamError, 'message' | 'code'>) {
      const out: Uint8Array[] = [];
      start(out);
      out.push(
        event('response.failed', {
          ...snapshot({
            status: 'failed',
            output: items.map((i) => itemOf(i, i.open ? 'incomplete' : 'completed')),
            usage: usage ? responsesUsage(usage, r.cost) : null,
            error: { code: 'server_error', message: error.message },
          }),
        }),
      );
      return concatBytes(out);
    },
  };
}
