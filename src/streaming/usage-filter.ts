import { createParser } from 'eventsource-parser';
import type { Transcoder } from '../providers/types';
import { createOpenAIStreamReader } from './parse-openai';

const encoder = new TextEncoder();

/**
 * Drops the usage-only chunk (`"choices":[]` with `usage`) from forwarded OpenAI-format bytes,
 * for clients that did not ask for `stream_options.include_usage`. Sluice always asks the
 * upstream for usage, so the books stay exact; only the client's view changes. Every other
 * event is re-emitted with its data untouched. (Transcoding providers leave the chunk out
 * themselves; see `TranscodeOptions`.)
 */
export function withoutUsageChunk(): Transcoder {
  const books = createOpenAIStreamReader();
  const decoder = new TextDecoder();
  let out = '';
  const parser = createParser({
    onEvent({ data }) {
      if (data.includes('"usage"') && data.includes('"choices":[]')) return;
      out += `data: ${data}\n\n`;
    },
  });
  const take = (): Uint8Array | null => {
    if (!out) return null;
    const chunk = encoder.encode(out);
    out = '';
    return chunk;
  };
  return {
    push(bytes) {
      books.push(bytes);
      parser.feed(decoder.decode(bytes, { stream: true }));
      return take();
    },
    flush() {
      parser.feed(decoder.decode());
      parser.feed('\n\n');
      return take();
    },
    result: () => books.finish(),
  };
}
