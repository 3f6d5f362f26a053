/**
 * The model catalog: an alias maps to a provider, an upstream model, an optional base URL,
 * list prices and fallbacks. Calls read it inside admission's batch; operators edit it.
 */
import { modelAllowed } from '../auth/rule';
import { type Model, models } from '../db/schema';
import { fromRow, tableRows, updateRow, upsertRow } from '../db/rows';
import { type Statement, batch, first, namedSql, rows, run, write } from '../db/statement';
import { badRequest, conflict, forbidden, notFound } from '../errors';

const byAlias = namedSql('SELECT * FROM models WHERE alias = :alias');
const all = namedSql('SELECT * FROM models ORDER BY alias');
const forKey = namedSql(`SELECT m.* FROM models m, api_keys k JOIN teams t ON t.id = k.team_id
  WHERE k.key_hash = :keyHash AND m.enabled = 1 AND ${modelAllowed('k', 't', 'm.alias')} ORDER BY m.alias`);
const forKeyAlias = namedSql(`SELECT m.*, ${modelAllowed('k', 't', 'm.alias')} AS allowed
  FROM models m, api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = :keyHash AND m.alias = :alias`);
const inList = namedSql('SELECT * FROM models WHERE alias IN (SELECT value FROM json_each(:aliases))');

export const modelByAlias = (alias: string) => first(tableRows(models, byAlias, { alias }));
export const allModels = () => tableRows(models, all);
/** The enabled aliases the key with this hash may call (its team's and its own model lists). */
export const modelsForKey = (keyHash: string) => tableRows(models, forKey, { keyHash });
/** The alias's catalog row, and whether the key with this hash may call it (null: no such alias). */
export const modelForKey = (keyHash: string, alias: string): Statement<{ model: Model; allowed: boolean } | null> => {
  const s = rows<Record<string, unknown>>(forKeyAlias, { keyHash, alias });
  return {
    ...s,
    read: (result) => {
      const raw = s.read(result)[0];
      return raw ? { model: fromRow(models, raw), allowed: raw.allowed === 1 } : null;
    },
  };
};
/** The catalog rows of these aliases (in no particular order). */
export const modelsIn = (aliases: string[]) => tableRows(models, inList, { aliases: JSON.stringify(aliases) });

/** Unknown or disabled aliases are 404 `model_not_found`; the message names only the alias asked for. */
export function requireModel(model: Model | null | undefined, alias: string): Model {
  if (!model || !model.enabled) throw notFound('model', alias, 'model_not_found');
  return model;
}

/** 403 for an alias the key or its team may not call (auth/rule.ts `modelAllowed`). */
export const modelNotAllowed = (alias: string) =>
  forbidden(`This key may not use model '${alias}'`, 'model_not_allowed');

/** The catalog entry, enabled or not; 404 for an unknown alias. */
export async function requireEntry(d1: D1Database, alias: string): Promise<Model> {
  const model = await run(d1, modelByAlias(alias));
  if (!model) throw notFound('model', alias, 'model_not_found');
  return model;
}

function noSelfReference(alias: string, fallbacks: string[] | null | undefined) {
  const i = fallbacks?.indexOf(alias) ?? -1;
  if (i >= 0) throw badRequest(`A model cannot fall back to itself ('${alias}')`, `fallbacks.${i}`, 'fallback_self');
}

/** True when every alias of `:fallbacks` is in the catalog (one bound parameter, whatever the length). */
const FALLBACKS_EXIST = `(SELECT count(*) FROM models WHERE alias IN (SELECT value FROM json_each(:fallbacks)))
  = json_array_length(:fallbacks)`;

const insert = namedSql(`INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok,
    output_price_per_mtok, cached_input_price_per_mtok, cache_write_price_per_mtok, fallbacks, enabled, created_at)
  SELECT :alias, :provider, :upstreamModel, :baseUrl, :inputPrice, :outputPrice, :cachedInputPrice, :cacheWritePrice,
    :fallbacksOrNull, :enabled, :now
  WHERE ${FALLBACKS_EXIST}
  ON CONFLICT (alias) DO NOTHING`);

export interface NewModel {
  alias: string;
  provider: string;
  upstreamModel: string;
  baseUrl: string | null;
  inputPricePerMtok: number;
  outputPricePerMtok: number;
  /** Null: cache reads cost the input price. */
  cachedInputPricePerMtok: number | null;
  /** Null: cache writes cost the input price. */
  cacheWritePricePerMtok: number | null;
  fallbacks: string[] | null;
  enabled: boolean;
}

/**
 * A new catalog entry; 409 if the alias exists, 400 naming a fallback not in the catalog. The
 * fallbacks are checked inside the insert, so one deleted meanwhile cannot slip in.
 */
export async function createModel(d1: D1Database, m: NewModel, now: number): Promise<Model> {
  noSelfReference(m.alias, m.fallbacks);
  const fallbacks = JSON.stringify(m.fallbacks ?? []);
  forgetCatalogEntries(m.alias);
  const [inserted, row] = await batch(d1, [
    write(insert, {
      alias: m.alias,
      provider: m.provider,
      upstreamModel: m.upstreamModel,
      baseUrl: m.baseUrl,
      inputPrice: m.inputPricePerMtok,
      outputPrice: m.outputPricePerMtok,
      cachedInputPrice: m.cachedInputPricePerMtok,
      cacheWritePrice: m.cacheWritePricePerMtok,
      fallbacks,
      fallbacksOrNull: m.fallbacks ? fallbacks : null,
      enabled: m.enabled ? 1 : 0,
      now,
    }),
    modelByAlias(m.alias),
  ]);
  if (inserted === 1) return row!;
  if (row) throw conflict(`Model '${m.alias}' already exists`, 'model_exists');
  return missingFallback(d1, m.fallbacks ?? []);
}

export type ModelChanges = Omit<Partial<typeof models.$inferInsert>, 'alias' | 'createdAt'>;

/** Changes a catalog entry (absent fields keep their value); 404, or 400 naming a missing fallback. */
export async function updateModel(d1: D1Database, alias: string, changes: ModelChanges): Promise<Model> {
  noSelfReference(alias, changes.fallbacks);
  if (!Object.values(changes).some((v) => v !== undefined)) return requireEntry(d1, alias);
  const fallbacks = changes.fallbacks ?? [];
  forgetCatalogEntries(alias);
  const [[updated], row] = await batch(d1, [
    updateRow(
      models,
      'alias',
      alias,
      { ...changes, updatedAt: Date.now() },
      {
        sql: FALLBACKS_EXIST,
        values: { fallbacks: JSON.stringify(fallbacks) },
      },
    ),
    modelByAlias(alias),
  ]);
  if (!row) throw notFound('model', alias, 'model_not_found');
  return updated ?? missingFallback(d1, fallbacks);
}

/** After a guarded write did nothing: 400 naming the first fallback alias not in the catalog. */
async function missingFallback(d1: D1Database, fallbacks: string[]): Promise<never> {
  const have = new Set((await run(d1, modelsIn(fallbacks))).map((m) => m.alias));
  const i = Math.max(
    0,
    fallbacks.findIndex((a) => !have.has(a)),
  );
  throw badRequest(`No model '${fallbacks[i]}' in the catalog to fall back to`, `fallbacks.${i}`, 'model_not_found');
}

const REFERENCED_BY =
  'SELECT m.alias FROM models m, json_each(m.fallbacks) f WHERE f.value = :alias AND m.alias != :alias';
const referrers = namedSql(`${REFERENCED_BY} ORDER BY m.alias`);
const deleteUnreferenced = namedSql(`DELETE FROM models WHERE alias = :alias AND NOT EXISTS (${REFERENCED_BY})`);

/** Removes an alias no other alias falls back to; 404, or 409 naming those that do. */
export async function deleteModel(d1: D1Database, alias: string): Promise<void> {
  forgetCatalogEntries(alias);
  const [found, using, deleted] = await batch(d1, [
    modelByAlias(alias),
    rows<{ alias: string }>(referrers, { alias }),
    write(deleteUnreferenced, { alias }),
  ]);
  if (!found) throw notFound('model', alias, 'model_not_found');
  if (deleted !== 1)
    throw conflict(
      `'${alias}' is a fallback of ${using.map((r) => r.alias).join(', ')}; remove it there first`,
      'model_in_use',
    );
}

// ---- the call path's view of the catalog -------------------------------------------------------
// A call needs its model's entry before admission (the team's account prices its hold with it),
// and reading D1 for it on every call would put a D1 round trip back before the first token. So
// this isolate keeps what it read for CATALOG_TTL_MS: an operator's change reaches every isolate
// within that time, and this isolate's own edits (above) at once.

const CATALOG_TTL_MS = 30_000;
const MAX_ENTRIES = 1_000;
const entries = new Map<string, { model: Model | null; until: number }>();

/** The alias's catalog entry, enabled or not (null: no such alias), as this isolate last read it. */
export async function catalogEntry(d1: D1Database, alias: string, now = Date.now()): Promise<Model | null> {
  const hit = entries.get(alias);
  if (hit && hit.until > now) return hit.model;
  const model = await run(d1, modelByAlias(alias));
  if (entries.size >= MAX_ENTRIES) entries.clear();
  entries.set(alias, { model, until: now + CATALOG_TTL_MS });
  return model;
}

function forgetCatalogEntries(...aliases: string[]): void {
  for (const alias of aliases) entries.delete(alias);
}

const forget = namedSql('DELETE FROM models WHERE alias = :alias');

/**
 * The statement that gives a team's account the catalog entry a call is admitted with: its copy
 * of the entry, written over, or removed when the catalog has none (admission then refuses it).
 */
export const catalogCopy = (alias: string, model: Model | null) =>
  model ? upsertRow(models, model, 'alias') : write(forget, { alias });
