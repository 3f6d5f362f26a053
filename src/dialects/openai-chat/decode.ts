import type { ChatCompletionChunk } from './chunk';
import type { StreamEvent } from '../../core/stream-events';
import type { Decoder } from '../../streaming/codec';
import { eventJson } from '../../streaming/sse/reader';
import { fromChatUsage } from './usage';

/**
 * OpenAI chat-completion chunks (OpenAI and every server that speaks its API) as stream events:
 * the first chunk starts the answer, `[DONE]` ends it, an `error` payload is the upstream's
 * in-band failure (forwarded to the client as it is, so marked sent), anything that is not JSON
 * is malformed. Usage may ride a chunk that still carries choices.
 */
export function openAIChatDecoder(): Decoder {
  let started = false;
  const tools = new Set<number>();
  return {
    event(_name, data) {
      if (data === '[DONE]') return [{ type: 'done' }];
      const parsed = eventJson(data);
      if ('error' in parsed) return [{ type: 'error', error: parsed.error }];
      const json = parsed.json as Partial<ChatCompletionChunk> & {
        error?: { message?: string; type?: string; code?: string };
      };
      if (!json || typeof json !== 'object') return [];
      if ('error' in json) {
        const err = json.error;
        return [
          {
            type: 'error',
            error: {
              sent: true,
              message: err?.message ?? 'Upstream stream error',
              type: err?.type,
              code: err?.code ?? null,
            },
          },
        ];
      }
      const out: StreamEvent[] = [];
      if (!started) {
        started = true;
        out.push({ type: 'start', id: json.id ?? null });
      }
      const choice = json.choices?.[0];
      const delta = choice?.delta;
      if (delta?.content) out.push({ type: 'text', text: delta.content });
      for (const tc of delta?.tool_calls ?? []) {
        const name = tc.function?.name;
        if (!tools.has(tc.index)) {
          tools.add(tc.index);
          out.push({ type: 'tool_call', index: tc.index, id: tc.id ?? '', name: name ?? '' });
        } else if (name) out.push({ type: 'tool_call', index: tc.index, id: '', name });
        if (tc.function?.arguments) out.push({ type: 'tool_args', index: tc.index, args: tc.function.arguments });
      }
      if (choice?.finish_reason) out.push({ type: 'finish', reason: choice.finish_reason });
      if (json.usage) out.push({ type: 'usage', usage: fromChatUsage(json.usage) });
      return out;
    },
    end: () => [],
  };
}
