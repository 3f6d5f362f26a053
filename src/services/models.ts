import { eq } from 'drizzle-orm';
import { type Model, models } from '../db/schema';
import type { Db } from '../db/client';
import { notFound } from '../errors';

export const selectModel = (db: Db, alias: string) => db.select().from(models).where(eq(models.alias, alias)).limit(1);

/** Unknown or disabled aliases are 404 `model_not_found`; the message names only the alias asked for. */
export function requireModel(rows: Model[], alias: string): Model {
  const model = rows[0];
  if (!model || !model.enabled) throw notFound('model', alias, 'model_not_found');
  return model;
}
