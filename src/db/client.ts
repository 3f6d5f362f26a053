import { type DrizzleD1Database, drizzle } from 'drizzle-orm/d1';
import * as schema from './schema';

export type Db = DrizzleD1Database<typeof schema> & { $client: D1Database };

const clients = new WeakMap<D1Database, Db>();

/**
 * The drizzle client for a D1 binding, built once per isolate: building it walks the whole
 * schema, which is CPU every request would otherwise pay before its first query.
 */
export function dbFor(d1: D1Database): Db {
  let db = clients.get(d1);
  if (!db) clients.set(d1, (db = drizzle(d1, { schema }) as Db));
  return db;
}
