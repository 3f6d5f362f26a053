import type { Completion, FinishReason, PriceOf, StreamError, TokenUsage } from '../../core/completion';
import type { Encoder } from '../../streaming/codec';
import { costFields } from '../cost';

const encoder = new TextEncoder();

/** One SSE event as Anthropic's API writes them: the `event:` line names the `data`'s type (its SDK needs both). */
export const sseEvent = (type: string, data: object) =>
  encoder.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

export const PING = sseEvent('ping', {});

/** Anthropic's usage: its input excludes the cache reads and writes it counts apart. */
export const anthropicUsage = (u: TokenUsage) => ({
  input_tokens: u.input - u.cachedInput - u.cacheWrite,
  cache_creation_input_tokens: u.cacheWrite,
  cache_read_input_tokens: u.cachedInput,
  output_tokens: u.output,
});

/** Finish reasons as Anthropic's stop reasons; any tool call makes it `tool_use`. */
export function stopReason(reason: FinishReason | null, toolCalls: number): string {
  if (toolCalls > 0 || reason === 'tool_calls' || reason === 'function_call') return 'tool_use';
  if (reason === 'length') return 'max_tokens';
  if (reason === 'content_filter') return 'refusal';
  return 'end_turn';
}

/** Anthropic's error types, by the HTTP status Sluice would answer with. */
export function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status === 529) return 'overloaded_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** A failure after the 200, as Anthropic's in-stream `error` event. */
export const errorEvent = (error: Pick<StreamError, 'message'>, type = 'api_error') =>
  sseEvent('error', { error: { type, message: error.message } });

/** A message's id when the upstream's is not one of Anthropic's: the call's, in Anthropic's form. */
export const fallbackMessageId = (callId: string) => `msg_${callId.replace(/^call_/, '')}`;

export interface AnthropicEncoderOptions {
  /** The model the client asked for, echoed in `message_start`. */
  model: string;
  /** The message's id when the upstream gives none. */
  fallbackId: string;
  /** The prompt's estimated size: `message_start` carries it, the final `message_delta` the count. */
  inputTokens: number;
  /** Prices the final usage (`cost_usd`, `credits` in `message_delta`'s usage). */
  cost?: PriceOf;
}

/**
 * Stream events as the Messages API's events: `message_start` first, then each text or tool call
 * as a content block (start, deltas, stop; one open at a time, numbered from 0 in order, as the
 * SDK applies deltas by index), then `message_delta` with the stop reason and the usage, then
 * `message_stop`. The stop reason waits for the usage, which some upstreams send after their
 * finish.
 */
export function anthropicEncoder(opts: AnthropicEncoderOptions): Encoder {
  let started = false;
  let blocks = 0;
  /** The open block: its index, and the tool call it is (null: text). */
  let open: { index: number; tool: number | null } | null = null;
  const toolBlocks = new Map<number, number>(); // tool call index -> block index
  let reason: FinishReason | null = null;
  let usage: TokenUsage | null = null;

  const start = (id: string | null, out: Uint8Array[]) => {
    if (started) return;
    started = true;
    out.push(
      sseEvent('message_start', {
        message: {
          id: id?.startsWith('msg_') ? id : opts.fallbackId,
          type: 'message',
          role: 'assistant',
          model: opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: opts.inputTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: 0,
          },
        },
      }),
    );
  };
  const close = (out: Uint8Array[]) => {
    if (!open) return;
    out.push(sseEvent('content_block_stop', { index: open.index }));
    open = null;
  };
  const openBlock = (block: object, tool: number | null, out: Uint8Array[]) => {
    close(out);
    const index = blocks++;
    open = { index, tool };
    if (tool !== null) toolBlocks.set(tool, index);
    out.push(sseEvent('content_block_start', { index, content_block: block }));
    return index;
  };

  return {
    encode(events) {
      const out: Uint8Array[] = [];
      for (const e of events) {
        switch (e.type) {
          case 'start':
            start(e.id, out);
            break;
          case 'text': {
            start(null, out);
            const index = open && open.tool === null ? open.index : openBlock({ type: 'text', text: '' }, null, out);
            out.push(sseEvent('content_block_delta', { index, delta: { type: 'text_delta', text: e.text } }));
            break;
          }
          case 'tool_call':
            start(null, out);
            if (toolBlocks.has(e.index)) break; // a later fragment of its name: the block has it already
            openBlock(
              {
                type: 'tool_use',
                id: e.id || `toolu_${crypto.randomUUID().replaceAll('-', '')}`,
                name: e.name,
                input: {},
              },
              e.index,
              out,
            );
            break;
          case 'tool_args': {
            const index = toolBlocks.get(e.index);
            if (index === undefined) break;
            out.push(
              sseEvent('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: e.args } }),
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
            start(null, out);
            close(out);
            const final = usage ?? { input: opts.inputTokens, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 };
            out.push(
              sseEvent('message_delta', {
                delta: { stop_reason: stopReason(reason, toolBlocks.size), stop_sequence: null },
                // An estimate stands in for a usage the upstream did not report: it is not priced.
                usage: { ...anthropicUsage(final), ...(usage ? costFields(usage, opts.cost) : {}) },
              }),
            );
            out.push(sseEvent('message_stop', {}));
            break;
          }
          case 'error':
          case 'reasoning':
            break;
        }
      }
      return out;
    },
    error: (error) => errorEvent(error),
  };
}

/** A whole answer as the Messages API's `message` object (non-streaming calls). */
export function anthropicMessage(
  completion: Completion,
  usage: TokenUsage,
  model: string,
  fallbackId: string,
  cost?: PriceOf,
) {
  const content: object[] = [];
  if (completion.content) content.push({ type: 'text', text: completion.content });
  for (const call of completion.toolCalls) {
    let input: unknown = {};
    try {
      input = JSON.parse(call.function.arguments || '{}');
    } catch {
      // a model's broken JSON: the call is kept, with no input
    }
    content.push({
      type: 'tool_use',
      id: call.id || `toolu_${crypto.randomUUID().replaceAll('-', '')}`,
      name: call.function.name,
      input: input && typeof input === 'object' && !Array.isArray(input) ? input : {},
    });
  }
  const id = completion.id?.startsWith('msg_') ? completion.id : fallbackId;
  return {
    id,
    type: 'message' as const,
    role: 'assistant' as const,
    model,
    content,
    stop_reason: stopReason(completion.finishReason, completion.toolCalls.length),
    stop_sequence: null,
    usage: { ...anthropicUsage(usage), ...costFields(usage, cost) },
  };
}
