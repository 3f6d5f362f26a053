import { createParser } from 'eventsource-parser';
import type { Transcoder } from '../providers/types';
import { openAIEventFolder } from './parse-openai';

const encoder = new TextEncoder();

/**
 * Drops the usage-only chunk (`"choices":[]` with `usage`) from forwarded OpenAI-format bytes,
 * for clients that did not ask for `stream_options.include_usage`. Sluice always asks the
 * upstream for usage, so the books stay exact; only the client's view changes. Every other
 * event is re-emitted with its data untouched. (Transcoding providers leave the chunk out
 * themselves; see `TranscodeOptions`.)
 */
export function withoutUsageChunk(): Transcoder {
  // The books fold the same events this parser reads, so the stream is parsed once.
  const books = openAIEventFolder();
  const decoder = new TextDecoder();
  let out = '';
  const parser = createParser({
    onEvent({ data }) {
      books.add(data);
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
  // A final event without its blank line still counts (a second call finds nothing left).
  const end = () => {
    parser.feed(decoder.decode());
    parser.feed('\n\n');
  };
  return {
    push(bytes) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      return take();
    },
    flush() {
      end();
      return take();
    },
    result() {
      end();
      return books.result();
    },
  };
}
