/**
 * How Sluice talks to D1: SQL written once per isolate with `:name` placeholders, and one
 * statement shape that any batch takes. A batch is one round trip and one transaction, so the
 * statements a request needs (its key check, its guarded writes, the reads that explain a
 * refusal) go together; each statement says how to read its own result.
 *
 * drizzle-orm describes the tables (schema.ts): migrations, row types, and the mapping of each
 * column between SQLite and TypeScript (rows.ts) come from it. The SQL itself is written out,
 * in the module that owns the rule or the aggregate it serves.
 */

/**
 * SQL with `:name` placeholders. D1 binds positional parameters only, so each distinct name
 * becomes one of SQLite's numbered parameters (`?1`, `?2`... in order of first use; a name used
 * twice is bound once) and `params` lays a request's values out in that order.
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

/** What running one statement gave: its rows, and how many rows it changed. */
export interface SqlResult {
  results: unknown[];
  meta: { changes: number };
}

/** One statement, bound to its values, and how to read what it returns. */
export interface Statement<R = unknown> {
  readonly text: string;
  readonly params: readonly unknown[];
  read(result: SqlResult): R;
}

/**
 * A SQLite database that runs a batch of statements as one transaction, other than D1: a team's
 * account (accounts/account/), which keeps that team's money in SQLite of its own.
 */
export interface SqlTarget {
  run(statements: readonly BoundSql[]): Promise<SqlResult[]>;
}

/** A statement as it travels to a database: its SQL and its values. */
export type BoundSql = Pick<Statement, 'text' | 'params'>;

/** Where statements run: the D1 database, or a team's account. */
export type Database = D1Database | SqlTarget;

type Values = Readonly<Record<string, unknown>>;

/** A statement run for its effect: it reads as the number of rows it changed. */
export const write = (query: NamedSql, values: Values = {}): Statement<number> => ({
  text: query.text,
  params: query.params(values),
  read: (result) => result.meta.changes,
});

/** Rows as SQLite returns them, keyed by column name (aggregates, counts, chosen columns). */
export const rows = <T>(query: NamedSql, values: Values = {}): Statement<T[]> => ({
  text: query.text,
  params: query.params(values),
  read: (result) => result.results as T[],
});

/** The first row a statement reads, or null. */
export const first = <R>(statement: Statement<R[]>): Statement<R | null> => ({
  ...statement,
  read: (result) => statement.read(result)[0] ?? null,
});

export type Results<S extends readonly Statement[]> = {
  -readonly [K in keyof S]: S[K] extends Statement<infer R> ? R : never;
};

const prepare = (d1: D1Database, s: Statement) => d1.prepare(s.text).bind(...s.params);

const isD1 = (db: Database): db is D1Database => 'prepare' in db;

/** Runs statements as one batch (one round trip, all or nothing) and reads each result. */
export async function batch<const S extends readonly Statement[]>(db: Database, statements: S): Promise<Results<S>> {
  const results = isD1(db)
    ? await db.batch(statements.map((s) => prepare(db, s)))
    : await db.run(statements.map(({ text, params }) => ({ text, params })));
  return statements.map((s, i) => s.read(results[i]!)) as Results<S>;
}

/** Runs one statement on its own. */
export async function run<R>(db: Database, statement: Statement<R>): Promise<R> {
  if (!isD1(db)) return (await batch(db, [statement]))[0] as R;
  return statement.read(await prepare(db, statement).all());
}
