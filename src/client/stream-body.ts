/**
 * Reading a streamed response body, whatever its format: the read loop, the caller's abort, a
 * connection that breaks, a stream that ends before its last event, and closing the request
 * when the reader leaves early. Each format (SSE chunks, NDJSON events) supplies only how its
 * bytes become items and which item is the last.
 */
import { APIConnectionError, StreamError } from './errors.js';
import { abortError, type Sent } from './http.js';

/**
 * How a format reads its body: `decode` and `end` cut the bytes into raw pieces (events,
 * lines); `parse` makes one piece an item (none, for a piece that carries nothing) and says
 * whether it is the stream's last.
 *
 * @example
 * const format: BodyFormat<string, string> = {
 *   decode: (bytes) => [new TextDecoder().decode(bytes)],
 *   end: () => [],
 *   parse: (raw) => ({ item: raw, last: raw.endsWith('.') }),
 * };
 */
export interface BodyFormat<R, T> {
  decode(bytes: Uint8Array): R[];
  end(): R[];
  parse(raw: R): { item?: T; last: boolean };
}

/**
 * The items of a response body, read as they arrive. Ends at the format's last item; a body
 * that ends before it throws `StreamError` (`stream_truncated`), never a silent truncation.
 * Leaving early (a `break`, a thrown item, an abort) closes the request, so the gateway sees
 * the disconnect and settles the call.
 *
 * @example
 * for await (const item of readBody(sent, requestId, format, 'before its last event')) console.log(item);
 */
export async function* readBody<R, T>(
  sent: Sent,
  requestId: string | null,
  format: BodyFormat<R, T>,
  /** What the stream ended before, for the truncation error: `The stream ended ${before}`. */
  before: string,
): AsyncGenerator<T, void, undefined> {
  const { response, signal } = sent;
  if (!response.body) throw new StreamError('The response has no body', { code: 'empty_stream', requestId });
  const reader = response.body.getReader();
  // Some fetch implementations do not end a body when its request's signal fires; cancelling
  // the reader ends a pending read everywhere.
  const onAbort = () => void reader.cancel().catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  let ended = false;
  try {
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (err) {
        if (signal.aborted) throw abortError(signal);
        throw new APIConnectionError(`The stream broke off: ${(err as Error)?.message ?? String(err)}`, {
          cause: err,
          requestId,
        });
      }
      if (signal.aborted) throw abortError(signal);
      for (const raw of read.done ? format.end() : format.decode(read.value)) {
        const { item, last } = format.parse(raw);
        // Set before the last item is handed over, so a reader that stops at it closes nothing.
        if (last) ended = true;
        if (item !== undefined) yield item;
        if (last) return;
      }
      if (read.done) {
        ended = true;
        throw new StreamError(`The stream ended ${before}`, { code: 'stream_truncated', requestId });
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    sent.release();
    // Left early (break, an error event, abort): close the request so the gateway stops too.
    if (!ended) {
      sent.abort();
      await reader.cancel().catch(() => {});
    } else {
      reader.releaseLock();
    }
  }
}
