/**
 * Rows between SQLite and TypeScript, through drizzle's own column definitions: JSON-mode text
 * parsed and stringified, booleans to and from 0/1, exactly as a drizzle query would map them.
 */
import { type InferInsertModel, type InferSelectModel, type Table, getTableColumns, getTableName } from 'drizzle-orm';
import { type NamedSql, type Statement, namedSql, write } from './statement';

/** A row keyed by column name (as D1 returns it) mapped to the table's TypeScript row. */
export function fromRow<T extends Table>(table: T, raw: Record<string, unknown>): InferSelectModel<T> {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as InferSelectModel<T>;
}

export type Row<T extends Table> = InferSelectModel<T>;

/** Whole rows of `table` (`SELECT *`, `RETURNING *`), each column through its own mapping. */
export const tableRows = <T extends Table>(
  table: T,
  query: NamedSql,
  values: Readonly<Record<string, unknown>> = {},
): Statement<Row<T>[]> => ({
  text: query.text,
  params: query.params(values),
  read: (result) => (result.results as Record<string, unknown>[]).map((raw) => fromRow(table, raw)),
});

/**
 * Rows of several tables in ONE statement. D1 hands rows back as objects keyed by column name,
 * so a join of tables that share names (`id`, `team_id`...) would lose columns; instead each row
 * comes back as a JSON object SQLite builds (`rowJson`), read with `fromRowJson`.
 *
 * @example
 * const READ = namedSql(`SELECT (SELECT ${rowJson(apiKeys, 'k')} FROM api_keys k WHERE k.key_hash = :hash) AS key`);
 * const key = fromRowJson(apiKeys, row.key);
 */
export function rowJson(table: Table, alias: string): string {
  const pairs = Object.values(getTableColumns(table)).map((c) => `'${c.name}', ${alias}."${c.name}"`);
  return `json_object(${pairs.join(', ')})`;
}

export function fromRowJson<T extends Table>(table: T, json: string | null | undefined): InferSelectModel<T> | null {
  if (json === null || json === undefined) return null;
  return fromRow(table, JSON.parse(json) as Record<string, unknown>);
}

/** A TypeScript value as its column stores it. */
function toColumn(table: Table, key: string, value: unknown): unknown {
  const column = getTableColumns(table)[key];
  if (!column) throw new Error(`No column ${key} in ${getTableName(table)}`);
  return value === null || value === undefined ? null : column.mapToDriverValue(value);
}

const inserts = new WeakMap<Table, NamedSql>();

/**
 * One whole row's INSERT. The SQL is written once per table; the row names every column, so
 * no default is left for the database to fill in.
 */
export function insertRow<T extends Table>(table: T, row: InferSelectModel<T>): Statement<number> {
  const columns = Object.entries(getTableColumns(table));
  let query = inserts.get(table);
  if (!query) {
    const names = columns.map(([, c]) => `"${c.name}"`).join(', ');
    const values = columns.map(([key]) => `:${key}`).join(', ');
    query = namedSql(`INSERT INTO "${getTableName(table)}" (${names}) VALUES (${values})`);
    inserts.set(table, query);
  }
  const values: Record<string, unknown> = {};
  for (const [key] of columns) values[key] = toColumn(table, key, (row as Record<string, unknown>)[key]);
  return write(query, values);
}

const upserts = new WeakMap<Table, NamedSql>();

/**
 * One whole row, inserted or, when its `keyColumn` is taken, written over (`insertRow`'s shape
 * otherwise). A row that already holds these values is left alone: no row is written.
 */
export function upsertRow<T extends Table>(
  table: T,
  row: InferSelectModel<T>,
  keyColumn: keyof InferSelectModel<T> & string,
): Statement<number> {
  const columns = Object.entries(getTableColumns(table));
  let query = upserts.get(table);
  if (!query) {
    const names = columns.map(([, c]) => `"${c.name}"`);
    const key = getTableColumns(table)[keyColumn]!.name;
    query = namedSql(
      `INSERT INTO "${getTableName(table)}" (${names.join(', ')}) VALUES (${columns.map(([k]) => `:${k}`).join(', ')})
      ON CONFLICT ("${key}") DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(', ')}
      WHERE ${names.map((n) => `"${getTableName(table)}".${n} IS NOT excluded.${n}`).join(' OR ')}`,
    );
    upserts.set(table, query);
  }
  const values: Record<string, unknown> = {};
  for (const [key] of columns) values[key] = toColumn(table, key, (row as Record<string, unknown>)[key]);
  return write(query, values);
}

/**
 * A row with only the given columns (the others take their defaults). `ON CONFLICT DO NOTHING`
 * makes a taken key a count of 0 instead of an error. For the operator's creations, whose
 * fields vary by request: the text is written per call, from the table's own column names.
 */
export function insertColumns<T extends Table>(
  table: T,
  row: Partial<InferInsertModel<T>>,
  opts: { ignoreConflict?: boolean } = {},
): Statement<number> {
  const columns = getTableColumns(table);
  const keys = Object.keys(row).filter((k) => (row as Record<string, unknown>)[k] !== undefined);
  const values: Record<string, unknown> = {};
  for (const key of keys) values[key] = toColumn(table, key, (row as Record<string, unknown>)[key]);
  const names = keys.map((key) => `"${columns[key]!.name}"`).join(', ');
  const conflict = opts.ignoreConflict ? ' ON CONFLICT DO NOTHING' : '';
  return write(
    namedSql(
      `INSERT INTO "${getTableName(table)}" (${names}) VALUES (${keys.map((k) => `:${k}`).join(', ')})${conflict}`,
    ),
    values,
  );
}

/**
 * Sets the given columns (absent ones keep their value; `null` stores NULL) of the row whose
 * `keyColumn` is `id`, and reads the row back. For the operator's edits, whose fields vary by
 * request: the text is written per call, from the table's own column names.
 */
export function updateRow<T extends Table>(
  table: T,
  keyColumn: keyof InferSelectModel<T> & string,
  id: string,
  changes: Partial<InferInsertModel<T>>,
  /** A further condition (SQL with `:name` values from `guardValues`) the row must meet. */
  guard?: { sql: string; values: Record<string, unknown> },
) {
  const columns = getTableColumns(table);
  const set = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
  const values: Record<string, unknown> = { ...guard?.values, id };
  for (const key of set) values[`set_${key}`] = toColumn(table, key, (changes as Record<string, unknown>)[key]);
  const assignments = set.map((key) => `"${columns[key]!.name}" = :set_${key}`).join(', ');
  return tableRows(
    table,
    namedSql(
      `UPDATE "${getTableName(table)}" SET ${assignments} WHERE "${columns[keyColumn]!.name}" = :id${guard ? ` AND ${guard.sql}` : ''} RETURNING *`,
    ),
    values,
  );
}
