import { CompletionAccumulator } from '../../streaming/accumulate';
import type { Transcoder } from '../../streaming/pump/types';
import { sseReader } from '../../streaming/sse/reader';
import { openAIChatDecoder } from './decode';

const encoder = new TextEncoder();

/** Whether an event's data is the usage-only chunk (`"choices":[]` with `usage`). */
export const isUsageOnly = (data: string) => data.includes('"usage"') && data.includes('"choices":[]');

/**
 * Drops the usage-only chunk (`"choices":[]` with `usage`) from forwarded OpenAI chunks, for
 * clients that did not ask for `stream_options.include_usage`. Sluice always asks the upstream
 * for usage, so the books stay exact; only the client's view changes. Every other event is
 * re-emitted with its data untouched (re-encoding would lose the upstream's own fields), and
 * the books fold the same events this filter reads, so the stream is parsed once.
 */
export function withoutUsageChunk(): Transcoder {
  const decoder = openAIChatDecoder();
  const books = new CompletionAccumulator();
  let out = '';
  let ended = false;
  const reader = sseReader(({ event, data }) => {
    for (const e of decoder.event(event ?? '', data)) books.add(e);
    if (isUsageOnly(data)) return;
    out += `data: ${data}\n\n`;
  });
  const take = (): Uint8Array | null => {
    if (!out) return null;
    const chunk = encoder.encode(out);
    out = '';
    return chunk;
  };
  const end = () => {
    reader.end();
    if (ended) return;
    ended = true;
    for (const e of decoder.end()) books.add(e);
  };
  return {
    push(bytes) {
      reader.push(bytes);
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
