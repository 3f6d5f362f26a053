/**
 * Reading a streamed response body, whatever its format: the read loop, the caller's abort, a
 * connection that breaks, a stream that ends before its last event, and closing the request
 * when the reader leaves early. Each format (SSE chunks, NDJSON events) supplies only how its
 * bytes become items and which item is the last. A resumable call's stream goes on across
 * connections: after a drop it is opened again after the last numbered event read.
 */
import { APIConnectionError, APITimeoutError, SluiceError, StreamError } from './errors.js';
import { abortError, isRetryableStatus, retryDelayMs, type Sent, sleep } from './http.js';

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
  /** `id`: the piece's event number, on a resumable call's stream (SSE `id:`, NDJSON `seq`). */
  parse(raw: R): { item?: T; last: boolean; id?: number };
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

/**
 * How a resumable call's stream is opened again after its connection drops.
 *
 * @example
 * const resumption: Resumption = {
 *   after: null,
 *   open: (after, signal) => send(fetch, policy, `${base}/api/calls/${callId}/stream?after=${after ?? ''}`, init, signal),
 *   maxAttempts: 5,
 *   initialDelayMs: 100,
 *   maxDelayMs: 2_000,
 * };
 */
export interface Resumption {
  /** The last event the reader had before this response's first (`null`: none, it starts at the first). */
  after: number | null;
  /** Opens the stream after event `after` (`null`: from the first), following `signal`. */
  open(after: number | null, signal: AbortSignal): Promise<Sent>;
  /** The caller's signal: it also ends a wait between attempts. */
  signal?: AbortSignal;
  /** Attempts in a row that bring no new event before the stream gives up. */
  maxAttempts: number;
  /** The wait before the first attempt; it doubles per attempt, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * The items of a stream and the means to stop it, across as many connections as it takes.
 *
 * @example
 * const source = readStream(sent, requestId, () => format, 'before [DONE]', resumption);
 * for await (const item of source.items) console.log(source.lastEventId, item);
 */
export interface StreamSource<T> {
  items: AsyncGenerator<T, void, undefined>;
  /** The number of the last event read; `null` before any (or on a stream that is not numbered). */
  readonly lastEventId: number | null;
  /** Closes the request (and any attempt to open it again); a pending or later read throws `APIUserAbortError`. */
  abort(): void;
}

/** A read that failed because the connection went, not because of what the stream said. */
const dropped = (err: unknown) =>
  (err instanceof APIConnectionError && !(err instanceof APITimeoutError)) ||
  (err instanceof StreamError && err.code === 'stream_truncated');

/** An attempt to open the stream again that may succeed if tried later. */
const transient = (err: unknown) =>
  err instanceof APIConnectionError ||
  (err instanceof SluiceError && err.status !== undefined && isRetryableStatus(err.status));

/**
 * One connection's pieces, numbered: a piece the reader already had (numbered `after` or
 * before) is skipped, so a replay can never repeat one. The piece a drop cut short is left
 * out, not parsed: it is sent again whole on the next connection.
 */
function numbered<R, T>(format: BodyFormat<R, T>, after: number | null, seen: (id: number) => void): BodyFormat<R, T> {
  return {
    decode: (bytes) => format.decode(bytes),
    end: () => [],
    parse: (raw) => {
      const parsed = format.parse(raw);
      if (parsed.id === undefined) return parsed;
      if (after !== null && parsed.id <= after) return { last: false };
      seen(parsed.id);
      return parsed;
    },
  };
}

/**
 * A stream's items: one response's, read with `readBody`; or, given a `resumption`, a resumable
 * call's, which go on after a dropped connection (a read that fails, a body that ends before
 * its last event) from a new one opened after the last event read, with no item twice and none
 * missing. Attempts back off exponentially; `maxAttempts` of them in a row with no new event
 * throw `APIConnectionError`. What the stream says (an in-band error, an event that is not
 * JSON) and a refusal (a 4xx) are thrown at once.
 *
 * @example
 * const source = readStream(sent, requestId, () => sseFormat(), 'before [DONE]', null);
 * for await (const chunk of source.items) console.log(chunk);
 */
export function readStream<R, T>(
  sent: Sent,
  requestId: string | null,
  format: () => BodyFormat<R, T>,
  before: string,
  resumption: Resumption | null,
): StreamSource<T> {
  if (!resumption)
    return { items: readBody(sent, requestId, format(), before), lastEventId: null, abort: () => sent.abort() };

  const r = resumption;
  let current = sent;
  let lastEventId = r.after;
  // Ends the stream as a whole: the caller's signal, or `abort()`; each connection opened again follows it.
  const stop = new AbortController();
  const follow = () => stop.abort(r.signal?.reason);
  if (r.signal?.aborted) follow();
  else r.signal?.addEventListener('abort', follow, { once: true });

  async function reopen(failures: number, cause: unknown): Promise<{ sent: Sent; failures: number }> {
    for (;;) {
      if (failures >= r.maxAttempts) {
        const why = (cause as Error)?.message ?? String(cause);
        throw new APIConnectionError(`The stream broke off and could not be resumed in ${failures} attempts: ${why}`, {
          cause,
          requestId,
        });
      }
      const policy = { initialRetryDelayMs: r.initialDelayMs, maxRetryDelayMs: r.maxDelayMs, maxRetryAfterMs: 0 };
      await sleep(retryDelayMs(failures, null, policy), stop.signal);
      failures++;
      try {
        return { sent: await r.open(lastEventId, stop.signal), failures };
      } catch (err) {
        if (stop.signal.aborted || !transient(err)) throw err;
        cause = err;
      }
    }
  }

  async function* items(): AsyncGenerator<T, void, undefined> {
    let failures = 0;
    try {
      for (;;) {
        const from = lastEventId;
        // 204: the call has ended and nothing follows the last event read.
        if (current.response.status === 204) return;
        try {
          const connection = numbered(format(), from, (id) => (lastEventId = id));
          yield* readBody(current, requestId, connection, before);
          return;
        } catch (err) {
          if (stop.signal.aborted || !dropped(err)) throw err;
          // Attempts are counted in a row: a connection that brought news starts the count again.
          if (lastEventId !== from) failures = 0;
          ({ sent: current, failures } = await reopen(failures, err));
        }
      }
    } finally {
      r.signal?.removeEventListener('abort', follow);
    }
  }

  return {
    items: items(),
    get lastEventId() {
      return lastEventId;
    },
    abort: () => {
      stop.abort();
      current.abort();
    },
  };
}
