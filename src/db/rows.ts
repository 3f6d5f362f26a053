import { type InferSelectModel, type Table, getTableColumns } from 'drizzle-orm';

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
