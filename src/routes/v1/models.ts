import { createRoute } from '@hono/zod-openapi';
import { modelsForKey } from '../../catalog/models';
import { bearerAuth, json, teamErrors } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { ModelList } from '../../schemas/openai';

export const modelsApi = createRouter();

modelsApi.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    tags: ['OpenAI-compatible'],
    summary: 'The model aliases this key may call',
    security: bearerAuth,
    responses: { 200: json(ModelList, 'Models'), ...teamErrors },
  }),
  async (c) => {
    const [, rows] = await c.var.caller.batch(c.env.DB, [modelsForKey(c.var.caller.keyHash)]);
    return c.json(
      {
        object: 'list' as const,
        data: rows.map((m) => ({
          id: m.alias,
          object: 'model' as const,
          created: Math.floor(m.createdAt / 1000),
          owned_by: m.provider,
        })),
      },
      200,
    );
  },
);
