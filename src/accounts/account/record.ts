/**
 * An account's record in D1: the rows its triggers named in `outbox`, copied to D1 as they stand
 * now, in one D1 batch. A copy is an upsert by the row's id, so a batch that is sent again (its
 * answer was lost, the object restarted before it cleared the outbox) changes nothing more. An
 * entry is cleared only once D1 confirmed the copy, and only if its row did not change again
 * meanwhile (its number is still the one copied: schema.ts, COPY_NUMBER). One copy runs at a
 * time, so an older state of a row never lands after a newer one.
 */
import { RECORDED, type RecordedTable } from './schema';

/** Rows copied per D1 batch (D1 binds at most 100 values a statement; a call row has 26). */
export const RECORD_BATCH_ROWS = 200;

type Raw = Record<string, SqlStorageValue>;

/**
 * The columns D1 keeps as the larger of the two values rather than the account's: a key's
 * `last_used_at` is also noted by reads that go to D1 alone (auth/caller.ts).
 */
const MERGED: Partial<Record<RecordedTable, readonly string[]>> = { api_keys: ['last_used_at'] };

const upserts = new Map<string, string>();

function upsertSql(table: RecordedTable, columns: string[]): string {
  const cacheKey = `${table}:${columns.join(',')}`;
  let text = upserts.get(cacheKey);
  if (!text) {
    const merged = MERGED[table] ?? [];
    const set = columns
      .filter((c) => c !== 'id')
      .map((c) =>
        merged.includes(c)
          ? `"${c}" = CASE WHEN excluded."${c}" > coalesce("${c}", 0) THEN excluded."${c}" ELSE "${c}" END`
          : `"${c}" = excluded."${c}"`,
      );
    text =
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) ` +
      `VALUES (${columns.map((_, i) => `?${i + 1}`).join(', ')}) ON CONFLICT ("id") DO UPDATE SET ${set.join(', ')}`;
    upserts.set(cacheKey, text);
  }
  return text;
}

/**
 * The record's own statements. Each finds its outbox entries and rows by key: a busy team's outbox
 * holds thousands of entries while D1 lags, and a statement that scanned it for each entry of a copy
 * made a copy's cost grow with the square of the backlog (docs/scaling.md, One very busy team).
 * test/accounts/record.test.ts holds their plans.
 */
export const RECORD_SQL = {
  /** One table's entries, a range of the outbox's key; read table by table in RECORDED's order. */
  pending: 'SELECT tbl, row_id, v FROM outbox WHERE tbl = ? LIMIT ?',
  rows: (table: RecordedTable) => `SELECT * FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`,
  confirm: `DELETE FROM outbox WHERE (tbl, row_id, v) IN
    (SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2 FROM json_each(?) e)`,
  dropCalls: `DELETE FROM llm_calls WHERE id IN (SELECT value FROM json_each(?))
    AND id NOT IN (SELECT row_id FROM outbox WHERE tbl = 'llm_calls')`,
};

export interface Copy {
  /** The outbox entries the copy covers: table, row id, the number of the copy each waited for. */
  entries: [string, string, number][];
  /** Call rows copied: the account drops them once D1 has them. */
  calls: string[];
  statements: { text: string; params: SqlStorageValue[] }[];
}

/** What the outbox holds now, as the statements that write it to D1 (null: nothing to copy). */
export function pendingCopy(sql: SqlStorage): Copy | null {
  // Parents first: when more is waiting than one copy takes, a row's parent (a call's job, a hold's
  // job) goes in this copy or an earlier one, never after it, so D1's foreign keys hold.
  const entries: { tbl: string; row_id: string; v: number }[] = [];
  for (const table of RECORDED) {
    const room = RECORD_BATCH_ROWS - entries.length;
    if (room <= 0) break;
    entries.push(...sql.exec<{ tbl: string; row_id: string; v: number }>(RECORD_SQL.pending, table, room));
  }
  if (!entries.length) return null;
  // A row that changes from now on waits for the next copy: its entry gets the next number, and
  // confirmCopy, which clears the numbers taken here, leaves it.
  sql.exec("UPDATE meta SET value = value + 1 WHERE name = 'copy'");
  const ids = new Map<string, Set<string>>();
  for (const e of entries) {
    let set = ids.get(e.tbl);
    if (!set) ids.set(e.tbl, (set = new Set()));
    set.add(e.row_id);
  }
  const statements: Copy['statements'] = [];
  for (const table of RECORDED) {
    const wanted = ids.get(table);
    if (!wanted) continue;
    const rows = sql.exec<Raw>(RECORD_SQL.rows(table), JSON.stringify([...wanted])).toArray();
    for (const row of rows) {
      const columns = Object.keys(row);
      statements.push({ text: upsertSql(table, columns), params: columns.map((c) => row[c]!) });
    }
  }
  return {
    entries: entries.map((e) => [e.tbl, e.row_id, e.v]),
    calls: [...(ids.get('llm_calls') ?? [])],
    statements,
  };
}

/** Sends a copy to D1; resolves once D1 has it all, or rejects with D1's error (nothing of it written). */
export async function writeCopy(d1: D1Database, copy: Copy): Promise<void> {
  if (copy.statements.length) await d1.batch(copy.statements.map((s) => d1.prepare(s.text).bind(...s.params)));
}

/** Clears what D1 confirmed, and the call rows it now keeps (the account has no use for them). */
export function confirmCopy(sql: SqlStorage, copy: Copy): void {
  sql.exec(RECORD_SQL.confirm, JSON.stringify(copy.entries));
  if (copy.calls.length) sql.exec(RECORD_SQL.dropCalls, JSON.stringify(copy.calls));
}
