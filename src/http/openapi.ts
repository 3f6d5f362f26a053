import { z } from '@hono/zod-openapi';
import { ErrorResponse } from '../schemas/jobs';

/** A required JSON request body for `createRoute`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const error = (description: string) => json(ErrorResponse, description);

/** The error responses most routes share, documented once. */
export const errorResponses = {
  400: error('Invalid request body or parameters'),
  401: error('Missing, unknown or revoked API key'),
  403: error('The key may not act on this team or job'),
  404: error('Unknown job, team or model'),
} as const;

export const sseResponse = (description: string) => ({
  content: {
    'text/event-stream': {
      schema: z.string().openapi({ description: 'OpenAI chat.completion.chunk events, then [DONE]' }),
    },
  },
  description,
});

export const bearerAuth = [{ bearerAuth: [] }];
export const adminAuth = [{ adminKey: [] }];
