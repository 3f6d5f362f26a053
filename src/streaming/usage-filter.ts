import { openAIEventFolder } from './openai-events';
import type { Transcoder } from './pump/types';
import { sseReader } from './sse/reader';

const encoder = new TextEncoder();

/**
 * Drops the usage-only chunk (`"choices":[]` with `usage`) from forwarded OpenAI-format bytes,
 * for clients that did not ask for `stream_options.include_usage`. Sluice always asks the
 * upstream for usage, so the books stay exact; only the client's view changes. Every other
 * event is re-emitted with its data untouched. (Transcoding providers leave the chunk out
 * themselves; see `TranscodeOptions`.)
 */
export function withoutUsageChunk(): Transcoder {
  // The books fold the same events this filter reads, so the stream is parsed once.
  const books = openAIEventFolder();
  let out = '';
  const reader = sseReader(({ data }) => {
    books.add(data);
    if (data.includes('"usage"') && data.includes('"choices":[]')) return;
    out += `data: ${data}\n\n`;
  });
  const take = (): Uint8Array | null => {
    if (!out) return null;
    const chunk = encoder.encode(out);
    out = '';
    return chunk;
  };
  return {
    push(bytes) {
      reader.push(bytes);
      return take();
    },
    flush() {
      reader.end();
      return take();
    },
    result() {
      reader.end();
      return books.result();
    },
  };
}
