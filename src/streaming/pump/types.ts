import type { ErrorBody } from '../../errors';
import type { CallStatus, Completion } from '../../core/completion';
import type { Decoder } from '../codec';

/** What a pump settles with once its stream is over, however it ended. */
export interface PumpOutcome {
  status: CallStatus;
  completion: Completion;
  /** Milliseconds from `startedAt` to the first upstream byte. */
  ttftMs: number | null;
  latencyMs: number;
  error: ErrorBody['error'] | null;
}

/**
 * Turns upstream bytes into the client's. Stateful (one per stream); `flush` emits whatever the
 * end of the stream implies. `result` is the completion the stream spelled out (text, tool
 * calls, finish reason, usage, whether the upstream's terminal event came, any upstream error),
 * so the pump does not parse its own output again.
 */
export interface Transcoder {
  push(bytes: Uint8Array): Uint8Array | null;
  flush(): Uint8Array | null;
  result(): Completion;
}

/** What the pump itself writes to the client, in the client's dialect. */
export interface ClientFraming {
  /** Sent while the upstream is silent before its first byte. */
  keepalive: Uint8Array;
  /** A failure the gateway reports after the 200 (the upstream broke, stalled or ended early). */
  error(error: ErrorBody['error']): Uint8Array;
}

export interface PumpOptions {
  upstream: ReadableStream<Uint8Array>;
  /**
   * How the upstream's bytes reach the client: unchanged (`relay`, read for the books by the
   * upstream format's decoder) or changed on their way (`transform`).
   */
  mode: { relay: Decoder } | { transform: Transcoder };
  client: ClientFraming;
  startedAt: number;
  /** Aborted when the client goes away (request.signal). */
  clientSignal: AbortSignal;
  /** Keep-alives before the first upstream byte, every this many ms. */
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
