import type { Config } from '../config';
import type { ChatParams } from '../core/chat-params';
import type { Decoder, WireFormat } from '../streaming/codec';

/** A client's request in a provider's own wire format, with the headers of that format it sent. */
export interface NativeRequest {
  format: WireFormat;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

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
  /**
   * Sends the streaming request upstream. The response body is SSE in the provider's format.
   * `native`: the client's own request, when the client speaks this provider's format; a
   * provider may send it as it is (with Sluice's model and limits), losing nothing in translation.
   */
  send(
    target: Target,
    params: ChatParams,
    config: Config,
    signal: AbortSignal,
    native?: NativeRequest,
  ): Promise<Response>;
  /** A fresh reader of that format, one per stream. */
  decoder(): Decoder;
  /**
   * The prompt's input tokens as the provider counts them, where its API has a count endpoint
   * (free, and exact for its own tokenizer). Rejects when the provider cannot answer.
   */
  countTokens?(
    target: Target,
    params: Pick<ChatParams, 'messages' | 'tools' | 'tool_choice'>,
    config: Config,
    signal: AbortSignal,
    native?: NativeRequest,
  ): Promise<number>;
}
