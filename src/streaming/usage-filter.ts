import { createParser } from 'eventsource-parser';
import type { Transcoder } from '../providers/types';
import { parseOpenAIStream } from './parse-openai';

const encoder = new TextEncoder();

/**
 * Drops the usage-only chunk (`"choices":[]` with `usage`) from an OpenAI-format stream, for
 * clients that did not ask for `stream_options.include_usage`. Sluice always asks the upstream
 * for usage, so the books stay exact; only the client's view changes. Every other event is
 * re-emitted with its data untouched. Wraps a provider's transcoder, or the raw OpenAI bytes.
 */
export function withoutUsageChunk(inner: Transcoder | undefined): Transcoder {
  const kept: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let out = '';
  const parser = createParser({
    onEvent({ data }) {
      if (data.includes('"usage"') && data.includes('"choices":[]')) return;
      out += `data: ${data}\n\n`;
    },
  });
  const filter = (bytes: Uint8Array | null): Uint8Array | null => {
    if (!bytes) return null;
    if (!inner) kept.push(bytes);
    parser.feed(decoder.decode(bytes, { stream: true }));
    if (!out) return null;
    const chunk = encoder.encode(out);
    out = '';
    return chunk;
  };
  return {
    push: (bytes) => filter(inner ? inner.push(bytes) : bytes),
    flush() {
      const tail = inner ? inner.flush() : null;
      if (tail) filter(tail);
      parser.feed(decoder.decode());
      parser.feed('\n\n');
      if (!out) return null;
      const chunk = encoder.encode(out);
      out = '';
      return chunk;
    },
    result: () => (inner ? inner.result() : parseOpenAIStream(kept)),
  };
}
