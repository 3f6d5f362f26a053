import { nextTurn } from '../../lib/event-loop';
import type { Completion } from '../../core/completion';
import { booksReader } from '../books';
import type { Decoder } from '../codec';
import { BOOKS_READ_MS, BooksCopy } from './books-copy';
import { endClientSide } from './close';
import { conclude } from './conclude';
import { type Ending, endingOf } from './ending';
import { pumpStop } from './stop';
import type { Pump, PumpOptions } from './types';
import { watchdogTick } from './watchdog';

/**
 * For streams that reach the client byte for byte (the upstream speaks the client's dialect):
 * after the first chunk, no JavaScript runs per chunk. Once the first chunk is written, the upstream body is tee'd; one
 * branch is piped by the runtime itself into an IdentityTransformStream the client reads, so
 * bytes and back-pressure flow natively, as in a Worker that only returns
 * `new Response(upstream.body)`. The other branch is the books' copy: it holds what the client's
 * branch took and is read in bulk about once a second (see BooksCopy), each read parsed as it
 * comes with the upstream format's decoder, so only the answer is kept, not its bytes.
 *
 * Until the first chunk the stream is in our hands: keep-alive comments go out while the
 * upstream is silent, and the first chunk's arrival is the call's TTFT. That chunk is read
 * straight from the upstream body, so it reaches the client without passing the tee. After the
 * pipe, the client's side is still ours (`preventClose`, `preventAbort`), so an upstream that
 * broke, stalled or never finished gets an in-band error event before the stream closes.
 */
export function relayPump(opts: PumpOptions, decoder: Decoder): Pump {
  const { startedAt, clientSignal, upstream } = opts;
  const client = new IdentityTransformStream();
  let books: BooksCopy | null = null;
  let ttftMs: number | null = null;
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = client.writable.getWriter();

  const stop = pumpStop(opts, {
    progress: () => (ttftMs === null ? 0 : 1 + (books?.reads ?? 0)),
    onKeepalive: () => void writer?.write(opts.client.keepalive).catch(() => {}),
  });

  const outcome = (async () => {
    let failed: { err: unknown } | null = null;
    let first: Uint8Array | null = null;
    /** The client's side refused a write: its reader was cancelled, the client hung up. */
    let refused = false;
    try {
      const reader = upstream.getReader();
      try {
        first = await firstChunk(reader, stop.signal);
        if (first) {
          ttftMs = Date.now() - startedAt;
          // Written before the reader is released: releasing it first would hold the chunk back too.
          await writer.write(first).catch((err: unknown) => {
            refused = true;
            throw err;
          });
        }
      } finally {
        reader.releaseLock();
      }
      if (first) {
        writer.releaseLock();
        writer = null;
        // The runtime sends the first chunk on its way only once JavaScript yields: setting up the
        // tee, the books and the pipe first would hold it back by that work (about 0.2 ms).
        await nextTurn();
        const [toClient, toBooks] = upstream.tee();
        books = new BooksCopy(toBooks, first, decoder);
        books.start(Math.min(BOOKS_READ_MS, watchdogTick(opts.keepaliveMs, opts.idleTimeoutMs)));
        await toClient.pipeTo(client.writable, { preventClose: true, preventAbort: true, signal: stop.signal });
      }
    } catch (err) {
      failed = { err };
    } finally {
      stop.release();
    }
    writer ??= client.writable.getWriter();
    // An errored client side (its reader cancelled) means the client hung up.
    const clientLeft = clientSignal.aborted || refused || writer.desiredSize === null;
    const ending: Ending = failed
      ? endingOf(failed.err, stop.signal, clientSignal, clientLeft)
      : { clientGone: clientLeft, stalled: false, failure: null };

    // A stream cut short keeps what arrived; otherwise the books read to the upstream's end.
    // Before the tee (no first chunk, or the client left as it came) the upstream is closed here,
    // and the first chunk, which the client may have read, is all the books have.
    if (!books) await upstream.cancel().catch(() => {});
    else if (ending.clientGone || ending.stalled) await books.drainAndCancel();
    else await books.readToEnd();
    const completion = books?.completion() ?? completionOf(first, decoder);
    const { outcome, tail } = conclude(
      completion,
      ending,
      { startedAt, ttftMs, idleTimeoutMs: opts.idleTimeoutMs },
      opts.client,
    );
    endClientSide(writer, outcome, tail);
    return outcome;
  })();

  return { readable: client.readable, outcome };
}

/** The answer as the first chunk alone spells it out (the books when nothing was tee'd). */
function completionOf(bytes: Uint8Array | null, decoder: Decoder): Completion {
  const parser = booksReader(decoder);
  if (bytes) parser.push(bytes);
  return parser.finish();
}

/**
 * The first chunk, or null if the stream ended without one. Rejects if `stop` fires first, and
 * then the stream is cancelled. The caller releases the reader.
 */
async function firstChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  stop: AbortSignal,
): Promise<Uint8Array | null> {
  let fail = () => {};
  const stopped = new Promise<never>((_, reject) => {
    fail = () => reject(stop.reason);
    if (stop.aborted) fail();
    else stop.addEventListener('abort', fail, { once: true });
  });
  stopped.catch(() => {}); // raced below; nobody else waits on it
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), stopped]);
      if (done) return null;
      if (value.byteLength > 0) return value;
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    stop.removeEventListener('abort', fail);
  }
}
