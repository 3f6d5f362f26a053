import type { ChatCompletionChunk, ChunkChoice, ToolCallDelta } from './chunk';
import type { PriceOf, TokenUsage } from '../../core/completion';
import type { StreamEvent } from '../../core/stream-events';
import type { Encoder } from '../../streaming/codec';
import { DONE, encodeData, encodeError } from '../../streaming/sse/encode';
import { costFields } from '../cost';
import { toChatUsage } from './usage';

export interface ChatEncoderOptions {
  /** The model name the chunks carry. */
  model: string;
  /** Their `created` (seconds). */
  created: number;
  /** Whether the client gets the final usage chunk (default true). */
  includeUsage?: boolean;
  /** Prices the final usage (`cost_usd`, `credits` in it). */
  cost?: PriceOf;
}

type Delta = ChunkChoice['delta'];

/**
 * Stream events as OpenAI `chat.completion.chunk` SSE, one chunk for what one upstream event
 * said: the start is the `role` delta (with the event's text, or ''), tool calls carry their id,
 * type and name where they start, a finish is `finish_reason`. The usage goes out in its own
 * chunk (`choices: []`) just before `[DONE]`, as OpenAI sends it with `include_usage`.
 */
export function chatEncoder(opts: ChatEncoderOptions): Encoder {
  const includeUsage = opts.includeUsage !== false;
  let id = '';
  let usage: TokenUsage | null = null;
  const chunk = (choices: ChatCompletionChunk['choices'], extra: Partial<ChatCompletionChunk> = {}) =>
    encodeData({ id, object: 'chat.completion.chunk', created: opts.created, model: opts.model, choices, ...extra });

  return {
    encode(events) {
      const out: Uint8Array[] = [];
      let started = false;
      let text = '';
      let tools: ToolCallDelta[] | undefined;
      let finish: ChunkChoice['finish_reason'] = null;
      let done = false;
      for (const e of events) {
        switch (e.type) {
          case 'start':
            started = true;
            id = e.id ?? `chatcmpl-${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`;
            break;
          case 'text':
            text += e.text;
            break;
          case 'tool_call':
            (tools ??= []).push({
              index: e.index,
              id: e.id,
              type: 'function',
              function: { name: e.name, arguments: '' },
            });
            break;
          case 'tool_args': {
            const started = tools?.find((t) => t.index === e.index && t.id !== undefined);
            if (started) started.function!.arguments += e.args;
            else (tools ??= []).push({ index: e.index, function: { arguments: e.args } });
            break;
          }
          case 'finish':
            finish = e.reason;
            break;
          case 'usage':
            usage = e.usage;
            break;
          case 'done':
            done = true;
            break;
          case 'error':
          case 'reasoning':
            break;
        }
      }
      const delta: Delta = {};
      if (started) {
        delta.role = 'assistant';
        delta.content = text;
      } else if (text) delta.content = text;
      if (tools) delta.tool_calls = tools;
      if (started || text || tools || finish) out.push(chunk([{ index: 0, delta, finish_reason: finish }]));
      if (done) {
        if (usage && includeUsage)
          out.push(chunk([], { usage: { ...toChatUsage(usage), ...costFields(usage, opts.cost) } }));
        out.push(DONE);
      }
      return out;
    },
    error: (error) =>
      encodeError({ error: { message: error.message, type: 'upstream_error', code: error.code ?? null, param: null } }),
  };
}
