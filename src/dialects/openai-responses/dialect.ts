import { KEEPALIVE, SSE_HEADERS } from '../../streaming/sse/encode';
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
    const encoder = responsesEncoder(identity);
    return {
      mode: { transform: transcoder(upstream.decoder(), encoder) },
      client: { keepalive: KEEPALIVE, error: (error) => encoder.error(error) },
    };
  },
};
