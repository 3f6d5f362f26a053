import { SSE_HEADERS } from '../../streaming/sse/encode';
import { transcoder } from '../../streaming/transcode';
import type { ClientDialect } from '../types';
import { KEEPALIVE, type NdjsonEncoderOptions, ndjsonEncoder, numberLines } from './encode';

export const NDJSON = 'application/x-ndjson';
const SSE = 'text/event-stream';

/** SSE's no-cache and no-buffering headers: a proxy that buffered lines would hold the answer back just the same. */
export const NDJSON_HEADERS = { ...SSE_HEADERS, 'content-type': NDJSON } as const;

/** What the route knows of the stream; the upstream model comes with the upstream. */
export type NdjsonStreamOptions = Omit<NdjsonEncoderOptions, 'upstreamModel'>;

/**
 * Sluice's own NDJSON events as a client dialect (events.ts). No upstream speaks it, so every
 * stream is decoded and re-encoded, never relayed. The pump's own error line goes through the
 * stream's encoder, so even a failure before the upstream's first event follows the metadata line.
 */
export const ndjsonEvents: ClientDialect<NdjsonStreamOptions> = {
  headers: NDJSON_HEADERS,
  open(upstream, opts) {
    const { encoder, client } = this.encoding(upstream, opts);
    return { mode: { transform: transcoder(upstream.decoder(), encoder) }, client };
  },
  encoding(upstream, opts) {
    const encoder = ndjsonEncoder({ ...opts, upstreamModel: upstream.model });
    return { encoder, client: { keepalive: KEEPALIVE, error: (error) => encoder.failure(error) } };
  },
  number: numberLines,
  // No upstream speaks it: every event is Sluice's own.
  relay: () => null,
};

/**
 * Whether a request's Accept asks for NDJSON: it names `application/x-ndjson` with a greater
 * weight than `text/event-stream` (unnamed: 0). Wildcards and ties keep the SSE these routes
 * have always answered, so no existing client sees a change.
 */
export function prefersNdjson(accept: string | undefined): boolean {
  let ndjson = 0;
  let sse = 0;
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.replace(/\s+/g, '').toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2)) || 0;
    if (type === NDJSON) ndjson = weight;
    else if (type === SSE) sse = weight;
  }
  return ndjson > sse;
}
