import type { ErrorBody } from '../errors';
import type { Transcoder } from '../providers/types';
import type { Completion } from './chunks';
import { parseOpenAIStream } from './parse-openai';
import { KEEPALIVE, encodeError } from './sse';
import { Watchdog } from './watchdog';

export type CallStatus = 'success' | 'error' | 'client_aborted';

export interface PumpOutcome {
  status: CallStatus;
  completion: Completion;
  /** Milliseconds from `startedAt` to the first upstream byte. */
  ttftMs: number | null;
  latencyMs: number;
  error: ErrorBody['error'] | null;
}

export interface PumpOptions {
  upstream: ReadableStream<Uint8Array>;
  transcoder?: Transcoder;
  startedAt: number;
  /** Aborted when the client goes away (request.signal). */
  clientSignal: AbortSignal;
  /** Comment keep-alives before the first upstream byte, every this many ms. */
  keepaliveMs: number;
  /** An upstream silent this long is stalled: the stream ends with an error event. */
  idleTimeoutMs: number;
}

export interface Pump {
  /** What the client reads: the upstream's bytes (OpenAI format), then an error event if it failed. */
  readable: ReadableStream<Uint8Array>;
  /** Settles once the stream is over, however it ended. Never rejects. */
  outcome: Promise<PumpOutcome>;
}

class Stalled extends Error {}
class ClientGone extends Error {}

/**
 * Moves upstream bytes to the client as they arrive, through one TransformStream fed by the
 * runtime's own `pipeTo`: no read/write promise pair per chunk in our code, native
 * back-pressure from the client's socket to the upstream's, and per chunk only a counter, an
 * array push and an enqueue (or the provider's transcoder). OpenAI-format bytes are kept as
 * they are and parsed once after the stream ends, off the client's path.
 *
 * The pipe keeps the client's side open when the upstream ends or fails (`preventClose`,
 * `preventAbort`), so a failure after the first byte becomes an in-band error event before the
 * stream closes. A client that disconnects, or an upstream silent for `idleTimeoutMs`, aborts
 * the pipe, which cancels the upstream request at once.
 */
export function startPump(opts: PumpOptions): Pump {
  const { transcoder, startedAt, clientSignal } = opts;
  const kept: Uint8Array[] = [];
  let chunks = 0;
  let ttftMs: number | null = null;
  let clientGone = false;
  let out!: TransformStreamDefaultController<Uint8Array>;

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      out = controller;
    },
    transform(chunk) {
      if (chunks++ === 0) ttftMs = Date.now() - startedAt;
      const bytes = transcoder ? transcoder.push(chunk) : chunk;
      if (!bytes || bytes.byteLength === 0) return;
      // OpenAI-format bytes are kept to be parsed once at the end; a transcoder keeps its own tally.
      if (!transcoder) kept.push(bytes);
      out.enqueue(bytes);
    },
    cancel() {
      clientGone = true; // the client's side was cancelled: it hung up
    },
  });

  const stop = new AbortController();
  const onClientGone = () => stop.abort(new ClientGone());
  clientSignal.addEventListener('abort', onClientGone, { once: true });
  const watchdog = new Watchdog({
    keepaliveMs: opts.keepaliveMs,
    idleMs: opts.idleTimeoutMs,
    progress: () => chunks,
    onKeepalive: () => {
      try {
        out.enqueue(KEEPALIVE);
      } catch {
        // the client is gone; the pipe finds out on its own
      }
    },
    onIdle: () => stop.abort(new Stalled()),
  });

  const outcome = (async (): Promise<PumpOutcome> => {
    let failure: ErrorBody['error'] | null = null;
    let stalled = false;
    try {
      await opts.upstream.pipeTo(stream.writable, { preventClose: true, preventAbort: true, signal: stop.signal });
    } catch (err) {
      if (stop.signal.reason instanceof Stalled) stalled = true;
      else if (clientGone || clientSignal.aborted || stop.signal.reason instanceof ClientGone) clientGone = true;
      else failure = upstreamFailure(`Upstream stream failed: ${describe(err)}`, 'upstream_stream_error');
    } finally {
      watchdog.stop();
      clientSignal.removeEventListener('abort', onClientGone);
    }
    if (clientSignal.aborted) clientGone = true;

    if (!clientGone && !stalled && transcoder) {
      const tail = transcoder.flush();
      if (tail && tail.byteLength > 0) safeEnqueue(out, tail);
    }
    const completion = transcoder ? transcoder.result() : parseOpenAIStream(kept);
    // A client that hangs up once it has read the terminal event (as clients that stop at
    // [DONE] do) got the whole answer: that is a success, not an abort.
    if (clientGone && completion.done && !completion.error) clientGone = false;
    if (stalled && !clientGone)
      failure = upstreamFailure(`Upstream sent nothing for ${opts.idleTimeoutMs} ms`, 'upstream_idle_timeout');
    if (!clientGone && !failure) {
      if (completion.error)
        failure = upstreamFailure(completion.error.message, completion.error.code ?? 'upstream_stream_error');
      else if (!completion.done)
        failure = upstreamFailure('Upstream stream ended before completion', 'upstream_truncated');
    }

    if (!clientGone) {
      // An error event the client already got (the upstream's own) is not repeated.
      if (failure && !completion.error?.sent) safeEnqueue(out, encodeError({ error: failure }));
      try {
        out.terminate();
      } catch {
        // already closed by the client
      }
    }

    return {
      status: clientGone ? 'client_aborted' : failure ? 'error' : 'success',
      completion,
      ttftMs,
      latencyMs: Date.now() - startedAt,
      error: clientGone
        ? { message: 'Client disconnected', type: 'api_error', code: 'client_aborted', param: null }
        : failure,
    };
  })();

  return { readable: stream.readable, outcome };
}

/** The whole answer of a stream nobody reads as it goes (non-streaming calls). */
export async function collect(opts: PumpOptions): Promise<PumpOutcome> {
  const { readable, outcome } = startPump(opts);
  await readable.pipeTo(new WritableStream()).catch(() => {});
  return outcome;
}

function safeEnqueue(controller: TransformStreamDefaultController<Uint8Array>, bytes: Uint8Array) {
  try {
    controller.enqueue(bytes);
  } catch {
    // the client's side is already closed
  }
}

const upstreamFailure = (message: string, code: string): ErrorBody['error'] => ({
  message,
  type: 'upstream_error',
  code,
  param: null,
});

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
