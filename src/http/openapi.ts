/** Building blocks for the routes' OpenAPI declarations (`createRoute`). */
import { z } from '@hono/zod-openapi';
import { NDJSON_FORMAT } from '../dialects/ndjson/events';
import { ErrorResponse } from '../schemas/errors';

/** A required JSON request body. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** Error responses, each in the OpenAI error shape, by status: `{ 404: 'Unknown team' }`. */
export function errors<S extends number>(descriptions: Record<S, string>) {
  const out = {} as Record<S, ReturnType<typeof json<typeof ErrorResponse>>>;
  for (const [status, description] of Object.entries(descriptions) as [`${S}`, string][])
    out[Number(status) as S] = json(ErrorResponse, description);
  return out;
}

/** What every team route may answer besides its own. */
export const teamErrors = errors({
  400: 'Invalid request body or parameters',
  401: 'Missing, unknown, revoked or expired API key',
  403: 'The key may not act on this team or job, or its team is suspended',
  404: 'Unknown job, team or model',
});

/** What a route that makes an LLM call may answer besides. */
export const callErrors = {
  ...teamErrors,
  ...errors({
    402: 'Not enough credits',
    409: 'The job is already finished',
    429: 'Rate limited (Retry-After says when to try again)',
    502: 'Upstream failed',
    504: 'Upstream timed out',
  }),
};

/** What every operator route may answer besides its own. */
export const adminErrors = errors({ 400: 'Invalid request', 401: 'Missing or invalid X-Admin-Key' });

export const sseResponse = (description: string) => ({
  content: {
    'text/event-stream': {
      schema: z.string().openapi({ description: 'OpenAI chat.completion.chunk events, then [DONE]' }),
    },
  },
  description,
});

/**
 * A job call's stream: OpenAI chunks as SSE by default, Sluice's own NDJSON events when the
 * request's Accept names `application/x-ndjson`.
 */
export const jobStreamResponse = (description: string) => ({
  content: {
    ...sseResponse(description).content,
    'application/x-ndjson': {
      schema: z.string().openapi({ description: NDJSON_FORMAT }),
    },
  },
  description,
});

export const bearerAuth = [{ bearerAuth: [] }];
export const adminAuth = [{ adminKey: [] }];
