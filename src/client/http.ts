/**
 * One HTTP request with the client's rules: a timeout on the response headers only, the
 * caller's signal honoured throughout, and retries with backoff only while no response byte
 * has arrived (network error, timeout, 429, 5xx). A response that arrived is never replayed.
 */
import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  type SluiceError,
  errorFromResponse,
  parseRetryAfter,
} from './errors.js';

/**
 * A `fetch` the client can use: the platform's, or one that calls a Worker directly.
 *
 * @example
 * const fetchLike: FetchLike = (url, init) => globalThis.fetch(url, init);
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * How the client retries and times out.
 *
 * @example
 * const policy: RequestPolicy = { timeoutMs: 60_000, maxRetries: 2, initialRetryDelayMs: 500, maxRetryDelayMs: 8_000, maxRetryAfterMs: 60_000 };
 */
export interface RequestPolicy {
  /** Milliseconds until the response headers; `0` or `Infinity` for none. */
  timeoutMs: number;
  maxRetries: number;
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** The longest `Retry-After` the client waits for; a longer one is cut to this. */
  maxRetryAfterMs: number;
}

/**
 * A response that arrived, with the means to abort it (which also cancels its body).
 *
 * @example
 * const sent = await send(fetch, policy, url, init);
 * sent.abort(); // closes the connection
 */
export interface Sent {
  response: Response;
  /** Fires when the caller's signal fires or `abort()` is called. */
  signal: AbortSignal;
  abort(reason?: unknown): void;
  /** Stops following the caller's signal (once the body has been read). */
  release(): void;
}

/**
 * The wait before retry number `attempt + 1`: the server's `Retry-After` when given (capped),
 * else exponential backoff with up to 25% jitter taken off.
 *
 * @example
 * retryDelayMs(0, null, policy); // ~375-500 ms
 * retryDelayMs(1, 3, policy); // 3000 ms
 */
export function retryDelayMs(
  attempt: number,
  retryAfterSeconds: number | null,
  policy: Pick<RequestPolicy, 'initialRetryDelayMs' | 'maxRetryDelayMs' | 'maxRetryAfterMs'>,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== null) return Math.min(retryAfterSeconds * 1000, policy.maxRetryAfterMs);
  const base = Math.min(policy.initialRetryDelayMs * 2 ** attempt, policy.maxRetryDelayMs);
  return base * (1 - random() * 0.25);
}

/**
 * Statuses worth another try: the request did nothing the next attempt could repeat.
 *
 * @example
 * isRetryableStatus(503); // true
 * isRetryableStatus(409); // false
 */
export const isRetryableStatus = (status: number) => status === 429 || status >= 500;

/**
 * The error for a request whose signal fired: `APITimeoutError` for a deadline (the client's
 * `timeoutMs`, or the caller's `AbortSignal.timeout`), else `APIUserAbortError`.
 *
 * @example
 * abortError(AbortSignal.abort()); // APIUserAbortError
 */
export function abortError(signal: AbortSignal): APIUserAbortError | APITimeoutError {
  const reason = signal.reason as { name?: string } | undefined;
  if (reason instanceof APITimeoutError) return reason;
  // `AbortSignal.timeout(ms)` as the caller's signal: a deadline, reported as one.
  if (reason?.name === 'TimeoutError') return new APITimeoutError('Request timed out (the caller’s deadline)');
  return new APIUserAbortError();
}

/**
 * Waits `ms`; rejects with the abort's error as soon as `signal` fires.
 *
 * @example
 * await sleep(250, controller.signal);
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends a request, retrying what may be retried; throws the typed error for anything else.
 *
 * @example
 * const { response, release } = await send(fetch, policy, 'http://127.0.0.1:8787/health', { method: 'GET' });
 * console.log(await response.json());
 * release();
 */
export async function send(
  fetchFn: FetchLike,
  policy: RequestPolicy,
  url: string,
  init: RequestInit,
  callerSignal?: AbortSignal,
): Promise<Sent> {
  for (let attempt = 0; ; attempt++) {
    const controller = new AbortController();
    const follow = () => controller.abort(callerSignal?.reason);
    const release = () => callerSignal?.removeEventListener('abort', follow);
    if (callerSignal?.aborted) throw abortError(callerSignal);
    callerSignal?.addEventListener('abort', follow, { once: true });

    // The deadline covers the wait for headers only: a long answer may stream for minutes.
    const deadline =
      policy.timeoutMs > 0 && Number.isFinite(policy.timeoutMs) ? AbortSignal.timeout(policy.timeoutMs) : null;
    const onDeadline = () =>
      controller.abort(new APITimeoutError(`No response within ${policy.timeoutMs} ms`, { cause: deadline?.reason }));
    deadline?.addEventListener('abort', onDeadline, { once: true });

    let response: Response | null = null;
    let failure: SluiceError | null = null;
    try {
      response = await fetchFn(url, { ...init, signal: controller.signal });
    } catch (err) {
      if (callerSignal?.aborted) {
        release();
        throw abortError(callerSignal);
      }
      failure = controller.signal.aborted
        ? abortError(controller.signal)
        : new APIConnectionError(`Connection error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      deadline?.removeEventListener('abort', onDeadline);
    }

    if (response?.ok) {
      return { response, signal: controller.signal, abort: (reason) => controller.abort(reason), release };
    }
    const retryable = response === null || isRetryableStatus(response.status);
    if (!retryable || attempt >= policy.maxRetries) {
      if (response === null) {
        release();
        throw failure ?? new APIConnectionError('Connection error');
      }
      try {
        throw errorFromResponse(response.status, await readBody(response), response.headers);
      } finally {
        release();
      }
    }
    const retryAfter = response ? parseRetryAfter(response.headers.get('retry-after')) : null;
    await response?.body?.cancel().catch(() => {});
    release();
    await sleep(retryDelayMs(attempt, retryAfter, policy), callerSignal ?? new AbortController().signal);
  }
}

/** An error response's body: JSON when it is, else its text. */
async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
