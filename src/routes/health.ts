import { createRoute, z } from '@hono/zod-openapi';
import { json } from '../http/openapi';
import { createRouter } from '../http/router';

export const health = createRouter();

health.openapi(
  createRoute({
    method: 'get',
    path: '/health',
    tags: ['Meta'],
    summary: 'Liveness',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Sluice is up') },
  }),
  (c) => c.json({ status: 'ok' as const }, 200),
);
