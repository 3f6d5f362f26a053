/**
 * A team's account: its own SQLite, with the tables of D1 that hold what must be exact for that
 * team (its row, its keys, its jobs, holds, ledger, rate windows and streams in flight), under
 * the same names and columns, so the statements that move credits (billing/, calls/, jobs/) run
 * here unchanged. `models` holds the catalog entries its calls were admitted with, as the Worker
 * sent them; `llm_calls` holds a finished call's row until D1 has it; `applied` the names of the
 * batches sent with `once` lately (object.ts).
 *
 * Triggers name every row of a recorded table that changed in `outbox`, once however often it
 * changes between two copies (`v`: the number of the copy it waits for, COPY_NUMBER); record.ts
 * copies those rows to D1. Holds are indexed on what does not change when they settle, so
 * settling one rewrites no index entry but the active holds'.
 * test/accounts/schema.test.ts holds these columns to D1's.
 */

/**
 * The number of the copy that will next be taken (meta `copy`): an outbox entry's `v` is the number
 * current when its row last changed, so a row that changes again and again before a copy is taken
 * is written to the outbox once, and one that changes while a copy is under way gets a newer number
 * (record.ts starts the next number as it takes a copy). It starts above any entry already there.
 */
export const COPY_NUMBER = "SELECT value FROM meta WHERE name = 'copy'";

/** Tables whose rows D1 keeps a copy of (each named by its `id`), in the order a copy is written: parents first. */
export const RECORDED = ['teams', 'api_keys', 'jobs', 'llm_calls', 'credit_holds', 'credit_ledger'] as const;
export type RecordedTable = (typeof RECORDED)[number];

const TABLES = `
CREATE TABLE IF NOT EXISTS teams (
  id text PRIMARY KEY NOT NULL, name text NOT NULL, status text DEFAULT 'active' NOT NULL,
  budget_mode text DEFAULT 'job_based' NOT NULL, credits_per_job integer DEFAULT 1 NOT NULL,
  credits_balance integer DEFAULT 0 NOT NULL, credits_held integer DEFAULT 0 NOT NULL,
  created_at integer NOT NULL, organization_id text, credits_per_dollar real DEFAULT 100 NOT NULL,
  tokens_per_credit integer DEFAULT 1000 NOT NULL, rpm_limit integer, tpm_limit integer,
  max_concurrent_streams integer, allowed_models text, low_credit_threshold integer, updated_at integer,
  resumable_by_default integer DEFAULT false NOT NULL,
  CONSTRAINT teams_credits_non_negative CHECK (credits_held >= 0 AND credits_balance - credits_held >= 0)
);
CREATE TABLE IF NOT EXISTS api_keys (
  id text PRIMARY KEY NOT NULL, team_id text NOT NULL, name text, key_hash text NOT NULL, prefix text NOT NULL,
  created_at integer NOT NULL, revoked_at integer, last_used_at integer, expires_at integer, allowed_models text,
  rpm_limit integer, tpm_limit integer
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash_idx ON api_keys (key_hash);
CREATE TABLE IF NOT EXISTS models (
  alias text PRIMARY KEY NOT NULL, provider text NOT NULL, upstream_model text NOT NULL, base_url text,
  input_price_per_mtok real DEFAULT 0 NOT NULL, output_price_per_mtok real DEFAULT 0 NOT NULL,
  enabled integer DEFAULT true NOT NULL, created_at integer NOT NULL, fallbacks text, updated_at integer,
  cached_input_price_per_mtok real, cache_write_price_per_mtok real
);
CREATE TABLE IF NOT EXISTS jobs (
  id text PRIMARY KEY NOT NULL, team_id text NOT NULL, key_id text, job_type text NOT NULL, user_id text,
  status text DEFAULT 'pending' NOT NULL, metadata text, error_message text,
  credits_charged integer DEFAULT 0 NOT NULL, created_at integer NOT NULL, completed_at integer
);
CREATE TABLE IF NOT EXISTS llm_calls (
  id text PRIMARY KEY NOT NULL, job_id text NOT NULL, team_id text NOT NULL, model text NOT NULL,
  provider text NOT NULL, upstream_model text NOT NULL, purpose text, status text NOT NULL, stream integer NOT NULL,
  content text DEFAULT '' NOT NULL, tool_calls text, finish_reason text, prompt_tokens integer DEFAULT 0 NOT NULL,
  completion_tokens integer DEFAULT 0 NOT NULL, usage_source text DEFAULT 'provider' NOT NULL,
  cost_usd real DEFAULT 0 NOT NULL, ttft_ms real, latency_ms real NOT NULL, error text, created_at integer NOT NULL,
  served_by text, attempts integer DEFAULT 1 NOT NULL, stored_truncated integer DEFAULT false NOT NULL,
  cached_input_tokens integer DEFAULT 0 NOT NULL, cache_write_tokens integer DEFAULT 0 NOT NULL,
  reasoning_tokens integer DEFAULT 0 NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_calls_job_idx ON llm_calls (job_id);
CREATE TABLE IF NOT EXISTS credit_holds (
  id text PRIMARY KEY NOT NULL, team_id text NOT NULL, job_id text NOT NULL, amount integer NOT NULL,
  status text DEFAULT 'active' NOT NULL, created_at integer NOT NULL, settled_at integer, call_id text,
  CONSTRAINT credit_holds_amount_positive CHECK (amount > 0)
);
DROP INDEX IF EXISTS credit_holds_job_idx;
DROP INDEX IF EXISTS credit_holds_status_idx;
CREATE INDEX IF NOT EXISTS credit_holds_by_job ON credit_holds (job_id);
CREATE INDEX IF NOT EXISTS credit_holds_active ON credit_holds (created_at) WHERE status = 'active';
CREATE UNIQUE INDEX IF NOT EXISTS credit_holds_one_per_call ON credit_holds (call_id) WHERE call_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS credit_ledger (
  id text PRIMARY KEY NOT NULL, team_id text NOT NULL, job_id text, kind text NOT NULL, amount integer NOT NULL,
  reason text, created_at integer NOT NULL, call_id text
);
CREATE UNIQUE INDEX IF NOT EXISTS credit_ledger_one_charge_per_job ON credit_ledger (job_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX IF NOT EXISTS credit_ledger_one_usage_per_call ON credit_ledger (call_id) WHERE kind = 'usage';
CREATE TABLE IF NOT EXISTS rate_windows (
  scope text NOT NULL, window_start integer NOT NULL, requests integer DEFAULT 0 NOT NULL,
  tokens integer DEFAULT 0 NOT NULL, PRIMARY KEY (scope, window_start)
);
CREATE INDEX IF NOT EXISTS rate_windows_start_idx ON rate_windows (window_start);
CREATE TABLE IF NOT EXISTS active_streams (
  call_id text PRIMARY KEY NOT NULL, team_id text NOT NULL, started_at integer NOT NULL, output_tokens integer
);
CREATE INDEX IF NOT EXISTS active_streams_started_idx ON active_streams (started_at);
CREATE TABLE IF NOT EXISTS outbox (
  tbl text NOT NULL, row_id text NOT NULL, v integer DEFAULT 1 NOT NULL, PRIMARY KEY (tbl, row_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY NOT NULL, value);
CREATE TABLE IF NOT EXISTS applied (at integer NOT NULL, key text NOT NULL, PRIMARY KEY (at, key)) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) SELECT 'copy', coalesce(max(v), 0) + 1 FROM outbox;
`;

const TRIGGERS = RECORDED.flatMap((t) =>
  (['INSERT', 'UPDATE'] as const).map(
    (op) => `DROP TRIGGER IF EXISTS ${t}_${op.toLowerCase()}_recorded;
    CREATE TRIGGER IF NOT EXISTS ${t}_${op.toLowerCase()}_outbox AFTER ${op} ON ${t}
      BEGIN INSERT INTO outbox (tbl, row_id, v) VALUES ('${t}', NEW.id, (${COPY_NUMBER}))
        ON CONFLICT (tbl, row_id) DO UPDATE SET v = excluded.v WHERE v <> excluded.v; END;`,
  ),
).join('\n');

export const ACCOUNT_DDL = `${TABLES}\n${TRIGGERS}`;
