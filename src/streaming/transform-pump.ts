import type { Transcoder } from '../providers/types';
import { type Ending, type Pump, type PumpOptions, conclude, endingOf, pumpStop } from './outcome';
import { KEEPALIVE } from './sse';

/**
 * For streams that must change on their way (Anthropic and Gemini re-encoded as OpenAI chunks,
 * or the usage chunk left out): one TransformStream fed by the runtime's own `pipeTo`, with the
 * transcoder called once per chunk. Back-pressure runs natively from the client's socket to the
 * upstream's.
 *
 * The pipe keeps the client's side open when the upstream ends or fails (`preventClose`,
 * `preventAbort`), so a failure after the first byte becomes an in-band error event before the
 * stream closes. A client that disconnects, or an upstream silent for `idleTimeoutMs`, aborts
 * the pipe, which cancels the upstream request at once.
 */
export function transformPump(opts: PumpOptions, transcoder: Transcoder): Pump {
  const { startedAt, clientSignal } = opts;
  let chunks = 0;
  let ttftMs: number | null = null;
  let cancelled = false;
  let out!: TransformStreamDefaultController<Uint8Array>;

  const stream = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      out = controller;
    },
    transform(chunk) {
      if (chunks++ === 0) ttftMs = Date.now() - startedAt;
      const bytes = transcoder.push(chunk);
      if (bytes && bytes.byteLength > 0) out.enqueue(bytes);
    },
    cancel() {
      cancelled = true; // the client's side was cancelled: it hung up
    },
  });

  const stop = pumpStop(opts, { progress: () => chunks, onKeepalive: () => safeEnqueue(out, KEEPALIVE) });

  const outcome = (async () => {
    let ending: Ending = { clientGone: false, stalled: false, failure: null };
    try {
      await opts.upstream.pipeTo(stream.writable, { preventClose: true, preventAbort: true, signal: stop.signal });
    } catch (err) {
      ending = endingOf(err, stop.signal, clientSignal, cancelled);
    } finally {
      stop.release();
    }
    if (clientSignal.aborted || cancelled) ending.clientGone = true;

    if (!ending.clientGone && !ending.stalled) {
      const tail = transcoder.flush();
      if (tail && tail.byteLength > 0) safeEnqueue(out, tail);
    }
    const { outcome, tail } = conclude(transcoder.result(), ending, {
      startedAt,
      ttftMs,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
    if (outcome.status !== 'client_aborted') {
      if (tail) safeEnqueue(out, tail);
      try {
        out.terminate();
      } catch {
        // already closed by the client
      }
    }
    return outcome;
  })();

  return { readable: stream.readable, outcome };
}

function safeEnqueue(controller: TransformStreamDefaultController<Uint8Array>, bytes: Uint8Array) {
  try {
    controller.enqueue(bytes);
  } catch {
    // the client's side is already closed
  }
}
