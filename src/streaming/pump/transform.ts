import { endClientSide } from './close';
import { conclude } from './conclude';
import { type Ending, NO_TROUBLE, endingOf } from './ending';
import { pumpStop } from './stop';
import type { Pump, PumpOptions, Transcoder } from './types';

/**
 * For streams that must change on their way (Anthropic and Gemini re-encoded as OpenAI chunks,
 * or the usage chunk left out): each upstream chunk is read once in JavaScript, handed to the
 * transcoder, and its bytes written into an IdentityTransformStream the client reads. The
 * client's side is a runtime stream, so the response body is drained natively; each write
 * resolves only when the client has taken the bytes, so the next upstream read waits for it:
 * back-pressure from the client's socket to the upstream's, with nothing buffered between.
 *
 * A failure after the first byte becomes an in-band error event before the stream closes. A
 * client that disconnects, or an upstream silent for `idleTimeoutMs`, cancels the upstream
 * request at once.
 */
export function transformPump(opts: PumpOptions, transcoder: Transcoder): Pump {
  const { startedAt, clientSignal } = opts;
  const client = new IdentityTransformStream();
  const writer = client.writable.getWriter();
  const reader = opts.upstream.getReader();
  let chunks = 0;
  let ttftMs: number | null = null;
  let clientLeft = false;
  /** Writes the client has not taken yet. */
  let pendingWrites = 0;
  const send = (bytes: Uint8Array) => {
    pendingWrites++;
    return writer.write(bytes).then(
      () => void pendingWrites--,
      (err: unknown) => {
        pendingWrites--;
        clientLeft = true; // the client's side is closed: it hung up
        throw err;
      },
    );
  };

  const stop = pumpStop(opts, {
    progress: () => chunks,
    onKeepalive: () => void send(opts.client.keepalive).catch(() => {}),
  });
  // Stopping (client gone, no progress) cancels the upstream, which ends a pending read, and
  // fails a write the client is not taking. Progress that stopped because the client stopped
  // reading (its writes still pending) is the client's doing, not the upstream's: the call ends
  // as the client's, charged for what was produced, like a disconnect.
  const onStop = () => {
    void reader.cancel(stop.signal.reason).catch(() => {});
    if (pendingWrites > 0) {
      clientLeft = true;
      void writer.abort(stop.signal.reason).catch(() => {});
    }
  };
  stop.signal.addEventListener('abort', onStop, { once: true });

  const outcome = (async () => {
    let ending: Ending = { ...NO_TROUBLE };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (stop.signal.aborted) throw stop.signal.reason;
        if (done) break;
        if (chunks++ === 0) ttftMs = Date.now() - startedAt;
        const bytes = transcoder.push(value);
        if (bytes && bytes.byteLength > 0) await send(bytes);
      }
    } catch (err) {
      ending = endingOf(err, stop.signal, clientSignal, clientLeft);
      if (!stop.signal.aborted) await reader.cancel(err).catch(() => {});
    } finally {
      stop.signal.removeEventListener('abort', onStop);
      stop.release();
    }
    if (clientSignal.aborted || clientLeft) ending.clientGone = true;

    // Queued, not awaited, as endClientSide does with what follows.
    if (!ending.clientGone && !ending.stalled) {
      const tail = transcoder.flush();
      if (tail && tail.byteLength > 0) void send(tail).catch(() => {});
    }
    const { outcome, tail } = conclude(
      transcoder.result(),
      ending,
      { startedAt, ttftMs, idleTimeoutMs: opts.idleTimeoutMs },
      opts.client,
    );
    endClientSide(writer, outcome, tail);
    return outcome;
  })();

  return { readable: client.readable, outcome };
}
