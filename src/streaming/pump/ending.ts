import type { ErrorBody } from '../../errors';
import { ClientGone, Stalled } from './stop';

/** How the stream ended, as far as the pipe could tell. */
export interface Ending {
  clientGone: boolean;
  stalled: boolean;
  failure: ErrorBody['error'] | null;
}

export const NO_TROUBLE: Readonly<Ending> = { clientGone: false, stalled: false, failure: null };

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

export const upstreamFailure = (message: string, code: string): ErrorBody['error'] => ({
  message,
  type: 'upstream_error',
  code,
  param: null,
});

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
