import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../env';

/**
 * A raw SQL statement that can join `db.batch([...])`. drizzle's `db.run(sql)` works on its
 * own, but inside a D1 batch its bound parameters are dropped (its `_prepare()` returns an
 * object without the prepared `stmt` the batch binds). Giving it that statement fixes it;
 * the result is the D1 result, so `meta.changes` tells whether a guarded write happened.
 * The SQL text is built once: the batch asks for it again, and building is most of what a
 * statement costs the Worker.
 */
export function stmt(db: Db, query: SQL) {
  const raw = db.run(query);
  return batchItem(db, raw, raw.getQuery());
}

/**
 * A statement whose SQL text never changes, written out once per isolate: only its parameters
 * vary per request, so nothing is built on the hot path. It joins `db.batch` like `stmt`.
 */
export function fixedStmt(db: Db, text: string, params: unknown[]) {
  return batchItem(db, db.run(sql.raw(text)), { sql: text, params, method: 'run' as const });
}

/** `raw` with the prepared D1 statement the batch binds, and its query, built once. */
function batchItem<R extends ReturnType<Db['run']>>(db: Db, raw: R, built: ReturnType<R['getQuery']>) {
  return Object.assign(raw, { stmt: db.$client.prepare(built.sql), getQuery: () => built });
}
