import type { PriceOf } from '../../core/completion';
import { KEEPALIVE, SSE_HEADERS, encodeError, numberSseEvents } from '../../streaming/sse/encode';
import { transcoder, nowSeconds } from '../../streaming/transcode';
import type { ClientFraming, PumpOptions } from '../../streaming/pump/types';
import { sseRelay } from '../../streaming/sse/relay';
import type { ClientDialect, UpstreamStream } from '../types';
import { chatEncoder } from './encode';
import { isUsageOnly, withoutUsageChunk } from './without-usage';

const utf8 = new TextDecoder();

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
  encoding(upstream, opts) {
    return { encoder: encoderFor(upstream.model, opts), client: CHAT_FRAMING };
  },
  number: numberSseEvents,
  relay(upstream, { includeUsage }) {
    if (upstream.format !== 'openai-chat') return null;
    return includeUsage ? sseRelay() : sseRelay((event) => !isUsageOnly(utf8.decode(event)));
  },
};

const encoderFor = (model: string, { includeUsage, cost }: ChatStreamOptions) =>
  chatEncoder({ model, created: nowSeconds(), includeUsage, cost });

export interface ChatStreamOptions {
  /** The client asked for the usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** Prices the usage chunk Sluice writes (a relayed stream's is the upstream's own). */
  cost?: PriceOf;
}

/** The pump's own writes in chat's form: `: keepalive` comments, an OpenAI error object. */
export const CHAT_FRAMING: ClientFraming = { keepalive: KEEPALIVE, error: (error) => encodeError({ error }) };

function chatMode(upstream: UpstreamStream, opts: ChatStreamOptions): PumpOptions['mode'] {
  if (upstream.format === 'openai-chat')
    return opts.includeUsage ? { relay: upstream.decoder() } : { transform: withoutUsageChunk() };
  return { transform: transcoder(upstream.decoder(), encoderFor(upstream.model, opts)) };
}
