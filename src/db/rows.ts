import { type InferSelectModel, type Table, getTableColumns, getTableName } from 'drizzle-orm';
import type { Db } from './client';

/**
 * Rows of several tables in ONE statement. A D1 batch hands rows back as objects keyed by
 * column name, so a join of tables that share names (`id`, `team_id`...) would lose columns;
 * instead each row comes back as a JSON object SQLite builds (`rowJson`), and `fromRowJson`
 * maps it through drizzle's own column definitions, exactly as a drizzle select would
 * (JSON-mode text parsed, booleans from 0/1).
 *
 * @example
 * // built once per isolate; only the parameters change per request
 * const READ = `SELECT (SELECT ${rowJson(apiKeys, 'k')} FROM api_keys k WHERE k.key_hash = ?) AS key`;
 * const key = fromRowJson(apiKeys, row.key);
 */
export function rowJson(table: Table, alias: string): string {
  const pairs = Object.values(getTableColumns(table)).map((c) => `'${c.name}', ${alias}."${c.name}"`);
  return `json_object(${pairs.join(', ')})`;
}

export function fromRowJson<T extends Table>(table: T, json: string | null | undefined): InferSelectModel<T> | null {
  if (json === null || json === undefined) return null;
  const raw = JSON.parse(json) as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as InferSelectModel<T>;
}

const inserts = new WeakMap<Table, string>();

/**
 * One whole row's INSERT, the way drizzle's `db.insert(table).values(row)` writes it (each value
 * through its column's own mapping: JSON-mode text stringified, booleans as 0/1), but with the
 * SQL text written once per table instead of built by the query builder on every call. The row
 * names every column, so no default is left for the builder to fill in.
 */
export function insertRowQuery<T extends Table>(
  table: T,
  row: InferSelectModel<T>,
): { sql: string; params: unknown[] } {
  const columns = Object.entries(getTableColumns(table));
  let text = inserts.get(table);
  if (text === undefined) {
    const names = columns.map(([, c]) => `"${c.name}"`).join(', ');
    text = `insert into "${getTableName(table)}" (${names}) values (${columns.map(() => '?').join(', ')})`;
    inserts.set(table, text);
  }
  const values = row as Record<string, unknown>;
  const params = columns.map(([key, column]) => {
    const value = values[key];
    return value === null || value === undefined ? null : column.mapToDriverValue(value);
  });
  return { sql: text, params };
}

/** `insertRowQuery` as a statement for the D1 client's own `batch`. */
export function insertRow<T extends Table>(db: Db, table: T, row: InferSelectModel<T>) {
  const { sql, params } = insertRowQuery(table, row);
  return db.$client.prepare(sql).bind(...params);
}
