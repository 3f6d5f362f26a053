import { SSE_HEADERS, numberSseEvents } from '../../streaming/sse/encode';
import { transcoder } from '../../streaming/transcode';
import type { ClientFraming } from '../../streaming/pump/types';
import { sseRelay } from '../../streaming/sse/relay';
import type { ClientDialect } from '../types';
import { type AnthropicEncoderOptions, PING, anthropicEncoder, errorEvent } from './encode';

const PING_NAME = new TextEncoder().encode('event: ping');

const startsWith = (bytes: Uint8Array, prefix: Uint8Array) =>
  bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);

const FRAMING: ClientFraming = { keepalive: PING, error: (error) => errorEvent(error) };

/**
 * Anthropic's Messages API as a client dialect: an Anthropic upstream's events are relayed as
 * they are; any other upstream's are written as Messages events. Keep-alives are `ping` events.
 */
export const anthropicMessages: ClientDialect<AnthropicEncoderOptions> = {
  headers: SSE_HEADERS,
  open(upstream, opts) {
    const mode =
      upstream.format === 'anthropic'
        ? { relay: upstream.decoder() }
        : { transform: transcoder(upstream.decoder(), anthropicEncoder(opts)) };
    return { mode, client: FRAMING };
  },
  encoding(_upstream, opts) {
    return { encoder: anthropicEncoder(opts), client: FRAMING };
  },
  number: numberSseEvents,
  // An upstream's pings carry nothing: a resumable stream sends its own when it is quiet, unnumbered.
  relay: (upstream) => (upstream.format === 'anthropic' ? sseRelay((event) => !startsWith(event, PING_NAME)) : null),
};
