import type { StreamEvent } from '../core/stream-events';
import { concatBytes } from '../lib/bytes';
import { CompletionAccumulator } from './accumulate';
import type { Decoder, Encoder } from './codec';
import type { Transcoder } from './pump/types';
import { sseReader } from './sse/reader';

/**
 * A stream read in one format and written in another: the SSE reader splits the upstream's
 * events, the decoder turns each into stream events, the encoder writes those in the client's
 * dialect, and the books fold the same events, so nothing is parsed twice. The first error (the
 * upstream's own, or bytes that are not JSON) goes out in-band and everything after it is
 * dropped: the client never sees more of the answer, or a clean end, after a failure. `tap`, if
 * given, sees each batch of events the encoder wrote (a resumable stream keeps them, so an
 * object that restarts can bring a fresh encoder back to the same state).
 */
export function transcoder(
  decoder: Decoder,
  encoder: Encoder,
  tap?: (events: readonly StreamEvent[]) => void,
): Transcoder {
  const books = new CompletionAccumulator();
  let out: Uint8Array[] = [];
  let failed = false;

  const take = (events: StreamEvent[]) => {
    if (failed || events.length === 0) return;
    const at = events.findIndex((e) => e.type === 'error');
    const answer = at < 0 ? events : events.slice(0, at);
    for (const e of answer) books.add(e);
    if (tap && answer.length) tap(answer);
    out.push(...encoder.encode(answer));
    const failure = at < 0 ? null : events[at]!;
    if (failure?.type === 'error') {
      failed = true;
      books.add({ type: 'error', error: { ...failure.error, sent: true } });
      out.push(encoder.error(failure.error));
    }
  };
  const reader = sseReader(({ event, data }) => take(decoder.event(event ?? '', data)));
  const drain = (): Uint8Array | null => {
    if (out.length === 0) return null;
    const bytes = concatBytes(out);
    out = [];
    return bytes;
  };

  return {
    push(bytes) {
      reader.push(bytes);
      return drain();
    },
    flush() {
      reader.end();
      take(decoder.end());
      return drain();
    },
    result: () => books.result(),
  };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
