import { KEEPALIVE, SSE_HEADERS, numberSseEvents } from '../../streaming/sse/encode';
import { transcoder } from '../../streaming/transcode';
import type { ClientDialect } from '../types';
import { type ResponseIdentity, responsesEncoder } from './encode';

/**
 * OpenAI's Responses API as a client dialect. No upstream speaks it, so every stream is decoded
 * and re-encoded. Its events are numbered, so a failure the pump reports after the 200 is
 * written by the same encoder, in sequence, as `response.failed`.
 */
export const openAIResponses: ClientDialect<ResponseIdentity> = {
  headers: SSE_HEADERS,
  open(upstream, identity) {
    const { encoder, client } = this.encoding(upstream, identity);
    return { mode: { transform: transcoder(upstream.decoder(), encoder) }, client };
  },
  encoding(_upstream, identity) {
    const encoder = responsesEncoder(identity);
    return { encoder, client: { keepalive: KEEPALIVE, error: (error) => encoder.error(error) } };
  },
  // Each event's `id:` is its `sequence_number`: both count the stream's events from 0.
  number: numberSseEvents,
  // No upstream speaks it, and its numbers ride inside the events.
  relay: () => null,
};
