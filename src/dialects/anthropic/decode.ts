import type { FinishReason, TokenUsage } from '../../core/completion';
import type { StreamEvent } from '../../core/stream-events';
import type { Decoder } from '../../streaming/codec';
import { eventJson } from '../../streaming/sse/reader';

/** Anthropic's stop reasons as finish reasons. */
export const ANTHROPIC_FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** One Messages API stream event; every field optional, as a future event may lack any of them. */
interface AnthropicEvent {
  type?: string;
  index?: number;
  message?: { id?: string; usage?: AnthropicUsage };
  content_block?: { type?: string; id?: string; name?: string; text?: string; thinking?: string };
  delta?: { type?: string; text?: string; thinking?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/** Anthropic counts cache reads and writes apart from its input; the stream model counts them in it. */
export function fromAnthropicUsage(u: Required<{ [K in keyof AnthropicUsage]: number }>): TokenUsage {
  const cachedInput = u.cache_read_input_tokens;
  const cacheWrite = u.cache_creation_input_tokens;
  return {
    input: u.input_tokens + cachedInput + cacheWrite,
    cachedInput,
    cacheWrite,
    output: u.output_tokens,
    reasoning: 0,
  };
}

/**
 * Messages API stream events as stream events. Tool calls are numbered in the order they start,
 * not by Anthropic's content block index, which also counts text and thinking blocks. A tool
 * called with no input streams no JSON at all: it gets `{}`, as callers expect an object. Usage
 * is reported once the message's output count is known (`message_delta`), the input from
 * `message_start` included.
 */
export function anthropicDecoder(): Decoder {
  const toolIndex = new Map<number, number>(); // content block index -> tool call index
  const toolHasArgs = new Set<number>();
  const usage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const takeUsage = (u: AnthropicUsage | undefined) => {
    if (!u) return;
    for (const k of Object.keys(usage) as (keyof typeof usage)[]) {
      const v = u[k];
      if (typeof v === 'number') usage[k] = v;
    }
  };
  return {
    event(_name, data) {
      const parsed = eventJson(data);
      if ('error' in parsed) return [{ type: 'error', error: parsed.error }];
      const event = parsed.json as AnthropicEvent;
      if (!event || typeof event !== 'object') return [];
      switch (event.type) {
        case 'message_start':
          takeUsage(event.message?.usage);
          return [{ type: 'start', id: event.message?.id ?? '' }];
        case 'content_block_start': {
          const block = event.content_block;
          if (block?.type === 'tool_use') {
            const index = toolIndex.size;
            toolIndex.set(event.index ?? -1, index);
            return [{ type: 'tool_call', index, id: block.id ?? '', name: block.name ?? '' }];
          }
          if (block?.type === 'text' && block.text) return [{ type: 'text', text: block.text }];
          return [];
        }
        case 'content_block_delta': {
          const delta = event.delta;
          if (delta?.type === 'text_delta') return delta.text ? [{ type: 'text', text: delta.text }] : [];
          if (delta?.type === 'thinking_delta')
            return delta.thinking ? [{ type: 'reasoning', text: delta.thinking }] : [];
          if (delta?.type === 'input_json_delta') {
            const index = toolIndex.get(event.index ?? -1);
            if (index === undefined || !delta.partial_json) return [];
            toolHasArgs.add(index);
            return [{ type: 'tool_args', index, args: delta.partial_json }];
          }
          return []; // signature deltas stay upstream
        }
        case 'content_block_stop': {
          const index = toolIndex.get(event.index ?? -1);
          if (index === undefined || toolHasArgs.has(index)) return [];
          toolHasArgs.add(index);
          return [{ type: 'tool_args', index, args: '{}' }];
        }
        case 'message_delta': {
          takeUsage(event.usage);
          const out: StreamEvent[] = [{ type: 'usage', usage: fromAnthropicUsage(usage) }];
          const reason = event.delta?.stop_reason;
          if (reason) out.push({ type: 'finish', reason: ANTHROPIC_FINISH[reason] ?? 'stop' });
          return out;
        }
        case 'message_stop':
          return [{ type: 'done' }];
        case 'error':
          return [
            {
              type: 'error',
              error: {
                sent: true, // the upstream's own: relayed or re-encoded, the client gets it
                message: String(event.error?.message ?? 'Anthropic stream error'),
                type: 'upstream_error',
                code: String(event.error?.type ?? 'upstream_stream_error'),
              },
            },
          ];
        default:
          return []; // ping, and event types added after this was written
      }
    },
    end: () => [],
  };
}
