/**
 * Sluice's typed client: `import { SluiceClient } from 'sluice/client'`.
 *
 * @example
 * import { SluiceClient, InsufficientCreditsError } from 'sluice/client';
 * const client = new SluiceClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'sk-sluice-...', teamId: 'acme-corp' });
 * const stream = await client.createAndCallStream({ jobType: 'chat', messages: [{ role: 'user', content: 'Hello' }] });
 * console.log(await stream.text());
 */
export { SluiceClient } from './client.js';
export type {
  CallOptions,
  CreateAndCallOptions,
  ReconnectOptions,
  RequestOptions,
  ResumeOptions,
  SluiceClientOptions,
  StreamFormat,
  StreamOptions,
} from './client.js';
export { ChatStream, addToolCallDeltas, chunkFromEvent } from './chat-stream.js';
export { NdjsonStream, addToolCallChunk, eventFromLine } from './ndjson-stream.js';
export { createNDJSONDecoder } from './ndjson.js';
export {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InsufficientCreditsError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SluiceError,
  StreamError,
  UpstreamError,
  errorFromResponse,
  parseRetryAfter,
} from './errors.js';
export type { ErrorDetails } from './errors.js';
export { isRetryableStatus, retryDelayMs } from './http.js';
export type { FetchLike, RequestPolicy } from './http.js';
export { EventAssembler, LineSplitter, createSSEDecoder } from './sse.js';
export type { ServerSentEvent } from './sse.js';
export type * from './types.js';
