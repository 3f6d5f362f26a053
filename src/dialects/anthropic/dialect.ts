import { SSE_HEADERS } from '../../streaming/sse/encode';
import { transcoder } from '../../streaming/transcode';
import type { ClientFraming } from '../../streaming/pump/types';
import type { ClientDialect } from '../types';
import { PING, anthropicEncoder, errorEvent } from './encode';

export interface AnthropicStreamOptions {
  /** The model the client asked for. */
  model: string;
  /** The message id when the upstream's is not one of Anthropic's (`msg_…`). */
  fallbackId: string;
  /** The prompt's estimated size, for `message_start`. */
  inputTokens: number;
}

const FRAMING: ClientFraming = { keepalive: PING, error: (error) => errorEvent(error) };

/**
 * Anthropic's Messages API as a client dialect: an Anthropic upstream's events are relayed as
 * they are; any other upstream's are written as Messages events. Keep-alives are `ping` events.
 */
export const anthropicMessages: ClientDialect<AnthropicStreamOptions> = {
  headers: SSE_HEADERS,
  open(upstream, opts) {
    const mode =
      upstream.format === 'anthropic'
        ? { relay: upstream.decoder() }
        : { transform: transcoder(upstream.decoder(), anthropicEncoder(opts)) };
    return { mode, client: FRAMING };
  },
};
