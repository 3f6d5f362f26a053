import type { ChatCompletionChunk } from '../core/chat-chunk';
import type { Completion } from '../core/completion';
import { CompletionAccumulator } from './accumulate';
import { eventJson, sseReader } from './sse/reader';

/**
 * Folds the `data` of OpenAI-format SSE events into a completion: `[DONE]` marks it done, an
 * `error` payload is recorded as the stream's error, anything that is not JSON as malformed.
 */
export function openAIEventFolder() {
  const acc = new CompletionAccumulator();
  return {
    add(data: string): void {
      if (data === '[DONE]') return acc.markDone();
      const parsed = eventJson(data);
      if ('error' in parsed) return acc.markError(parsed.error);
      const { json } = parsed;
      if (json && typeof json === 'object' && 'error' in json) {
        const err = (json as { error: { message?: string; type?: string; code?: string } }).error;
        return acc.markError({
          sent: true, // forwarded untouched
          message: err?.message ?? 'Upstream stream error',
          type: err?.type,
          code: err?.code ?? null,
        });
      }
      acc.add(json as ChatCompletionChunk);
    },
    result: (): Completion => acc.result(),
  };
}

/** Reads an OpenAI-format SSE byte stream into the completion its events spell out. */
export function createOpenAIStreamReader() {
  const events = openAIEventFolder();
  const reader = sseReader((event) => events.add(event.data));
  return {
    push: (bytes: Uint8Array) => reader.push(bytes),
    finish(): Completion {
      reader.end();
      return events.result();
    },
  };
}
