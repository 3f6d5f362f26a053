import type { PumpOptions } from './types';
import { Watchdog } from './watchdog';

/** Reasons a pump stops its pipe. */
export class Stalled extends Error {}
export class ClientGone extends Error {}

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
