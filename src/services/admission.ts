/**
 * Admission of one LLM call: authentication, job and model checks, rate limits, the per-team
 * concurrency cap and credit holds, all in ONE D1 batch (one round trip, one transaction).
 *
 * The batch's gate is a row in `active_streams` for the call: it is inserted only when every
 * rule holds, and the writes after it (the new job, its hold, the call's hold) happen only if
 * that row exists. Limits are enforced by that SQL; the reads at the end of the batch only
 * explain a refusal (which error, which `Retry-After`). Rate limits and the concurrency cap live
 * in D1 rather than in isolate memory so that every isolate sees the same counts, and they join
 * the batch the call needs anyway, so they cost no extra round trip (a Durable Object would).
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { admittedCallHoldsSql } from '../billing/credits';
import { holdEstimate } from '../billing/metering';
import { roughPromptTokens } from '../billing/tokens';
import { namedSql, prepareNamed, stmt } from '../db/raw';
import { fromRowJson, rowJson } from '../db/rows';
import { type ApiKey, type Job, type Model, type Team, apiKeys, jobs, models, rateWindows, teams } from '../db/schema';
import type { Db } from '../db/client';
import { ApiError, conflict, forbidden, insufficientCredits } from '../errors';
import { newId } from '../lib/crypto';
import type { ChatParams } from '../schemas/chat';
import { requireModel } from './models';
import { requireJob } from './jobs';
import { KEY_USE_GRANULARITY_MS, requirePrincipal, requireSameTeam } from './principal';
import { keyUseIsFresh } from './warm';

/** An in-flight row older than this no longer counts against the concurrency cap (its isolate died). */
export const STREAM_SLOT_TTL_MS = 10 * 60_000;
export const RATE_WINDOW_MS = 60_000;

export const windowStart = (now: number) => now - (now % RATE_WINDOW_MS);

export interface NewJob {
  id: string;
  /** Null: the key's own team. */
  teamId: string | null;
  jobType: string;
  userId: string | null;
  metadata: Record<string, unknown> | null;
}

export interface AdmissionRequest {
  keyHash: string;
  alias: string;
  params: ChatParams;
  now: number;
  /** A call on an existing job... */
  jobId?: string;
  /** ...or on a job created in the same batch (create-and-call, /v1). */
  newJob?: NewJob;
}

export interface Admitted {
  callId: string;
  key: ApiKey;
  team: Team;
  model: Model;
  job: Pick<Job, 'id' | 'teamId'>;
  windowStart: number;
}

/** What one call would hold in a consumption mode, over teams `t` and models `m` (`:p`/`:o` tokens). */
const USD = '(((:p * m.input_price_per_mtok + :o * m.output_price_per_mtok) / 1000000.0) * t.credits_per_dollar)';
const CALL_HOLD = `(CASE t.budget_mode
    WHEN 'consumption_tokens' THEN max(1, (:p + :o + t.tokens_per_credit - 1) / t.tokens_per_credit)
    WHEN 'consumption_usd' THEN max(1, CAST(${USD} AS INTEGER) + (${USD} > CAST(${USD} AS INTEGER)))
    ELSE 0 END)`;

const allowed = (column: string) =>
  `(${column} IS NULL OR EXISTS (SELECT 1 FROM json_each(${column}) WHERE value = :alias))`;
const TEAM_SCOPE = "'team:' || t.id";
const KEY_SCOPE = "'key:' || k.id";
const windowCount = (scope: string, column: 'requests' | 'tokens') =>
  `coalesce((SELECT ${column} FROM rate_windows WHERE scope = ${scope} AND window_start = :w), 0)`;
const ADMITTED = 'EXISTS (SELECT 1 FROM active_streams WHERE call_id = :callId)';

/**
 * Admission's statements, written once per isolate for each of its two shapes (a call on a new
 * job or on an existing one); a request only binds its values (`admissionValues`).
 */
function admissionSql(newJob: boolean) {
  const teamOf = newJob ? 'coalesce(:jobTeamId, k.team_id)' : '(SELECT team_id FROM jobs WHERE id = :jobId)';
  const jobOk = newJob
    ? '1'
    : "EXISTS (SELECT 1 FROM jobs WHERE id = :jobId AND team_id = t.id AND status IN ('pending', 'in_progress'))";
  const creditsNeeded = newJob
    ? `CASE WHEN t.budget_mode = 'job_based' THEN t.credits_per_job ELSE ${CALL_HOLD} END`
    : CALL_HOLD;
  const [holdInsert, holdCount] = admittedCallHoldsSql(CALL_HOLD, newJob);
  return {
    // One upsert counts the request in the team's and the key's windows, for those with limits.
    countRequest: namedSql(`
      INSERT INTO rate_windows (scope, window_start, requests, tokens)
      SELECT ${TEAM_SCOPE}, :w, 1, 0 FROM api_keys k JOIN teams t ON t.id = k.team_id
      WHERE k.key_hash = :keyHash AND (t.rpm_limit IS NOT NULL OR t.tpm_limit IS NOT NULL)
      UNION ALL
      SELECT ${KEY_SCOPE}, :w, 1, 0 FROM api_keys k JOIN teams t ON t.id = k.team_id
      WHERE k.key_hash = :keyHash AND (k.rpm_limit IS NOT NULL OR k.tpm_limit IS NOT NULL)
      ON CONFLICT (scope, window_start) DO UPDATE SET requests = requests + 1`),
    // The gate: every rule, in one statement.
    gate: namedSql(`
      INSERT INTO active_streams (call_id, team_id, started_at)
      SELECT :callId, t.id, :now
      FROM api_keys k JOIN teams t ON t.id = ${teamOf} JOIN models m ON m.alias = :alias
      WHERE k.key_hash = :keyHash AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > :now)
        AND t.id = k.team_id AND t.status = 'active' AND m.enabled = 1
        AND ${allowed('t.allowed_models')} AND ${allowed('k.allowed_models')}
        AND ${jobOk}
        AND (t.rpm_limit IS NULL OR ${windowCount(TEAM_SCOPE, 'requests')} <= t.rpm_limit)
        AND (k.rpm_limit IS NULL OR ${windowCount(KEY_SCOPE, 'requests')} <= k.rpm_limit)
        AND (t.tpm_limit IS NULL OR ${windowCount(TEAM_SCOPE, 'tokens')} < t.tpm_limit)
        AND (k.tpm_limit IS NULL OR ${windowCount(KEY_SCOPE, 'tokens')} < k.tpm_limit)
        AND (t.max_concurrent_streams IS NULL OR (SELECT count(*) FROM active_streams
              WHERE team_id = t.id AND started_at > :slotsSince) < t.max_concurrent_streams)
        AND t.credits_balance - t.credits_held >= ${creditsNeeded}`),
    job: namedSql(
      newJob
        ? `INSERT INTO jobs (id, team_id, key_id, job_type, user_id, status, metadata, created_at)
          SELECT :jobId, s.team_id, k.id, :jobType, :userId, 'in_progress', :metadata, :now
          FROM active_streams s JOIN api_keys k ON k.key_hash = :keyHash
          WHERE s.call_id = :callId`
        : `UPDATE jobs SET status = 'in_progress' WHERE id = :jobId AND status = 'pending' AND ${ADMITTED}`,
    ),
    holdInsert: namedSql(holdInsert),
    holdCount: namedSql(holdCount),
    // The key's last use, at most one write a minute (as noteKeyUse in principal.ts).
    keyUse: namedSql(`UPDATE api_keys SET last_used_at = :now
      WHERE key_hash = :keyHash AND (last_used_at IS NULL OR last_used_at < :usedBefore) AND ${ADMITTED}`),
    // After the writes, one read of what the decision saw: the key, its team, the model and
    // the job, as JSON rows (src/db/rows.ts).
    decision: namedSql(`SELECT
      (SELECT ${rowJson(apiKeys, 'k')} FROM api_keys k WHERE k.key_hash = :keyHash) AS key,
      (SELECT ${rowJson(teams, 't')} FROM teams t WHERE t.id = (SELECT team_id FROM api_keys WHERE key_hash = :keyHash)) AS team,
      (SELECT ${rowJson(models, 'm')} FROM models m WHERE m.alias = :alias) AS model,
      (SELECT ${rowJson(jobs, 'j')} FROM jobs j WHERE j.id = :jobId) AS job`),
  };
}

let forNewJob: ReturnType<typeof admissionSql> | null = null;
let forExistingJob: ReturnType<typeof admissionSql> | null = null;

/** Every value admission's statements name, for this request. */
function admissionValues(req: AdmissionRequest, callId: string, w: number) {
  const { keyHash, alias, now, newJob } = req;
  const { promptTokens: p, outputTokens: o } = holdEstimate(roughPromptTokens(req.params), req.params.max_tokens);
  return {
    callId,
    keyHash,
    alias,
    now,
    w,
    p,
    o,
    jobId: newJob?.id ?? req.jobId!,
    jobTeamId: newJob?.teamId ?? null,
    jobType: newJob?.jobType ?? null,
    userId: newJob?.userId ?? null,
    metadata: newJob?.metadata ? JSON.stringify(newJob.metadata) : null,
    slotsSince: now - STREAM_SLOT_TTL_MS,
    usedBefore: now - KEY_USE_GRANULARITY_MS,
    jobHoldId: newId('hold'),
    callHoldId: newId('hold'),
  };
}

interface DecisionRow {
  key: string | null;
  team: string | null;
  model: string | null;
  job: string | null;
}

/**
 * Admits a call or throws the reason it may not run, in one D1 batch of this request's own.
 * (Batches are not shared between concurrent requests: a waiter resumes inside the request
 * that settled its promise, where the runtime refuses its own I/O. See the README's
 * performance notes.)
 */
export async function admitCall(db: Db, req: AdmissionRequest): Promise<Admitted> {
  const { keyHash, alias, now, newJob } = req;
  const callId = newId('call');
  const w = windowStart(now);
  const values = admissionValues(req, callId, w);
  const jobId = values.jobId;
  const q = newJob ? (forNewJob ??= admissionSql(true)) : (forExistingJob ??= admissionSql(false));
  const d1 = db.$client;
  const results = await d1.batch([
    prepareNamed(d1, q.countRequest, values),
    prepareNamed(d1, q.gate, values),
    prepareNamed(d1, q.job, values),
    prepareNamed(d1, q.holdInsert, values),
    prepareNamed(d1, q.holdCount, values),
    // Not even sent while the `last_used_at` this isolate last read is that fresh.
    ...(keyUseIsFresh(keyHash, now) ? [] : [prepareNamed(d1, q.keyUse, values)]),
    prepareNamed(d1, q.decision, values),
  ]);

  const gate = results[1] as D1Result;
  const seen = (results.at(-1) as D1Result<DecisionRow>).results[0];
  const keyRow = fromRowJson(apiKeys, seen?.key);
  const teamRow = fromRowJson(teams, seen?.team);
  const modelRows = [fromRowJson(models, seen?.model)].filter((m) => m !== null);
  const jobRows = [fromRowJson(jobs, seen?.job)].filter((j) => j !== null);
  const found = keyRow && teamRow ? { key: keyRow, team: teamRow } : null;
  const principal = requirePrincipal(
    found
      ? [
          {
            keyId: found.key.id,
            teamId: found.key.teamId,
            revokedAt: found.key.revokedAt,
            expiresAt: found.key.expiresAt,
            teamStatus: found.team.status,
          },
        ]
      : [],
    now,
  );
  const { key, team } = found!;
  let job: Pick<Job, 'id' | 'teamId'>;
  if (newJob) {
    if (newJob.teamId !== null) requireSameTeam(principal, newJob.teamId);
    job = { id: newJob.id, teamId: team.id };
  } else {
    const existing = requireJob(jobRows, principal, jobId);
    if (gate.meta.changes !== 1 && existing.status !== 'pending' && existing.status !== 'in_progress')
      throw conflict(`Job '${jobId}' is ${existing.status}; it accepts no more calls`, 'job_not_active');
    job = existing;
  }
  const model = requireModel(modelRows, alias);
  for (const list of [team.allowedModels, key.allowedModels]) {
    if (list && !list.includes(alias)) throw forbidden(`This key may not use model '${alias}'`, 'model_not_allowed');
  }
  if (gate.meta.changes === 1) return { callId, key, team, model, job, windowStart: w };
  // Refused: a second, read-only round trip finds out which rule said no.
  const [windows, inFlight] = await db.batch([
    db
      .select()
      .from(rateWindows)
      .where(and(inArray(rateWindows.scope, [`team:${team.id}`, `key:${key.id}`]), eq(rateWindows.windowStart, w))),
    stmt(
      db,
      sql`SELECT count(*) AS n FROM active_streams WHERE team_id = ${team.id} AND started_at > ${now - STREAM_SLOT_TTL_MS}`,
    ),
  ]);
  throw refusal(team, key, windows, (inFlight as D1Result<{ n: number }>).results[0]?.n ?? 0, now);
}

/** Why the gate said no, in the order the rules are checked. */
function refusal(
  team: Team,
  key: ApiKey,
  windows: (typeof rateWindows.$inferSelect)[],
  inFlight: number,
  now: number,
): ApiError {
  const used = (scope: string) => windows.find((r) => r.scope === scope) ?? { requests: 0, tokens: 0 };
  const retryAfter = String(Math.max(1, Math.ceil((windowStart(now) + RATE_WINDOW_MS - now) / 1000)));
  const limited = (what: string) =>
    new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', `Rate limit reached: ${what}`, null, {
      'retry-after': retryAfter,
    });
  const t = used(`team:${team.id}`);
  const k = used(`key:${key.id}`);
  if (team.rpmLimit !== null && t.requests > team.rpmLimit)
    return limited(`${team.rpmLimit} requests per minute for this team`);
  if (key.rpmLimit !== null && k.requests > key.rpmLimit)
    return limited(`${key.rpmLimit} requests per minute for this key`);
  if (team.tpmLimit !== null && t.tokens >= team.tpmLimit)
    return limited(`${team.tpmLimit} tokens per minute for this team`);
  if (key.tpmLimit !== null && k.tokens >= key.tpmLimit)
    return limited(`${key.tpmLimit} tokens per minute for this key`);
  if (team.maxConcurrentStreams !== null && inFlight >= team.maxConcurrentStreams) {
    return new ApiError(
      429,
      'rate_limit_error',
      'too_many_concurrent_streams',
      `This team may run ${team.maxConcurrentStreams} calls at once`,
      null,
      { 'retry-after': '1' },
    );
  }
  const err = insufficientCredits(
    team.creditsHeld > 0
      ? 'Not enough credits available now: other calls hold credits until they finish'
      : 'Not enough credits available for this team',
  );
  // Credits held by calls in flight come back when they settle: worth retrying shortly.
  return team.creditsHeld > 0 ? new ApiError(402, err.type, err.code, err.message, null, { 'retry-after': '2' }) : err;
}

const freeSlot = namedSql('DELETE FROM active_streams WHERE call_id = :callId');
const addTokens = namedSql(`UPDATE rate_windows SET tokens = tokens + :tokens
  WHERE window_start = :w AND scope IN ('team:' || :teamId, 'key:' || :keyId)`);

/** Streams that finished: their slot frees at once (an abandoned one expires after STREAM_SLOT_TTL_MS). */
export const releaseSlot = (db: Db, callId: string) => prepareNamed(db.$client, freeSlot, { callId });

/** Adds a finished call's tokens to the rate windows it was admitted in (for tokens-per-minute limits). */
export const countTokens = (db: Db, admitted: Pick<Admitted, 'team' | 'key' | 'windowStart'>, tokens: number) =>
  prepareNamed(db.$client, addTokens, {
    tokens,
    w: admitted.windowStart,
    teamId: admitted.team.id,
    keyId: admitted.key.id,
  });
