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
  /** The client's side; null collects the whole answer (non-streaming calls). */
  writer: WritableStreamDefaultWriter<Uint8Array> | null;
  transcoder?: Transcoder;
  startedAt: number;
  /** Aborted when the client goes away (request.signal, or the response stream cancelled). */
  clientSignal: AbortSignal;
  /** Comment keep-alives before the first upstream byte, every this many ms. */
  keepaliveMs: number;
  /** An upstream silent this long is stalled: the stream ends with an error event. */
  idleTimeoutMs: number;
}

class ClientGone extends Error {}

/**
 * Moves upstream bytes to the client as they arrive: one read, one write, no parsing on the
 * way. `await writer.write()` settles only once the client took the chunk, so a slow reader
 * back-pressures the upstream. OpenAI-format bytes are kept as they are and parsed once after
 * the stream ends, off the client's path. A failure after the first byte becomes an in-band
 * error event; a client that disconnects cancels the upstream read.
 */
export async function pump(opts: PumpOptions): Promise<PumpOutcome> {
  const { writer, transcoder, startedAt, clientSignal } = opts;
  const reader = opts.upstream.getReader();
  reader.closed.catch(() => {}); // a failed upstream is handled below, not an unhandled rejection
  const kept: Uint8Array[] = [];
  let ttftMs: number | null = null;
  let failure: ErrorBody['error'] | null = null;
  let clientGone = false;

  const onClientGone = () => void reader.cancel('client disconnected').catch(() => {});
  clientSignal.addEventListener('abort', onClientGone, { once: true });
  let stalled = false;
  const watchdog = new Watchdog({
    keepaliveMs: opts.keepaliveMs,
    idleMs: opts.idleTimeoutMs,
    onKeepalive: () => void writer?.write(KEEPALIVE).catch(() => {}),
    onIdle: () => {
      stalled = true;
      void reader.cancel('upstream stalled').catch(() => {});
    },
  });

  const send = async (bytes: Uint8Array) => {
    // OpenAI-format bytes are kept to be parsed once at the end; a transcoder keeps its own tally.
    if (!transcoder) kept.push(bytes);
    if (!writer) return;
    try {
      await writer.write(bytes);
    } catch {
      throw new ClientGone();
    }
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      watchdog.touch();
      ttftMs ??= Date.now() - startedAt;
      const out = transcoder ? transcoder.push(value) : value;
      if (out && out.byteLength > 0) await send(out);
    }
    const tail = stalled ? null : transcoder?.flush();
    if (tail && tail.byteLength > 0) await send(tail);
  } catch (err) {
    if (err instanceof ClientGone || clientSignal.aborted) clientGone = true;
    else if (!stalled)
      failure = {
        message: `Upstream stream failed: ${describe(err)}`,
        type: 'upstream_error',
        code: 'upstream_stream_error',
        param: null,
      };
  } finally {
    watchdog.stop();
    clientSignal.removeEventListener('abort', onClientGone);
  }
  // A disconnect cancels the upstream read, which then ends as if the upstream had finished.
  if (clientSignal.aborted) clientGone = true;
  if (stalled && !clientGone)
    failure = {
      message: `Upstream sent nothing for ${opts.idleTimeoutMs} ms`,
      type: 'upstream_error',
      code: 'upstream_idle_timeout',
      param: null,
    };

  if (clientGone) await reader.cancel('client disconnected').catch(() => {});

  const completion = transcoder ? transcoder.result() : parseOpenAIStream(kept);
  // A client that hangs up once it has read the terminal event (as clients that stop at
  // [DONE] do) got the whole answer: that is a success, not an abort.
  if (clientGone && completion.done && !completion.error) clientGone = false;
  if (!clientGone && !failure) {
    if (completion.error) {
      failure = {
        message: completion.error.message,
        type: 'upstream_error',
        code: completion.error.code ?? 'upstream_stream_error',
        param: null,
      };
    } else if (!completion.done) {
      failure = {
        message: 'Upstream stream ended before completion',
        type: 'upstream_error',
        code: 'upstream_truncated',
        param: null,
      };
    }
  }

  if (writer && !clientGone) {
    // An error event the client already got (the upstream's own) is not repeated.
    if (failure && !completion.error?.sent) await writer.write(encodeError({ error: failure })).catch(() => {});
    await writer.close().catch(() => {});
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
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
