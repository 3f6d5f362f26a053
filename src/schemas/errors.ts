import { z } from '@hono/zod-openapi';

/** OpenAI's error shape, which every Sluice error has (src/errors.ts renders it). */
export const ErrorResponse = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.string().nullable(),
      param: z.string().nullable(),
    }),
  })
  .openapi('Error');
