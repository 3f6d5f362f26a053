/**
 * D1 schema. Credits are integers and move only through `credit_ledger` rows;
 * `teams.credits_balance` is the running sum of that ledger and `teams.credits_held`
 * the sum of active `credit_holds`, both updated in the same D1 batch (one
 * transaction) as the rows that justify them.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const now = sql`(unixepoch('subsec') * 1000)`;

export const organizations = sqliteTable('organizations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull().default(now),
});

export const BUDGET_MODES = ['job_based', 'consumption_usd', 'consumption_tokens'] as const;
export type BudgetMode = (typeof BUDGET_MODES)[number];

export const teams = sqliteTable(
  'teams',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').references(() => organizations.id),
    name: text('name').notNull(),
    status: text('status', { enum: ['active', 'suspended'] })
      .notNull()
      .default('active'),
    budgetMode: text('budget_mode', { enum: BUDGET_MODES }).notNull().default('job_based'),
    creditsPerJob: integer('credits_per_job').notNull().default(1),
    /** consumption_usd: credits per USD of list-price cost. */
    creditsPerDollar: real('credits_per_dollar').notNull().default(100),
    /** consumption_tokens: tokens one credit buys. */
    tokensPerCredit: integer('tokens_per_credit').notNull().default(1000),
    rpmLimit: integer('rpm_limit'),
    tpmLimit: integer('tpm_limit'),
    maxConcurrentStreams: integer('max_concurrent_streams'),
    /** Model aliases this team may use; null means all. */
    allowedModels: text('allowed_models', { mode: 'json' }).$type<string[]>(),
    /** Flag the team in reports and alerts when available credits fall below this. */
    lowCreditThreshold: integer('low_credit_threshold'),
    /** Streams its keys start are resumable unless a request says otherwise. */
    resumableByDefault: integer('resumable_by_default', { mode: 'boolean' }).notNull().default(false),
    creditsBalance: integer('credits_balance').notNull().default(0),
    creditsHeld: integer('credits_held').notNull().default(0),
    createdAt: integer('created_at').notNull().default(now),
    updatedAt: integer('updated_at'),
  },
  (t) => [
    // The database itself refuses an overdrawn team, whatever the code above it does.
    check('teams_credits_non_negative', sql`${t.creditsHeld} >= 0 AND ${t.creditsBalance} - ${t.creditsHeld} >= 0`),
  ],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    name: text('name'),
    /** SHA-256 of the secret, hex. The secret itself is never stored. */
    keyHash: text('key_hash').notNull(),
    /** First characters of the secret, for people to recognise a key in lists. */
    prefix: text('prefix').notNull(),
    createdAt: integer('created_at').notNull().default(now),
    /** After this instant the key gets 401 `key_expired` (also set on the old secret of a rotation). */
    expiresAt: integer('expires_at'),
    revokedAt: integer('revoked_at'),
    lastUsedAt: integer('last_used_at'),
    /** Model aliases this key may use; null means whatever the team may use. */
    allowedModels: text('allowed_models', { mode: 'json' }).$type<string[]>(),
    rpmLimit: integer('rpm_limit'),
    tpmLimit: integer('tpm_limit'),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash), index('api_keys_team_idx').on(t.teamId)],
);

export const models = sqliteTable('models', {
  alias: text('alias').primaryKey(),
  provider: text('provider').notNull(),
  upstreamModel: text('upstream_model').notNull(),
  /** Overrides the provider's base URL from env, e.g. for an OpenAI-compatible server. */
  baseUrl: text('base_url'),
  inputPricePerMtok: real('input_price_per_mtok').notNull().default(0),
  outputPricePerMtok: real('output_price_per_mtok').notNull().default(0),
  /** Prompt tokens read from the provider's cache; null: they cost the input price. */
  cachedInputPricePerMtok: real('cached_input_price_per_mtok'),
  /** Prompt tokens written to the provider's cache; null: they cost the input price. */
  cacheWritePricePerMtok: real('cache_write_price_per_mtok'),
  /** Ordered aliases tried when this one fails before its first byte. */
  fallbacks: text('fallbacks', { mode: 'json' }).$type<string[]>(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at').notNull().default(now),
  updatedAt: integer('updated_at'),
});

export const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    keyId: text('key_id').references(() => apiKeys.id),
    jobType: text('job_type').notNull(),
    userId: text('user_id'),
    status: text('status', { enum: JOB_STATUSES }).notNull().default('pending'),
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>(),
    errorMessage: text('error_message'),
    creditsCharged: integer('credits_charged').notNull().default(0),
    createdAt: integer('created_at').notNull().default(now),
    completedAt: integer('completed_at'),
  },
  (t) => [index('jobs_team_created_idx').on(t.teamId, t.createdAt), index('jobs_status_idx').on(t.status)],
);

export const CALL_STATUSES = ['success', 'error', 'client_aborted'] as const;

export const llmCalls = sqliteTable(
  'llm_calls',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    upstreamModel: text('upstream_model').notNull(),
    /** The catalog alias that actually answered (differs from `model` after a fallback). */
    servedBy: text('served_by'),
    attempts: integer('attempts').notNull().default(1),
    purpose: text('purpose'),
    status: text('status', { enum: CALL_STATUSES }).notNull(),
    stream: integer('stream', { mode: 'boolean' }).notNull(),
    content: text('content').notNull().default(''),
    toolCalls: text('tool_calls', { mode: 'json' }).$type<unknown[]>(),
    /** `content` and `tool_calls` hold only the start of the answer: it was too large for a row. */
    storedTruncated: integer('stored_truncated', { mode: 'boolean' }).notNull().default(false),
    finishReason: text('finish_reason'),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    /** Of `prompt_tokens`, read from the provider's cache (priced apart). */
    cachedInputTokens: integer('cached_input_tokens').notNull().default(0),
    /** Of `prompt_tokens`, written to the provider's cache (priced apart). */
    cacheWriteTokens: integer('cache_write_tokens').notNull().default(0),
    /** Of `completion_tokens`, the model's reasoning. */
    reasoningTokens: integer('reasoning_tokens').notNull().default(0),
    usageSource: text('usage_source', { enum: ['provider', 'estimated'] })
      .notNull()
      .default('provider'),
    costUsd: real('cost_usd').notNull().default(0),
    ttftMs: real('ttft_ms'),
    latencyMs: real('latency_ms').notNull(),
    error: text('error'),
    createdAt: integer('created_at').notNull().default(now),
  },
  (t) => [index('llm_calls_job_idx').on(t.jobId), index('llm_calls_team_created_idx').on(t.teamId, t.createdAt)],
);

export const creditHolds = sqliteTable(
  'credit_holds',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id),
    /** Set for per-call holds (consumption modes); null for a job's own hold. */
    callId: text('call_id'),
    amount: integer('amount').notNull(),
    status: text('status', { enum: ['active', 'captured', 'released'] })
      .notNull()
      .default('active'),
    createdAt: integer('created_at').notNull().default(now),
    settledAt: integer('settled_at'),
  },
  (t) => [
    index('credit_holds_job_idx').on(t.jobId, t.status),
    index('credit_holds_team_status_idx').on(t.teamId, t.status),
    // A call has at most one hold, and its settle finds it by call id.
    uniqueIndex('credit_holds_one_per_call')
      .on(t.callId)
      .where(sql`call_id IS NOT NULL`),
    check('credit_holds_amount_positive', sql`${t.amount} > 0`),
  ],
);

/** grant/adjustment: operator; charge: a job's credit; usage: a call's metered credits (consumption modes). */
export const LEDGER_KINDS = ['grant', 'adjustment', 'charge', 'usage'] as const;

export const creditLedger = sqliteTable(
  'credit_ledger',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    jobId: text('job_id').references(() => jobs.id),
    callId: text('call_id'),
    kind: text('kind', { enum: LEDGER_KINDS }).notNull(),
    /** Signed change to the team's balance. */
    amount: integer('amount').notNull(),
    reason: text('reason'),
    createdAt: integer('created_at').notNull().default(now),
  },
  (t) => [
    index('credit_ledger_team_created_idx').on(t.teamId, t.createdAt),
    // The child side of the job foreign key: without it SQLite checks a job insert by scanning the ledger.
    index('credit_ledger_job_idx').on(t.jobId),
    // One charge per job, whatever races happen around `complete`.
    uniqueIndex('credit_ledger_one_charge_per_job')
      .on(t.jobId)
      .where(sql`kind = 'charge'`),
    uniqueIndex('credit_ledger_one_usage_per_call')
      .on(t.callId)
      .where(sql`kind = 'usage'`),
  ],
);

/**
 * Request and token counts per fixed one-minute window, per key and per team. Kept in D1 so
 * every isolate sees the same counts; the increment joins the request's first D1 batch.
 */
export const rateWindows = sqliteTable(
  'rate_windows',
  {
    scope: text('scope').notNull(),
    windowStart: integer('window_start').notNull(),
    requests: integer('requests').notNull().default(0),
    tokens: integer('tokens').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.windowStart] })],
);

/** Streams in flight, for the per-team concurrency cap. Rows older than a stream can live are ignored. */
export const activeStreams = sqliteTable(
  'active_streams',
  {
    callId: text('call_id').primaryKey(),
    teamId: text('team_id').notNull(),
    startedAt: integer('started_at').notNull(),
    /** The output tokens admission allowed the call (its `max_tokens`); the call's hold is sized for them. */
    outputTokens: integer('output_tokens'),
  },
  (t) => [index('active_streams_team_idx').on(t.teamId, t.startedAt)],
);

/** One row per team per UTC day, written by the scheduled job (idempotent by the unique key). */
export const creditReports = sqliteTable(
  'credit_reports',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id),
    day: text('day').notNull(),
    jobs: integer('jobs').notNull(),
    calls: integer('calls').notNull(),
    tokens: integer('tokens').notNull(),
    costUsd: real('cost_usd').notNull(),
    creditsCharged: integer('credits_charged').notNull(),
    creditsRemaining: integer('credits_remaining').notNull(),
    topModels: text('top_models', { mode: 'json' }).$type<{ model: string; calls: number; tokens: number }[]>(),
    lowCredits: integer('low_credits', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull().default(now),
  },
  (t) => [uniqueIndex('credit_reports_team_day_idx').on(t.teamId, t.day)],
);

/**
 * The last reconciliation of each team's account with D1 (accounts/reconciliation.ts): whether
 * they agreed, and if not, every difference found.
 */
export const accountChecks = sqliteTable(
  'account_checks',
  {
    teamId: text('team_id').primaryKey(),
    checkedAt: integer('checked_at').notNull(),
    inStep: integer('in_step', { mode: 'boolean' }).notNull(),
    /** Outbox rows the account had not copied to D1 yet when it was checked. */
    pending: integer('pending').notNull().default(0),
    differences: text('differences', { mode: 'json' }).$type<string[]>().notNull(),
  },
  (t) => [index('account_checks_in_step_idx').on(t.inStep, t.teamId)],
);

export type Organization = typeof organizations.$inferSelect;
export type Team = typeof teams.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type Model = typeof models.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type LlmCall = typeof llmCalls.$inferSelect;
export type CreditReport = typeof creditReports.$inferSelect;
export type AccountCheck = typeof accountChecks.$inferSelect;
