import type { Config } from '../config';
import type { ChatParams } from '../core/chat-params';
import type { TranscodeOptions, Transcoder } from '../streaming/pump/types';

/** Where a call goes: one row of the model catalog, resolved. */
export interface Target {
  alias: string;
  provider: string;
  upstreamModel: string;
  baseUrl: string | null;
}

/**
 * One LLM provider behind one interface. Adding a provider means adding one file that
 * exports one of these and one line in `registry.ts`.
 */
export interface Provider {
  readonly name: string;
  /** Sends the streaming request upstream. The response body is SSE in the provider's format. */
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal): Promise<Response>;
  /**
   * For providers that do not speak OpenAI's chunk format, a fresh transcoder per stream.
   * Absent means the upstream bytes are forwarded untouched.
   */
  transcoder?(target: Target, opts?: TranscodeOptions): Transcoder;
}
