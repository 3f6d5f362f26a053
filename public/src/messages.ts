/** Error messages a person can act on, for each error class the client raises. Pure; tested. */
import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InsufficientCreditsError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SluiceError,
  StreamError,
  UpstreamError,
} from '../../src/client';

export function describeError(err: unknown): string {
  if (!(err instanceof SluiceError)) return `Something went wrong: ${String((err as Error)?.message ?? err)}`;
  const ref = err.requestId ? ` (request ${err.requestId})` : '';
  if (err instanceof AuthenticationError)
    return `The API key was not accepted: ${err.message}. Paste a valid key (npm start prints one).`;
  if (err instanceof InsufficientCreditsError) return 'This team has no credits left. Ask an operator to add some.';
  if (err instanceof PermissionDeniedError) {
    if (err.code === 'team_mismatch') return `This key belongs to another team: check the team id. ${err.message}`;
    return `Not allowed: ${err.message}`;
  }
  if (err instanceof NotFoundError) return `Not found: ${err.message}`;
  if (err instanceof BadRequestError)
    return `The request was refused${err.param ? ` (${err.param})` : ''}: ${err.message}`;
  if (err instanceof ConflictError) return `Conflict: ${err.message}`;
  if (err instanceof RateLimitError)
    return `Too many requests: try again${err.retryAfter !== null ? ` in ${Math.ceil(err.retryAfter)} s` : ' shortly'}.`;
  if (err instanceof UpstreamError) return `The model provider failed: ${err.message}${ref}`;
  if (err instanceof StreamError) return `The answer broke off: ${err.message}${ref}`;
  if (err instanceof APITimeoutError) return 'The gateway did not answer in time. Try again.';
  if (err instanceof APIConnectionError) return 'Cannot reach the gateway. Is it running?';
  if (err instanceof APIUserAbortError) return 'Stopped.';
  return `${err.message}${ref}`;
}
