import { SQL, StringChunk, sql } from 'drizzle-orm';
import type { Db } from './client';

/**
 * A raw SQL statement that can join `db.batch([...])`. drizzle's `db.run(sql)` works on its
 * own, but inside a D1 batch its bound parameters are dropped (its `_prepare()` returns an
 * object without the prepared `stmt` the batch binds). Giving it that statement fixes it;
 * the result is the D1 result, so `meta.changes` tells whether a guarded write happened.
 * The SQL text is built once (the batch asks for it again), by `plainQuery` when it can.
 */
export function stmt(db: Db, query: SQL) {
  const raw = db.run(query);
  const plain = plainQuery(query);
  return batchItem(db, raw, plain ? { ...plain, method: 'run' as const } : raw.getQuery());
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

/**
 * The SQL text and parameters of a statement written only with `sql` templates: text, nested
 * `sql` fragments and plain values (each a `?` parameter), exactly as drizzle's SQLite dialect
 * writes them, without drizzle's builder, which asks every chunk what kind of entity it is and
 * is several times slower. For anything else (columns, tables, encoded or inlined parameters) it
 * returns null and the builder runs. `test/db/raw.test.ts` holds the two to the same output.
 */
export function plainQuery(query: SQL): { sql: string; params: unknown[] } | null {
  let text = '';
  const params: unknown[] = [];
  const walk = (chunks: readonly unknown[]): boolean => {
    for (const chunk of chunks) {
      if (chunk === undefined) continue;
      if (chunk === null || (typeof chunk !== 'object' && typeof chunk !== 'function')) {
        text += '?';
        params.push(chunk);
      } else if (chunk instanceof StringChunk) {
        text += chunk.value.join('');
      } else if (chunk instanceof SQL && !inlinesParams(chunk)) {
        if (!walk(chunk.queryChunks)) return false;
      } else return false;
    }
    return true;
  };
  return walk(query.queryChunks) ? { sql: text, params } : null;
}

/** `sql.inline`/`.inlineParams()` fragments write their values into the text: drizzle's job. */
const inlinesParams = (fragment: SQL) => (fragment as unknown as { shouldInlineParams?: boolean }).shouldInlineParams;

/**
 * SQL written once per isolate with `:name` placeholders. D1 binds positional parameters only,
 * so each distinct name becomes one of SQLite's numbered parameters (`?1`, `?2`... in order of
 * first use; a name used twice is bound once) and `params` lays a request's values out in that
 * order. Per request, only that array is built.
 */
export interface NamedSql {
  readonly text: string;
  readonly names: readonly string[];
  params(values: Readonly<Record<string, unknown>>): unknown[];
}

export function namedSql(source: string): NamedSql {
  const names: string[] = [];
  // String literals ('team:' and the like) are passed over whole.
  const text = source.replace(/'(?:[^']|'')*'|:([A-Za-z_]\w*)/g, (match, name: string | undefined) => {
    if (name === undefined) return match;
    const at = names.indexOf(name);
    return `?${at < 0 ? names.push(name) : at + 1}`;
  });
  return {
    text,
    names,
    params: (values) =>
      names.map((name) => {
        const value = values[name];
        // A forgotten value would bind as NULL and quietly change what a guard means.
        if (value === undefined) throw new Error(`No value for :${name}`);
        return value;
      }),
  };
}

/** A `namedSql` statement for the D1 client's own `batch`, bound to this request's values. */
export const prepareNamed = (d1: D1Database, query: NamedSql, values: Readonly<Record<string, unknown>>) =>
  d1.prepare(query.text).bind(...query.params(values));
