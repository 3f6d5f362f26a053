import { createParser } from 'eventsource-parser';
import { CompletionAccumulator } from './accumulate';
import type { ChatCompletionChunk, Completion } from './chunks';

/**
 * Creates a push parser for an OpenAI-format SSE byte stream that folds every event into
 * a completion. Byte fragments may split anywhere (inside UTF-8 sequences, JSON, `data:`
 * or `\r\n`); comments are skipped; an `error` payload is recorded as the stream's error.
 */
export function createOpenAIStreamReader() {
  const acc = new CompletionAccumulator();
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent(event) {
      const data = event.data;
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
  });
  return {
    push(bytes: Uint8Array) {
      parser.feed(decoder.decode(bytes, { stream: true }));
    },
    finish(): Completion {
      parser.feed(decoder.decode());
      // A final event without its blank line still counts.
      parser.feed('\n\n');
      return acc.result();
    },
  };
}
