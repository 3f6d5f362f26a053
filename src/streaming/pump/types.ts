import type { ErrorBody } from '../../errors';
import type { CallStatus, Completion } from '../../core/completion';

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
 * Turns upstream bytes in a provider's own wire format into OpenAI `chat.completion.chunk` SSE
 * bytes. Stateful (one per stream); `flush` emits whatever the end of the stream implies.
 * `result` is the completion the emitted chunks spell out (text, tool calls, finish reason,
 * usage, whether the provider's terminal event came, any provider error), so the pump does not
 * parse its own output again.
 */
export interface Transcoder {
  push(bytes: Uint8Array): Uint8Array | null;
  flush(): Uint8Array | null;
  result(): Completion;
}

export interface TranscodeOptions {
  /** Whether the client gets the final usage chunk (the completion keeps the usage either way). */
  includeUsage?: boolean;
}

export interface PumpOptions {
  upstream: ReadableStream<Uint8Array>;
  /** Absent: the upstream's bytes are OpenAI-format and reach the client unchanged. */
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
