import type { PriceOf } from '../../core/completion';
import { KEEPALIVE, SSE_HEADERS, encodeError } from '../../streaming/sse/encode';
import { transcoder, nowSeconds } from '../../streaming/transcode';
import type { ClientFraming, PumpOptions } from '../../streaming/pump/types';
import type { ClientDialect, UpstreamStream } from '../types';
import { chatEncoder } from './encode';
import { withoutUsageChunk } from './without-usage';

/**
 * OpenAI's chat completions as a client dialect: an OpenAI-compatible upstream's bytes are
 * relayed as they are (less the usage chunk, for a client that did not ask for it); any other
 * upstream's events are written as `chat.completion.chunk`s.
 */
export const openAIChat: ClientDialect<ChatStreamOptions> = {
  headers: SSE_HEADERS,
  open(upstream, opts) {
    return { mode: chatMode(upstream, opts), client: CHAT_FRAMING };
  },
};

export interface ChatStreamOptions {
  /** The client asked for the usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Prices the usage chunk Sluice writes (a relayed stream's is the upstream's own). */
  cost?: PriceOf;
}

/** The pump's own writes in chat's form: `: keepalive` comments, an OpenAI error object. */
export const CHAT_FRAMING: ClientFraming = { keepalive: KEEPALIVE, error: (error) => encodeError({ error }) };

function chatMode(upstream: UpstreamStream, { includeUsage, cost }: ChatStreamOptions): PumpOptions['mode'] {
  if (upstream.format === 'openai-chat')
    return includeUsage ? { relay: upstream.decoder() } : { transform: withoutUsageChunk() };
  const encoder = chatEncoder({ model: upstream.model, created: nowSeconds(), includeUsage, cost });
  return { transform: transcoder(upstream.decoder(), encoder) };
}
