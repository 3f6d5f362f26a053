import type { Completion } from '../../core/completion';
import { type Ending, upstreamFailure } from './ending';
import type { ClientFraming, PumpOutcome } from './types';

/**
 * The call's outcome, from how the pipe ended and what the stream said, and the error event the
 * client still needs (null if none: it left, all went well, or it already got the upstream's).
 * Pure: the fault tests drive it through both pumps.
 */
export function conclude(
  completion: Completion,
  ending: Ending,
  timing: { startedAt: number; ttftMs: number | null; idleTimeoutMs: number },
  client: ClientFraming,
): { outcome: PumpOutcome; tail: Uint8Array | null } {
  let { clientGone, failure } = ending;
  // A client that hangs up once the stream has ended (as clients that stop at [DONE] do, or that
  // stop at the upstream's error event) was not the reason it ended: a whole answer is a success,
  // an upstream that failed is an error, not an abort charged to the client.
  if (clientGone && (completion.done || completion.error?.sent)) clientGone = false;
  // An upstream that holds its connection open after its terminal event has still answered whole.
  if (ending.stalled && !clientGone && !completion.done)
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
  const tail = !clientGone && failure && !completion.error?.sent ? client.error(failure) : null;
  return { outcome, tail };
}
