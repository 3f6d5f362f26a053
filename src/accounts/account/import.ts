/**
 * An account that starts empty takes its team from D1 once: the team's row (its balance and held
 * credits), its keys, the jobs still open or holding credit, the active holds, the streams in
 * flight and the current rate windows, read in one D1 batch (one consistent snapshot) and written
 * in one transaction. From then on the account moves them, and D1 keeps the copy it sends.
 * A job the import left in D1 (one that had finished) is taken the first time a request names it.
 */
type Raw = Record<string, SqlStorageValue>;

const TEAM = 'SELECT * FROM teams WHERE id = ?1';
const KEYS = 'SELECT * FROM api_keys WHERE team_id = ?1';
const HOLDS = "SELECT * FROM credit_holds WHERE team_id = ?1 AND status = 'active'";
const OPEN_JOBS = `SELECT * FROM jobs WHERE team_id = ?1 AND (status IN ('pending', 'in_progress')
  OR id IN (SELECT job_id FROM credit_holds WHERE team_id = ?1 AND status = 'active'))`;
const STREAMS = 'SELECT * FROM active_streams WHERE team_id = ?1';
const WINDOWS = `SELECT * FROM rate_windows WHERE window_start >= ?2 AND (scope = 'team:' || ?1
  OR scope IN (SELECT 'key:' || id FROM api_keys WHERE team_id = ?1))`;
const JOBS_NAMED = 'SELECT * FROM jobs WHERE team_id = ?1 AND id IN (SELECT value FROM json_each(?2))';

/** Rows D1 has already: inserted, and the outbox entries their triggers made dropped. */
function insertAll(sql: SqlStorage, table: string, rows: Raw[]) {
  for (const row of rows) {
    const columns = Object.keys(row);
    sql.exec(
      `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      ...columns.map((c) => row[c]!),
    );
  }
  if (rows.length && rows[0]!.id !== undefined)
    sql.exec(
      'DELETE FROM outbox WHERE tbl = ? AND row_id IN (SELECT value FROM json_each(?))',
      table,
      JSON.stringify(rows.map((r) => r.id)),
    );
}

const results = (r: D1Result) => (r.results ?? []) as Raw[];

/** Takes the team from D1 into an empty account; false when D1 has no such team (the account stays empty). */
/** Rate windows this recent are taken (the current one among them); older ones no limit reads. */
const RECENT_WINDOWS_MS = 2 * 60_000;

export async function importTeam(storage: DurableObjectStorage, d1: D1Database, teamId: string, now: number) {
  const since = now - RECENT_WINDOWS_MS;
  const read = (text: string) => d1.prepare(text).bind(teamId, since);
  const bind1 = (text: string) => d1.prepare(text).bind(teamId);
  const [team, keys, jobs, holds, streams, windows] = await d1.batch([
    bind1(TEAM),
    bind1(KEYS),
    bind1(OPEN_JOBS),
    bind1(HOLDS),
    bind1(STREAMS),
    read(WINDOWS),
  ]);
  const row = results(team!)[0];
  if (!row) return false;
  const sql = storage.sql;
  storage.transactionSync(() => {
    // Another request may have imported while this one read D1: the first one wins.
    if (sql.exec('SELECT 1 FROM teams').toArray().length) return;
    insertAll(sql, 'teams', [row]);
    insertAll(sql, 'api_keys', results(keys!));
    insertAll(sql, 'jobs', results(jobs!));
    insertAll(sql, 'credit_holds', results(holds!));
    insertAll(sql, 'active_streams', results(streams!));
    insertAll(sql, 'rate_windows', results(windows!));
    sql.exec(
      "INSERT INTO meta (name, value) VALUES ('imported_at', ?), ('opening_balance', ?)",
      now,
      row.credits_balance,
    );
  });
  return true;
}

/** Jobs a request names that the account does not have (finished before it was imported), taken from D1. */
export async function adoptJobs(storage: DurableObjectStorage, d1: D1Database, teamId: string, jobIds: string[]) {
  const sql = storage.sql;
  const missing = jobIds.filter((id) => !sql.exec('SELECT 1 FROM jobs WHERE id = ?', id).toArray().length);
  if (!missing.length) return;
  const { results: found } = await d1.prepare(JOBS_NAMED).bind(teamId, JSON.stringify(missing)).all<Raw>();
  if (found.length) storage.transactionSync(() => insertAll(sql, 'jobs', found));
}
