import type { Completion } from '../core/completion';
import { CompletionAccumulator } from './accumulate';
import type { Decoder } from './codec';
import { sseReader } from './sse/reader';

/**
 * The books' reading of a stream that reaches the client unchanged: its bytes, in pieces cut
 * anywhere, decoded in the upstream's own format and folded into the completion they spell out.
 */
export function booksReader(decoder: Decoder) {
  const books = new CompletionAccumulator();
  const add = (events: ReturnType<Decoder['event']>) => {
    for (const e of events) books.add(e);
  };
  const reader = sseReader(({ event, data }) => add(decoder.event(event ?? '', data)));
  let ended = false;
  return {
    push: (bytes: Uint8Array) => reader.push(bytes),
    /** The completion so far; the first call also takes what the end of the stream implies. */
    finish(): Completion {
      reader.end();
      if (!ended) {
        ended = true;
        add(decoder.end());
      }
      return books.result();
    },
  };
}
