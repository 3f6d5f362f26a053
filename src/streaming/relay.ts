import { nextTurn } from '../lib/event-loop';
import type { Completion } from './chunks';
import { createOpenAIStreamReader } from './parse-openai';
import { type Ending, type Pump, type PumpOptions, conclude, endClientSide, endingOf, pumpStop } from './outcome';
import { KEEPALIVE } from './sse';
import { watchdogTick } from './watchdog';

/**
 * The books' copy is read at most this often (and at least every watchdog tick). Each read costs
 * a timer and a trip into the isolate whatever it brings, so for a stream of 20 chunks a second,
 * reading every 250 ms cost about 8 us a chunk more than reading every second. Between reads the
 * tee holds what the client's branch took since the last one: about a second of the stream.
 */
const BOOKS_READ_MS = 1000;
/**
 * The books' copy reads into one buffer per stream, first this big; a read that fills it makes
 * the next buffer twice as big, up to BOOKS_READ_BYTES. A stream of modest pace keeps a small
 * buffer (the isolate's memory holds one per stream in flight), a fast one reads 64 KiB at a time.
 */
const BOOKS_FIRST_READ_BYTES = 8 * 1024;
/** The most one read of the books' copy takes. */
const BOOKS_READ_BYTES = 64 * 1024;

/**
 * For OpenAI-format streams, which reach the client byte for byte: after the first chunk, no
 * JavaScript runs per chunk. Once the first chunk is written, the upstream body is tee'd; one
 * branch is piped by the runtime itself into an IdentityTransformStream the client reads, so
 * bytes and back-pressure flow natively, as in a Worker that only returns
 * `new Response(upstream.body)`. The other branch is the books' copy: it holds what the client's
 * branch took and is read in bulk about once a second (see BooksCopy), each read parsed as it
 * comes, so only the answer is kept, not its bytes.
 *
 * Until the first chunk the stream is in our hands: keep-alive comments go out while the
 * upstream is silent, and the first chunk's arrival is the call's TTFT. That chunk is read
 * straight from the upstream body, so it reaches the client without passing the tee. After the
 * pipe, the client's side is still ours (`preventClose`, `preventAbort`), so an upstream that
 * broke, stalled or never finished gets an in-band error event before the stream closes.
 */
export function relayPump(opts: PumpOptions): Pump {
  const { startedAt, clientSignal, upstream } = opts;
  const client = new IdentityTransformStream();
  let books: BooksCopy | null = null;
  let ttftMs: number | null = null;
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = client.writable.getWriter();

  const stop = pumpStop(opts, {
    progress: () => (ttftMs === null ? 0 : 1 + (books?.reads ?? 0)),
    onKeepalive: () => void writer?.write(KEEPALIVE).catch(() => {}),
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
        books = new BooksCopy(toBooks, first);
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
    const { outcome, tail } = conclude(books?.completion() ?? completionOf(first), ending, {
      startedAt,
      ttftMs,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
    endClientSide(writer, outcome, tail);
    return outcome;
  })();

  return { readable: client.readable, outcome };
}

/** The answer as the first chunk alone spells it out (the books when nothing was tee'd). */
function completionOf(bytes: Uint8Array | null): Completion {
  const parser = createOpenAIStreamReader();
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

const WAITING = Symbol('waiting');

/**
 * The bookkeeping branch of a tee. A tee buffers, for the branch that lags, what the other
 * branch pulled; this one is read at a slow pace, so it lags, and each read takes everything
 * buffered (a BYOB read into one buffer the branch reuses, 8 to 64 KiB) instead of one
 * chunk. Each read is parsed at once and its buffer goes back for the next: what the branch
 * keeps is the answer so far, never the stream's bytes, whose SSE envelopes are most of a
 * long answer's size. The pace never pulls the upstream faster than the client reads by more
 * than one chunk per read, so a slow client still slows the upstream down. `reads` counts
 * reads that brought bytes: the watchdog's sign of progress.
 */
export class BooksCopy {
  reads = 0;
  private readonly parser = createOpenAIStreamReader();
  private readonly reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  private readonly byob: boolean;
  /** The BYOB buffer between reads: each read detaches it and hands it back with its bytes. */
  private buffer: ArrayBuffer | null = null;
  /** The size of the next BYOB buffer. */
  private bufferSize = BOOKS_FIRST_READ_BYTES;
  /** The read under way, if any. */
  private pending: Promise<boolean> | null = null;
  private ended = false;
  private paced = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `first`: the bytes the stream gave before it was tee'd. */
  constructor(stream: ReadableStream<Uint8Array>, first: Uint8Array) {
    this.parser.push(first);
    let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = stream.getReader({ mode: 'byob' });
    } catch {
      reader = stream.getReader();
    }
    this.reader = reader;
    this.byob = reader instanceof ReadableStreamBYOBReader;
  }

  /** Reads every `intervalMs` until the stream ends or `readToEnd`/`drainAndCancel` takes over. */
  start(intervalMs: number): void {
    this.paced = true;
    const tick = () => {
      this.timer = null;
      if (!this.paced || this.ended || this.pending) return;
      void this.read().then((more) => {
        if (more && this.paced) this.timer = setTimeout(tick, intervalMs);
      });
    };
    tick();
  }

  /** The rest of the stream, to its end (or its error). */
  async readToEnd(): Promise<void> {
    this.stopTimer();
    while (await (this.pending ?? this.read()));
  }

  /** What is already buffered, without waiting for more; then the branch is cancelled. */
  async drainAndCancel(): Promise<void> {
    this.stopTimer();
    for (;;) {
      const read = this.pending ?? this.read();
      const result = await Promise.race([read, nextTurn().then(() => WAITING)]);
      if (result !== true) break; // ended, failed, or nothing buffered right now
    }
    this.ended = true;
    await this.reader.cancel().catch(() => {});
  }

  /** The answer as the bytes read so far spell it out. */
  completion(): Completion {
    return this.parser.finish();
  }

  /** One read; resolves true if it brought bytes and the stream goes on. */
  private read(): Promise<boolean> {
    const reading = (
      this.byob
        ? (this.reader as ReadableStreamBYOBReader).read(new Uint8Array(this.takeBuffer()))
        : (this.reader as ReadableStreamDefaultReader<Uint8Array>).read()
    ).then(
      ({ done, value }) => {
        this.pending = null;
        if (done || !value) {
          this.ended = true;
          return false;
        }
        // The parser copies what it needs (decoding makes strings), so the buffer is free again.
        this.parser.push(value);
        if (this.byob) this.keepBuffer(value);
        this.reads++;
        return true;
      },
      () => {
        this.pending = null;
        this.ended = true;
        return false;
      },
    );
    this.pending = reading;
    return reading;
  }

  /** The buffer for the next BYOB read (the read detaches it; a failed read does not give it back). */
  private takeBuffer(): ArrayBuffer {
    const buffer = this.buffer ?? new ArrayBuffer(this.bufferSize);
    this.buffer = null;
    return buffer;
  }

  /** Keeps a read's buffer for the next, unless the read filled it and a bigger one is due. */
  private keepBuffer(read: Uint8Array) {
    const buffer = read.buffer as ArrayBuffer;
    if (read.byteLength < buffer.byteLength || buffer.byteLength >= BOOKS_READ_BYTES) this.buffer = buffer;
    else this.bufferSize = Math.min(buffer.byteLength * 2, BOOKS_READ_BYTES);
  }

  private stopTimer() {
    this.paced = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
