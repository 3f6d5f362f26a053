import type { FinishReason, TokenUsage } from '../../core/completion';
import type { StreamEvent } from '../../core/stream-events';
import type { Decoder } from '../../streaming/codec';
import { eventJson } from '../../streaming/sse/reader';

const FINISH: Record<string, FinishReason> = { STOP: 'stop', MAX_TOKENS: 'length' };

interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

/** One `GenerateContentResponse` from the stream, every field optional. */
interface GeminiEvent {
  responseId?: string;
  candidates?: {
    content?: {
      parts?: { text?: string; thought?: boolean; functionCall?: { id?: string; name?: string; args?: unknown } }[];
    };
    finishReason?: string;
  }[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsage;
  error?: { code?: number; message?: string; status?: string };
}

/** Gemini counts tool-use prompts apart from the prompt, and thinking apart from the answer; Google bills both. */
const fromGeminiUsage = (u: GeminiUsage): TokenUsage => {
  const reasoning = u.thoughtsTokenCount ?? 0;
  return {
    input: (u.promptTokenCount ?? 0) + (u.toolUsePromptTokenCount ?? 0),
    cachedInput: u.cachedContentTokenCount ?? 0,
    cacheWrite: 0,
    output: (u.candidatesTokenCount ?? 0) + reasoning,
    reasoning,
  };
};

/**
 * `streamGenerateContent?alt=sse` events as stream events. Gemini sends each function call whole
 * (a call and all its arguments at once), and finishes with STOP even after calling tools, which
 * the stream model reports as `tool_calls`. There is no terminal event: the stream is whole if a
 * finish reason came before it ended, and its last usage then counts. Gemini gives no answer
 * id either when it sends no `responseId`, so one is made.
 */
export function geminiDecoder(): Decoder {
  let started = false;
  let tools = 0;
  let finished = false;
  let usage: GeminiUsage | undefined;
  return {
    event(_name, data) {
      const parsed = eventJson(data);
      if ('error' in parsed) return [{ type: 'error', error: parsed.error }];
      const event = parsed.json as GeminiEvent;
      if (!event || typeof event !== 'object') return [];
      if (event.error) {
        return [
          {
            type: 'error',
            error: {
              sent: true, // the upstream's own: relayed or re-encoded, the client gets it
              message: event.error.message ?? 'Gemini stream error',
              type: 'upstream_error',
              code: event.error.status ?? String(event.error.code ?? 'upstream_stream_error'),
            },
          },
        ];
      }
      if (event.usageMetadata) usage = event.usageMetadata;
      const out: StreamEvent[] = [];
      if (!started) {
        started = true;
        out.push({
          type: 'start',
          id: event.responseId ?? `chatcmpl-${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`,
        });
      }
      const candidate = event.candidates?.[0];
      for (const part of candidate?.content?.parts ?? []) {
        if (typeof part.text === 'string' && part.thought) out.push({ type: 'reasoning', text: part.text });
        else if (typeof part.text === 'string') {
          if (part.text) out.push({ type: 'text', text: part.text });
        } else if (part.functionCall) {
          const index = tools++;
          out.push({
            type: 'tool_call',
            index,
            id: part.functionCall.id ?? `call_${index}`,
            name: part.functionCall.name ?? '',
          });
          out.push({ type: 'tool_args', index, args: JSON.stringify(part.functionCall.args ?? {}) });
        }
      }
      const reason = candidate?.finishReason ?? event.promptFeedback?.blockReason;
      if (reason && !finished) {
        finished = true;
        // Safety, recitation, blocklists, a blocked prompt and the like are all filtering.
        out.push({
          type: 'finish',
          reason: tools > 0 && reason === 'STOP' ? 'tool_calls' : (FINISH[reason] ?? 'content_filter'),
        });
      }
      return out;
    },
    end() {
      if (!finished) return []; // no finish reason: the pump reports a truncated stream
      return usage ? [{ type: 'usage', usage: fromGeminiUsage(usage) }, { type: 'done' }] : [{ type: 'done' }];
    },
  };
}
