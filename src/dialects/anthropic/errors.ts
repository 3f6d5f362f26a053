import type { ApiError } from '../../errors';
import { anthropicErrorType } from './encode';

/**
 * An error before the stream, as Anthropic's API answers one: `{type:"error", error:{type,
 * message}}` with the error type its SDK maps the status to, so the SDK raises its own class.
 */
export const anthropicErrorBody = (err: ApiError, requestId: string | undefined) => ({
  type: 'error' as const,
  error: {
    type: anthropicErrorType(err.status),
    // Anthropic's shape has no `param`: the field an error names leads its message.
    message: err.param && !err.message.startsWith(err.param) ? `${err.param}: ${err.message}` : err.message,
  },
  ...(requestId ? { request_id: requestId } : {}),
});
