/** The operator's model catalog: aliases, their providers, prices and fallbacks. */
import { createRoute } from '@hono/zod-openapi';
import { allModels, createModel, deleteModel, requireEntry, updateModel } from '../../catalog/models';
import type { Model } from '../../db/schema';
import { run } from '../../db/statement';
import { conflict } from '../../errors';
import { adminAuth, adminErrors, errors, json, jsonBody } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { iso } from '../../lib/time';
import {
  CreateModelBody,
  DeletedModelResponse,
  ModelAliasParam,
  ModelCatalog,
  ModelResponse,
  UpdateModelBody,
} from '../../schemas/admin';

export const adminModels = createRouter();

const tags = ['Admin: model catalog'];
const modelErrors = { ...adminErrors, ...errors({ 404: 'Unknown alias' }) };

function modelView(m: Model) {
  return {
    alias: m.alias,
    provider: m.provider,
    upstream_model: m.upstreamModel,
    base_url: m.baseUrl,
    input_price_per_mtok: m.inputPricePerMtok,
    output_price_per_mtok: m.outputPricePerMtok,
    cached_input_price_per_mtok: m.cachedInputPricePerMtok,
    cache_write_price_per_mtok: m.cacheWritePricePerMtok,
    fallbacks: m.fallbacks ?? [],
    enabled: m.enabled,
    created_at: iso(m.createdAt),
    updated_at: iso(m.updatedAt),
  };
}

adminModels.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    tags,
    summary: 'The whole model catalog, by alias (disabled aliases included)',
    security: adminAuth,
    responses: { 200: json(ModelCatalog, 'The catalog'), 401: adminErrors[401] },
  }),
  async (c) => c.json({ data: (await run(c.env.DB, allModels())).map(modelView) }, 200),
);

adminModels.openapi(
  createRoute({
    method: 'get',
    path: '/models/{alias}',
    tags,
    summary: 'One catalog entry',
    security: adminAuth,
    request: { params: ModelAliasParam },
    responses: { 200: json(ModelResponse, 'The model'), ...modelErrors },
  }),
  async (c) => c.json(modelView(await requireEntry(c.env.DB, c.req.valid('param').alias)), 200),
);

adminModels.openapi(
  createRoute({
    method: 'post',
    path: '/models',
    tags,
    summary: 'Add an alias to the catalog: provider, upstream model, optional base URL, prices, fallbacks',
    security: adminAuth,
    request: { body: jsonBody(CreateModelBody) },
    responses: {
      201: json(ModelResponse, 'The new catalog entry'),
      ...modelErrors,
      ...errors({ 409: 'The alias exists' }),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const model = await createModel(
      c.env.DB,
      {
        alias: body.alias,
        provider: body.provider,
        upstreamModel: body.upstream_model,
        baseUrl: body.base_url ?? null,
        inputPricePerMtok: body.input_price_per_mtok,
        outputPricePerMtok: body.output_price_per_mtok,
        cachedInputPricePerMtok: body.cached_input_price_per_mtok,
        cacheWritePricePerMtok: body.cache_write_price_per_mtok,
        fallbacks: body.fallbacks ?? null,
        enabled: body.enabled,
      },
      Date.now(),
    );
    return c.json(modelView(model), 201);
  },
);

adminModels.openapi(
  createRoute({
    method: 'patch',
    path: '/models/{alias}',
    tags,
    summary: 'Change a catalog entry (absent fields keep their value; the alias itself never changes)',
    security: adminAuth,
    request: { params: ModelAliasParam, body: jsonBody(UpdateModelBody) },
    responses: { 200: json(ModelResponse, 'The catalog entry after the change'), ...modelErrors },
  }),
  async (c) => {
    const { alias } = c.req.valid('param');
    const body = c.req.valid('json');
    const model = await updateModel(c.env.DB, alias, {
      provider: body.provider,
      upstreamModel: body.upstream_model,
      baseUrl: body.base_url,
      inputPricePerMtok: body.input_price_per_mtok,
      outputPricePerMtok: body.output_price_per_mtok,
      cachedInputPricePerMtok: body.cached_input_price_per_mtok,
      cacheWritePricePerMtok: body.cache_write_price_per_mtok,
      fallbacks: body.fallbacks,
      enabled: body.enabled,
    });
    return c.json(modelView(model), 200);
  },
);

adminModels.openapi(
  createRoute({
    method: 'delete',
    path: '/models/{alias}',
    tags,
    summary:
      "Remove an alias. 409 while another alias lists it as a fallback, or while it is the gateway's DEFAULT_MODEL",
    security: adminAuth,
    request: { params: ModelAliasParam },
    responses: {
      200: json(DeletedModelResponse, 'Deleted'),
      ...modelErrors,
      ...errors({ 409: 'The alias is still referenced' }),
    },
  }),
  async (c) => {
    const { alias } = c.req.valid('param');
    if (alias === c.var.config.defaultModel)
      throw conflict(`'${alias}' is the DEFAULT_MODEL; change DEFAULT_MODEL first`, 'model_is_default');
    await deleteModel(c.env.DB, alias);
    return c.json({ alias, deleted: true as const }, 200);
  },
);
