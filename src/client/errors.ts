/**
 * One error class per situation, all extending `SluiceError`, so callers can branch with
 * `instanceof` (the shape follows openai-node's `APIError` family).
 */

/**
 * What every Sluice error carries besides its message.
 *
 * @example
 * const details: ErrorDetails = { status: 404, code: 'job_not_found', type: 'not_found_error', requestId: 'req_1' };
 * throw new NotFoundError("No job 'job_1'", details);
 */
export interface ErrorDetails {
  /** HTTP status; `undefined` when no response arrived (connection errors, timeouts, in-band stream errors). */
  status?: number;
  code?: string | null;
  type?: string | null;
  param?: string | null;
  /** The gateway's `x-request-id`, to quote when reporting a problem. */
  requestId?: string | null;
  cause?: unknown;
}

/**
 * Base class of every error the client throws.
 *
 * @example
 * try {
 *   await client.createJob('chat');
 * } catch (err) {
 *   if (err instanceof SluiceError) console.error(err.status, err.code, err.requestId, err.message);
 * }
 */
export class SluiceError extends Error {
  readonly status: number | undefined;
  readonly code: string | null;
  readonly type: string | null;
  readonly param: string | null;
  readonly requestId: string | null;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status;
    this.code = details.code ?? null;
    this.type = details.type ?? null;
    this.param = details.param ?? null;
    this.requestId = details.requestId ?? null;
  }
}

/**
 * 400: the request body or a parameter is wrong; `param` names the field.
 *
 * @example
 * catch (err) { if (err instanceof BadRequestError) console.error(`fix ${err.param}: ${err.message}`); }
 */
export class BadRequestError extends SluiceError {}

/**
 * 401: the key is missing, unknown, revoked or expired.
 *
 * @example
 * catch (err) { if (err instanceof AuthenticationError) console.error('check SLUICE_KEY'); }
 */
export class AuthenticationError extends SluiceError {}

/**
 * 402: the team has not enough available credits for this job or call.
 *
 * @example
 * catch (err) { if (err instanceof InsufficientCreditsError) console.error('top up the team'); }
 */
export class InsufficientCreditsError extends SluiceError {}

/**
 * 403: the key belongs to another team, or the team is suspended, or the model is not allowed.
 *
 * @example
 * catch (err) { if (err instanceof PermissionDeniedError && err.code === 'team_mismatch') console.error('wrong team id'); }
 */
export class PermissionDeniedError extends SluiceError {}

/**
 * 404: no such job or model.
 *
 * @example
 * catch (err) { if (err instanceof NotFoundError) console.error(err.message); }
 */
export class NotFoundError extends SluiceError {}

/**
 * 409: the job is already finished (or was completed with the other status).
 *
 * @example
 * catch (err) { if (err instanceof ConflictError) console.error('job already settled'); }
 */
export class ConflictError extends SluiceError {}

/**
 * 429: a rate limit or the concurrency cap; `retryAfter` is the server's hint in seconds.
 *
 * @example
 * catch (err) {
 *   if (err instanceof RateLimitError) await new Promise((r) => setTimeout(r, (err.retryAfter ?? 1) * 1000));
 * }
 */
export class RateLimitError extends SluiceError {
  /** Seconds from `Retry-After`, or `null` when the response had none. */
  readonly retryAfter: number | null;

  constructor(message: string, details: ErrorDetails & { retryAfter?: number | null } = {}) {
    super(message, details);
    this.retryAfter = details.retryAfter ?? null;
  }
}

/**
 * 502 or 504: the model provider failed or timed out (after the gateway's own retries and fallbacks).
 *
 * @example
 * catch (err) { if (err instanceof UpstreamError) console.error(`provider trouble (${err.status})`); }
 */
export class UpstreamError extends SluiceError {}

/**
 * Any other 5xx from the gateway itself.
 *
 * @example
 * catch (err) { if (err instanceof InternalServerError) console.error(`quote request ${err.requestId}`); }
 */
export class InternalServerError extends SluiceError {}

/**
 * A failure reported inside a stream that had already started: a `data: {"error":{...}}` event,
 * an event that is not JSON, or a stream that ended without `[DONE]`.
 *
 * @example
 * try {
 *   for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 * } catch (err) {
 *   if (err instanceof StreamError) console.error(`\nstream failed: ${err.code} ${err.message}`);
 * }
 */
export class StreamError extends SluiceError {}

/**
 * No response: DNS, refused connection, reset, or a body that broke off mid-stream.
 *
 * @example
 * catch (err) { if (err instanceof APIConnectionError) console.error('gateway unreachable'); }
 */
export class APIConnectionError extends SluiceError {}

/**
 * No response headers within `timeoutMs` (after the retries).
 *
 * @example
 * const client = new SluiceClient({ baseUrl, apiKey, teamId, timeoutMs: 5_000 });
 * catch (err) { if (err instanceof APITimeoutError) console.error('no answer within 5 s'); }
 */
export class APITimeoutError extends APIConnectionError {}

/**
 * The caller's `AbortSignal` fired (a Stop button, `AbortSignal.timeout(...)`).
 *
 * @example
 * const controller = new AbortController();
 * stopButton.onclick = () => controller.abort();
 * try { for await (const c of await client.chatStream(jobId, { messages, signal: controller.signal })) render(c); }
 * catch (err) { if (err instanceof APIUserAbortError) showStopped(); }
 */
export class APIUserAbortError extends SluiceError {
  constructor(message = 'Request was aborted', details: ErrorDetails = {}) {
    super(message, details);
  }
}

const statusClasses: Record<number, typeof SluiceError> = {
  400: BadRequestError,
  401: AuthenticationError,
  402: InsufficientCreditsError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  413: BadRequestError,
  502: UpstreamError,
  504: UpstreamError,
};

/**
 * `Retry-After` in seconds: delta-seconds or an HTTP date; `null` when absent or unreadable.
 *
 * @example
 * parseRetryAfter('3'); // 3
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
}

/**
 * The typed error for an error response (status, OpenAI-shaped body, headers), like openai-node's `APIError.generate`.
 *
 * @example
 * const err = errorFromResponse(402, { error: { message: 'Not enough credits', type: 'insufficient_credits', code: 'insufficient_credits', param: null } }, new Headers());
 * err instanceof InsufficientCreditsError; // true
 */
export function errorFromResponse(status: number, body: unknown, headers: Headers): SluiceError {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const message = str(e?.message) ?? (typeof body === 'string' && body ? body.slice(0, 500) : `HTTP ${status}`);
  const details = {
    status,
    code: str(e?.code),
    type: str(e?.type),
    param: str(e?.param),
    requestId: headers.get('x-request-id'),
  };
  if (status === 429)
    return new RateLimitError(message, { ...details, retryAfter: parseRetryAfter(headers.get('retry-after')) });
  const Class = statusClasses[status] ?? (status >= 500 ? InternalServerError : SluiceError);
  return new Class(message, details);
}
