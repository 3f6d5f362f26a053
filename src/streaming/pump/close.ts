import type { PumpOutcome } from './types';

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
