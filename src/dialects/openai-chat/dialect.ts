import { KEEPALIVE, SSE_HEADERS, encodeError } from '../../streaming/sse/encode';
import { transcoder, nowSeconds } from '../../streaming/transcode';
import type { ClientDialect } from '../types';
import { chatEncoder } from './encode';
import { withoutUsageChunk } from './without-usage';

/**
 * OpenAI's chat completions as a client dialect: an OpenAI-compatible upstream's bytes are
 * relayed as they are (less the usage chunk, for a client that did not ask for it); any other
 * upstream's events are written as `chat.completion.chunk`s.
 */
export const openAIChat: ClientDialect<{ includeUsage: boolean }> = {
  headers: SSE_HEADERS,
  framing: { keepalive: KEEPALIVE, error: (error) => encodeError({ error }) },
  mode(upstream, { includeUsage }) {
    if (upstream.format === 'openai-chat')
      return includeUsage ? { relay: upstream.decoder() } : { transform: withoutUsageChunk() };
    const encoder = chatEncoder({ model: upstream.model, created: nowSeconds(), includeUsage });
    return { transform: transcoder(upstream.decoder(), encoder) };
  },
};
