import { createParser } from 'eventsource-parser';
import { CompletionAccumulator } from './accumulate';
import type { ChatCompletionChunk, Completion } from './chunks';

/**
 * Folds the `data` of OpenAI-format SSE events into a completion: `[DONE]` marks it done, an
 * `error` payload is recorded as the stream's error, anything that is not JSON as malformed.
 */
export function openAIEventFolder() {
  const acc = new CompletionAccumulator();
  return {
    add(data: string): void {
      if (data === '[DONE]') return acc.markDone();
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        return acc.markError({ message: 'Upstream sent malformed JSON in its stream', code: 'upstream_malformed' });
      }
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

/**
 * Creates a push parser for an OpenAI-format SSE byte stream that folds every event into
 * a completion. Byte fragments may split anywhere (inside UTF-8 sequences, JSON, `data:`
 * or `\r\n`); comments are skipped.
 */
export function createOpenAIStreamReader() {
  const events = openAIEventFolder();
  const decoder = new TextDecoder();
  const parser = createParser({ onEvent: (event) => events.add(event.data) });
  return {
    push(bytes: Uint8Array) {
      parser.feed(decoder.decode(bytes, { stream: true }));
    },
    finish(): Completion {
      parser.feed(decoder.decode());
      // A final event without its blank line still counts.
      parser.feed('\n\n');
      return events.result();
    },
  };
}
