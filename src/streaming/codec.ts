import type { StreamError } from '../core/completion';
import type { StreamEvent } from '../core/stream-events';

/** The stream formats Sluice reads from upstreams and writes to clients. */
export type WireFormat = 'openai-chat' | 'anthropic' | 'gemini';

/**
 * Reads one wire format (an upstream's stream) into stream events. Stateful, one per stream.
 * `event` takes one SSE event: its `event:` name, if any, and its `data`.
 */
export interface Decoder {
  event(name: string, data: string): StreamEvent[];
  /** What the end of the stream implies (events the format leaves implicit). */
  end(): StreamEvent[];
}

/**
 * Writes stream events as one client dialect. Stateful, one per stream. `encode` takes the
 * events one upstream event produced, together, so a dialect that packs several into one of
 * its own (an OpenAI chunk carries a role, text and a finish reason at once) can.
 */
export interface Encoder {
  encode(events: readonly StreamEvent[]): Uint8Array[];
  /** A failure the gateway itself reports mid-stream (malformed bytes, a stall), as the dialect's error event. */
  error(error: StreamError): Uint8Array;
}
