import type { Config } from '../config';
import type { ChatParams } from '../core/chat-params';
import type { Decoder, WireFormat } from '../streaming/codec';

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
  /** The wire format of its streams: a client that speaks it gets the bytes as they are. */
  readonly format: WireFormat;
  /** Sends the streaming request upstream. The response body is SSE in the provider's format. */
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal): Promise<Response>;
  /** A fresh reader of that format, one per stream. */
  decoder(): Decoder;
}
