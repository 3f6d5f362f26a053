import { createRoute } from '@hono/zod-openapi';
import { asc, eq, sql } from 'drizzle-orm';
import { stmt } from '../db/raw';
import { type Model, models } from '../db/schema';
import type { Db } from '../db/client';
import { badRequest, conflict, notFound } from '../errors';
import { adminAuth, json, jsonBody } from '../http/openapi';
import { createRouter } from '../http/router';
import {
  CreateModelBody,
  DeletedModelResponse,
  ModelAliasParam,
  ModelList,
  ModelResponse,
  UpdateModelBody,
} from '../schemas/admin';
import { ErrorResponse } from '../schemas/jobs';
import { selectModel } from '../services/models';

export const adminModels = createRouter();

const tags = ['Admin: model catalog'];
const errors = {
  400: json(ErrorResponse, 'Invalid request'),
  401: json(ErrorResponse, 'Missing or invalid X-Admin-Key'),
  404: json(ErrorResponse, 'Unknown alias'),
};
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function modelView(m: Model) {
  return {
    alias: m.alias,
    provider: m.provider,
    upstream_model: m.upstreamModel,
    base_url: m.baseUrl,
    input_price_per_mtok: m.inputPricePerMtok,
    output_price_per_mtok: m.outputPricePerMtok,
    fallbacks: m.fallbacks ?? [],
    enabled: m.enabled,
    created_at: iso(m.createdAt)!,
    updated_at: iso(m.updatedAt),
  };
}

/** SQL that is true when every alias of `list` is in the catalog (one bound parameter, whatever the length). */
const allExist = (list: string[]) =>
  sql`(SELECT count(*) FROM models WHERE alias IN (SELECT value FROM json_each(${JSON.stringify(list)}))) = ${list.length}`;

function noSelfReference(alias: string, fallbacks: string[] | null | undefined) {
  const i = fallbacks?.indexOf(alias) ?? -1;
  if (i >= 0) throw badRequest(`A model cannot fall back to itself ('${alias}')`, `fallbacks.${i}`, 'fallback_self');
}

/** After a guarded write did nothing: which fallback alias is not in the catalog (400 naming it). */
async function missingFallback(db: Db, fallbacks: string[]): Promise<never> {
  const rows = await db
    .select({ alias: models.alias })
    .from(models)
    .where(sql`${models.alias} IN (SELECT value FROM json_each(${JSON.stringify(fallbacks)}))`);
  const have = new Set(rows.map((r) => r.alias));
  const i = Math.max(
    0,
    fallbacks.findIndex((a) => !have.has(a)),
  );
  throw badRequest(`No model '${fallbacks[i]}' in the catalog to fall back to`, `fallbacks.${i}`, 'model_not_found');
}

adminModels.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    tags,
    summary: 'The whole model catalog, by alias (disabled aliases included)',
    security: adminAuth,
    responses: { 200: json(ModelList, 'The catalog'), 401: errors[401] },
  }),
  async (c) => {
    const rows = await c.var.db.select().from(models).orderBy(asc(models.alias));
    return c.json({ data: rows.map(modelView) }, 200);
  },
);

adminModels.openapi(
  createRoute({
    method: 'get',
    path: '/models/{alias}',
    tags,
    summary: 'One catalog entry',
    security: adminAuth,
    request: { params: ModelAliasParam },
    responses: { 200: json(ModelResponse, 'The model'), ...errors },
  }),
  async (c) => {
    const { alias } = c.req.valid('param');
    const [row] = await selectModel(c.var.db, alias);
    if (!row) throw notFound('model', alias, 'model_not_found');
    return c.json(modelView(row), 200);
  },
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
      ...errors,
      409: json(ErrorResponse, 'The alias exists'),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const db = c.var.db;
    noSelfReference(body.alias, body.fallbacks);
    const fallbacks = body.fallbacks ?? [];
    const now = Date.now();
    const [inserted, rows] = await db.batch([
      stmt(
        db,
        sql`INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok,
          fallbacks, enabled, created_at)
        SELECT ${body.alias}, ${body.provider}, ${body.upstream_model}, ${body.base_url ?? null},
          ${body.input_price_per_mtok}, ${body.output_price_per_mtok},
          ${body.fallbacks ? JSON.stringify(body.fallbacks) : null}, ${body.enabled ? 1 : 0}, ${now}
        WHERE ${allExist(fallbacks)}
        ON CONFLICT (alias) DO NOTHING`,
      ),
      selectModel(db, body.alias),
    ]);
    if (inserted.meta.changes !== 1) {
      if (rows[0]) throw conflict(`Model '${body.alias}' already exists`, 'model_exists');
      return missingFallback(db, fallbacks);
    }
    return c.json(modelView(rows[0]!), 201);
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
    responses: { 200: json(ModelResponse, 'The catalog entry after the change'), ...errors },
  }),
  async (c) => {
    const { alias } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    noSelfReference(alias, body.fallbacks);
    const set: Partial<typeof models.$inferInsert> = {
      provider: body.provider,
      upstreamModel: body.upstream_model,
      baseUrl: body.base_url,
      inputPricePerMtok: body.input_price_per_mtok,
      outputPricePerMtok: body.output_price_per_mtok,
      fallbacks: body.fallbacks,
      enabled: body.enabled,
    };
    for (const k of Object.keys(set) as (keyof typeof set)[]) if (set[k] === undefined) delete set[k];
    if (!Object.keys(set).length) {
      const [row] = await selectModel(db, alias);
      if (!row) throw notFound('model', alias, 'model_not_found');
      return c.json(modelView(row), 200);
    }
    const fallbacks = body.fallbacks ?? [];
    const [updated, rows] = await db.batch([
      db
        .update(models)
        .set({ ...set, updatedAt: Date.now() })
        .where(sql`${models.alias} = ${alias} AND ${allExist(fallbacks)}`),
      selectModel(db, alias),
    ]);
    if (!rows[0]) throw notFound('model', alias, 'model_not_found');
    if (updated.meta.changes !== 1) return missingFallback(db, fallbacks);
    return c.json(modelView(rows[0]), 200);
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
      ...errors,
      409: json(ErrorResponse, 'The alias is still referenced'),
    },
  }),
  async (c) => {
    const { alias } = c.req.valid('param');
    const db = c.var.db;
    if (alias === c.var.config.defaultModel)
      throw conflict(`'${alias}' is the DEFAULT_MODEL; change DEFAULT_MODEL first`, 'model_is_default');
    const referencedBy = sql`SELECT m.alias FROM models m, json_each(m.fallbacks) f
      WHERE f.value = ${alias} AND m.alias != ${alias}`;
    const [found, referrers, deleted] = await db.batch([
      selectModel(db, alias),
      stmt(db, sql`${referencedBy} ORDER BY m.alias`),
      stmt(db, sql`DELETE FROM models WHERE alias = ${alias} AND NOT EXISTS (${referencedBy})`),
    ]);
    if (!found[0]) throw notFound('model', alias, 'model_not_found');
    if (deleted.meta.changes !== 1) {
      const names = (referrers.results as { alias: string }[]).map((r) => r.alias);
      throw conflict(`'${alias}' is a fallback of ${names.join(', ')}; remove it there first`, 'model_in_use');
    }
    return c.json({ alias, deleted: true as const }, 200);
  },
);
