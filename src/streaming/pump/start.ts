import { relayPump } from './relay';
import { transformPump } from './transform';
import type { Pump, PumpOptions, PumpOutcome } from './types';

/**
 * Moves an upstream stream to the client as it arrives and settles, once it is over, with what
 * the call produced and how it ended. Two mechanisms, one contract:
 * - bytes that reach the client unchanged (the upstream speaks the client's dialect) are relayed
 *   by the runtime itself, with no JavaScript per chunk, and parsed in bulk off the client's path
 *   (relay.ts);
 * - streams that must change on their way go through one transform stage (transform.ts).
 * Either way: keep-alives before the first byte, an idle limit, an in-band error event when the
 * upstream fails after the 200, and a client disconnect cancels the upstream request.
 */
export function startPump(opts: PumpOptions): Pump {
  return 'transform' in opts.mode ? transformPump(opts, opts.mode.transform) : relayPump(opts, opts.mode.relay);
}

/** The whole answer of a stream nobody reads as it goes (non-streaming calls). */
export async function collect(opts: PumpOptions): Promise<PumpOutcome> {
  const { readable, outcome } = startPump(opts);
  await new Response(readable).arrayBuffer().catch(() => {});
  return outcome;
}
