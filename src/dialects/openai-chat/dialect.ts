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
export const openAIChat: ClientDialect<{ includeUsage: boolean }> = {
  headers: SSE_HEADERS,
  open(upstream, { includeUsage }) {
    return { mode: chatMode(upstream, includeUsage), client: CHAT_FRAMING };
  },
};

/** The pump's own writes in chat's form: `: keepalive` comments, an OpenAI error object. */
export const CHAT_FRAMING: ClientFraming = { keepalive: KEEPALIVE, error: (error) => encodeError({ error }) };

function chatMode(upstream: UpstreamStream, includeUsage: boolean): PumpOptions['mode'] {
  if (upstream.format === 'openai-chat')
    return includeUsage ? { relay: upstream.decoder() } : { transform: withoutUsageChunk() };
  const encoder = chatEncoder({ model: upstream.model, created: nowSeconds(), includeUsage });
  return { transform: transcoder(upstream.decoder(), encoder) };
}
