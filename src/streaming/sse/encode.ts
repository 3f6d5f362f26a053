import type { ErrorBody } from '../../errors';

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
