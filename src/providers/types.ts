import type { Env } from '../env';
import type { ChatParams } from '../schemas/chat';
import type { Completion } from '../streaming/chunks';

/** Where a call goes: one row of the model catalog, resolved. */
export interface Target {
  alias: string;
  provider: string;
  upstreamModel: string;
  baseUrl: string | null;
}

/**
 * Turns upstream bytes in a provider's own wire format into OpenAI `chat.completion.chunk`
 * SSE bytes. Stateful (one per stream); `flush` emits whatever the end of the stream implies.
 * `result` is the completion the emitted chunks spell out (text, tool calls, finish reason,
 * usage, whether the provider's terminal event came, any provider error), so the pump does
 * not parse its own output again.
 */
export interface TranscodeOptions {
  /** Whether the client gets the final usage chunk (the completion keeps the usage either way). */
  includeUsage?: boolean;
}

export interface Transcoder {
  push(bytes: Uint8Array): Uint8Array | null;
  flush(): Uint8Array | null;
  result(): Completion;
}

/**
 * One LLM provider behind one interface. Adding a provider means adding one file that
 * exports one of these and one line in `registry.ts`.
 */
export interface Provider {
  readonly name: string;
  /** Sends the streaming request upstream. The response body is SSE in the provider's format. */
  send(target: Target, params: ChatParams, env: Env, signal: AbortSignal): Promise<Response>;
  /**
   * For providers that do not speak OpenAI's chunk format, a fresh transcoder per stream.
   * Absent means the upstream bytes are forwarded untouched.
   */
  transcoder?(target: Target, opts?: TranscodeOptions): Transcoder;
}
