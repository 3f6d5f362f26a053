import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'insufficient_credits'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'api_error';

/** The OpenAI error body every Sluice error is rendered as. */
export interface ErrorBody {
  error: { message: string; type: ErrorType; code: string | null; param: string | null };
}

/**
 * Base class for every error Sluice returns on purpose. `app.onError` renders it as
 * `{ error: { message, type, code, param } }` so OpenAI SDKs raise the matching class.
 */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }

  toJSON(): ErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

export const badRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new ApiError(400, 'invalid_request_error', code, message, param);

export const unauthorized = (message = 'Missing or invalid API key', code = 'invalid_api_key') =>
  new ApiError(401, 'authentication_error', code, message);

export const forbidden = (message: string, code = 'forbidden') => new ApiError(403, 'permission_error', code, message);

export const notFound = (what: string, id: string, code = `${what}_not_found`) =>
  new ApiError(404, 'not_found_error', code, `No ${what} '${id}'`);

export const conflict = (message: string, code = 'conflict') => new ApiError(409, 'conflict_error', code, message);

export const insufficientCredits = (message = 'Not enough credits available for this team') =>
  new ApiError(402, 'insufficient_credits', 'insufficient_credits', message);

/**
 * 503: a team's account could not be reached, or was flooded, after the runtime's own retries;
 * the caller may send the request again.
 */
export const accountUnavailable = () =>
  new ApiError(
    503,
    'api_error',
    'account_unavailable',
    "The team's account is busy or restarting; retry shortly",
    null,
    { 'retry-after': '1' },
  );

export const payloadTooLarge = (limit: number) =>
  new ApiError(413, 'invalid_request_error', 'payload_too_large', `Request body exceeds ${limit} bytes`);

/**
 * Maps a failed upstream HTTP response to the error our client sees: rate limits stay 429
 * (with `Retry-After` passed on), timeouts become 504, a request the upstream refused as
 * invalid (400/422, e.g. context too long) is the client's 400, and everything else -
 * including the upstream refusing our own provider key - is a 502.
 */
export function upstreamError(status: number, detail: string, retryAfter?: string | null): ApiError {
  const headers: Record<string, string> = retryAfter ? { 'retry-after': retryAfter } : {};
  if (status === 429)
    return new ApiError(
      429,
      'rate_limit_error',
      'upstream_rate_limited',
      `Upstream rate limited: ${detail}`,
      null,
      headers,
    );
  if (status === 408 || status === 504)
    return new ApiError(504, 'upstream_error', 'upstream_timeout', `Upstream timed out: ${detail}`, null, headers);
  if (status === 400 || status === 422)
    return new ApiError(
      400,
      'invalid_request_error',
      'upstream_invalid_request',
      `Upstream rejected the request: ${detail}`,
    );
  return new ApiError(502, 'upstream_error', 'upstream_error', `Upstream error (${status}): ${detail}`, null, headers);
}

export const upstreamUnreachable = (detail: string) =>
  new ApiError(502, 'upstream_error', 'upstream_unreachable', `Upstream unreachable: ${detail}`);

export const upstreamTimeout = (detail: string) =>
  new ApiError(504, 'upstream_error', 'upstream_timeout', `Upstream timed out: ${detail}`);
