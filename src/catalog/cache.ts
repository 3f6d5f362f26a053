/**
 * The catalog as this isolate last read it, for the call path: a call needs its model's entry
 * before admission (the team's account prices its hold with it), and reading D1 for it on every
 * call would put a D1 round trip back before the first token. An entry is read again after
 * TTL_MS, so an operator's change reaches every isolate within that time; this isolate's own
 * edits (routes/admin/models.ts) take effect at once.
 */
import { type Model, models } from '../db/schema';
import { tableRows, upsertRow } from '../db/rows';
import { first, namedSql, run, write } from '../db/statement';

const TTL_MS = 30_000;
const MAX_ENTRIES = 1_000;

const byAlias = namedSql('SELECT * FROM models WHERE alias = :alias');
const entries = new Map<string, { model: Model | null; until: number }>();

/** The alias's catalog entry, enabled or not (null: no such alias). */
export async function catalogEntry(d1: D1Database, alias: string, now = Date.now()): Promise<Model | null> {
  const hit = entries.get(alias);
  if (hit && hit.until > now) return hit.model;
  const model = await run(d1, first(tableRows(models, byAlias, { alias })));
  if (entries.size >= MAX_ENTRIES) entries.clear();
  entries.set(alias, { model, until: now + TTL_MS });
  return model;
}

/** Forgets what this isolate read of these aliases (after an edit). */
export function forgetCatalogEntries(...aliases: string[]): void {
  for (const alias of aliases) entries.delete(alias);
}

const forget = namedSql('DELETE FROM models WHERE alias = :alias');

/**
 * The statement that gives a team's account the catalog entry a call is admitted with: its copy
 * of the entry, written over, or removed when the catalog has none (admission then refuses it).
 */
export const catalogCopy = (alias: string, model: Model | null) =>
  model ? upsertRow(models, model, 'alias') : write(forget, { alias });
