import { nextTurn } from '../../lib/event-loop';
import type { Completion } from '../../core/completion';
import { booksReader } from '../books';
import type { Decoder } from '../codec';

/**
 * The books' copy is read at most this often (and at least every watchdog tick). Each read costs
 * a timer and a trip into the isolate whatever it brings, so fewer reads cost less CPU a chunk
 * (docs/performance.md). Between reads the tee holds what the client's branch took since the
 * last one: about a second of the stream.
 */
export const BOOKS_READ_MS = 1000;
/**
 * The books' copy reads into one buffer per stream, first this big; a read that fills it makes
 * the next buffer twice as big, up to BOOKS_READ_BYTES. A stream of modest pace keeps a small
 * buffer (the isolate's memory holds one per stream in flight), a fast one reads 64 KiB at a time.
 */
const BOOKS_FIRST_READ_BYTES = 8 * 1024;
/** The most one read of the books' copy takes. */
const BOOKS_READ_BYTES = 64 * 1024;

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
  private readonly parser: ReturnType<typeof booksReader>;
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

  /** `first`: the bytes the stream gave before it was tee'd; `decoder` reads the upstream's format. */
  constructor(stream: ReadableStream<Uint8Array>, first: Uint8Array, decoder: Decoder) {
    this.parser = booksReader(decoder);
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
