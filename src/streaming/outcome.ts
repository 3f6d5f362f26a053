import type { ErrorBody } from '../errors';
import type { Transcoder } from '../providers/types';
import type { Completion } from './chunks';
import { encodeError } from './sse';
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

/** Reasons a pump stops its pipe. */
class Stalled extends Error {}
class ClientGone extends Error {}

/**
 * What stops a pump before its upstream ends: the client leaving (request.signal) or the
 * watchdog finding the upstream stalled. Pipes take `signal`; `release()` once the pipe is over.
 */
export function pumpStop(opts: PumpOptions, watch: { progress(): number; onKeepalive(): void }) {
  const stop = new AbortController();
  const onClientGone = () => stop.abort(new ClientGone());
  opts.clientSignal.addEventListener('abort', onClientGone, { once: true });
  const watchdog = new Watchdog({
    keepaliveMs: opts.keepaliveMs,
    idleMs: opts.idleTimeoutMs,
    ...watch,
    onIdle: () => stop.abort(new Stalled()),
  });
  return {
    signal: stop.signal,
    release() {
      watchdog.stop();
      opts.clientSignal.removeEventListener('abort', onClientGone);
    },
  };
}

/** How the stream ended, as far as the pipe could tell. */
export interface Ending {
  clientGone: boolean;
  stalled: boolean;
  failure: ErrorBody['error'] | null;
}

/** What a failed pipe means: stopped for a stall, the client left, or the upstream broke. */
export function endingOf(err: unknown, stop: AbortSignal, clientSignal: AbortSignal, clientGone: boolean): Ending {
  if (stop.reason instanceof Stalled) return { clientGone: false, stalled: true, failure: null };
  if (clientGone || clientSignal.aborted || stop.reason instanceof ClientGone)
    return { clientGone: true, stalled: false, failure: null };
  return {
    clientGone: false,
    stalled: false,
    failure: upstreamFailure(`Upstream stream failed: ${describe(err)}`, 'upstream_stream_error'),
  };
}

/**
 * The call's outcome, from how the pipe ended and what the stream said, and the error event the
 * client still needs (null if none: it left, all went well, or it already got the upstream's).
 */
export function conclude(
  completion: Completion,
  ending: Ending,
  timing: { startedAt: number; ttftMs: number | null; idleTimeoutMs: number },
): { outcome: PumpOutcome; tail: Uint8Array | null } {
  let { clientGone, failure } = ending;
  // A client that hangs up once it has read the terminal event (as clients that stop at
  // [DONE] do) got the whole answer: that is a success, not an abort.
  if (clientGone && completion.done && !completion.error) clientGone = false;
  if (ending.stalled && !clientGone)
    failure = upstreamFailure(`Upstream sent nothing for ${timing.idleTimeoutMs} ms`, 'upstream_idle_timeout');
  if (!clientGone && !failure) {
    if (completion.error)
      failure = upstreamFailure(completion.error.message, completion.error.code ?? 'upstream_stream_error');
    else if (!completion.done)
      failure = upstreamFailure('Upstream stream ended before completion', 'upstream_truncated');
  }
  const outcome: PumpOutcome = {
    status: clientGone ? 'client_aborted' : failure ? 'error' : 'success',
    completion,
    ttftMs: timing.ttftMs,
    latencyMs: Date.now() - timing.startedAt,
    error: clientGone
      ? { message: 'Client disconnected', type: 'api_error', code: 'client_aborted', param: null }
      : failure,
  };
  // An error event the client already got (the upstream's own) is not repeated.
  const tail = !clientGone && failure && !completion.error?.sent ? encodeError({ error: failure }) : null;
  return { outcome, tail };
}

/**
 * Ends the client's side: the error event it still needs, then the close; nothing for a client
 * that left. Queued, not awaited: the books must not wait for a client that stopped reading at
 * the very end (writes stay in order, and close follows them).
 */
export function endClientSide(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  outcome: PumpOutcome,
  tail: Uint8Array | null,
): void {
  if (outcome.status === 'client_aborted') return;
  if (tail) void writer.write(tail).catch(() => {});
  void writer.close().catch(() => {});
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
