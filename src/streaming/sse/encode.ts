import type { ErrorBody } from '../../errors';
import { concatBytes, records } from '../../lib/bytes';

/** Headers for every SSE response: no caching, and no proxy buffering (nginx honours X-Accel-Buffering). */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;

const encoder = new TextEncoder();

export const encodeData = (data: unknown): Uint8Array => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);

export const DONE = encoder.encode('data: [DONE]\n\n');

/** An error after the 200 went out: an in-band event the OpenAI SDKs raise as APIError. */
export const encodeError = (body: ErrorBody): Uint8Array => encodeData(body);

export const KEEPALIVE = encoder.encode(': ping\n\n');

/**
 * Numbers the SSE events in `bytes` (whole events, as an encoder writes them) from `first`: each
 * gets an `id:` line, which a browser's EventSource sends back as `Last-Event-ID` when it
 * reconnects. Returns the events apart, each numbered. An encoder's JSON escapes every newline,
 * so a blank line only ever ends an event, and the events are found without decoding them.
 */
export function numberSseEvents(bytes: Uint8Array, first: number): Uint8Array[] {
  let seq = first;
  return records(bytes, true).map((event) => concatBytes([sseId(seq++), event]));
}

/** The line that numbers an SSE event. */
export const sseId = (n: number): Uint8Array => encoder.encode(`id: ${n}\n`);
