/**
 * Admission of one LLM call: the key, the job and the model, rate limits, the per-team
 * concurrency cap and the credit holds, all in ONE batch in the team's account (one round trip,
 * one transaction; accounts/account/), which D1 does not see until after.
 *
 * The batch's gate is a row in `active_streams` for the call: it is inserted only when every
 * rule holds, and the writes after it (the new job, its hold, the call's hold) happen only if
 * that row exists. The rules are enforced by that SQL, each written where it belongs (the key
 * in auth/rule.ts, the holds in billing/budget.ts); the read at the end of the batch only says
 * which rule refused (which error, which `Retry-After`). Rate limits and the concurrency cap
 * live in the account rather than in isolate memory so that every isolate sees the same counts.
 */
import { type Caller } from '../auth/caller';
import { noteKeyUseUnlessFresh, rememberKeyUse } from '../auth/key-use';
import { keyRefusal, modelAllowed, refusalError, requireSameTeam, usableKey } from '../auth/rule';
import { AFFORDABLE_OUTPUT_SQL, AVAILABLE, CALL_OUTPUT_SQL, JOB_HOLD_SQL, callHoldSql } from '../billing/budget';
import { admittedCallHoldsSql } from '../billing/ledger';
import { roughPromptTokens } from '../billing/tokens';
import { catalogCopy, modelNotAllowed, requireModel } from '../catalog/models';
import { fromRowJson, rowJson } from '../db/rows';
import { type ApiKey, type Job, type Model, type Team, apiKeys, jobs, models, teams } from '../db/schema';
import { type Database, batch, namedSql, rows, write } from '../db/statement';
import { ApiError, conflict, insufficientCredits } from '../errors';
import { newId } from '../lib/crypto';
import { orOtherTeams, requireJob } from '../jobs/lifecycle';
import type { NewJob } from '../jobs/store';
import type { ChatParams } from '../core/chat-params';
import type { NativeRequest } from '../providers/types';
import {
  COUNT_REQUEST,
  KEY_SCOPE,
  TEAM_SCOPE,
  STREAM_SLOT_TTL_MS,
  type WindowCount,
  keyScope,
  rateLimited,
  rateWindows,
  streamsInFlight,
  teamScope,
  windowCount,
  windowStart,
} from './limits';

export interface AdmissionRequest {
  caller: Caller;
  alias: string;
  params: ChatParams;
  /** The client's own request, when it speaks a provider's wire format (calls/open.ts sends it to that provider). */
  native?: NativeRequest;
  now: number;
  /** A call on an existing job... */
  jobId?: string;
  /** ...or on a job created in the same batch (create-and-call, /v1). */
  newJob?: NewJob;
  /** The call's id, when it was chosen before admission (a resumable call's object is named by it). */
  callId?: string;
}

export interface Admitted {
  callId: string;
  key: ApiKey;
  team: Team;
  model: Model;
  job: Pick<Job, 'id' | 'teamId'>;
  windowStart: number;
  /** The output tokens the call may produce (sent upstream as `max_tokens`); null: no limit set. */
  maxTokens: number | null;
}

/**
 * Admission's statements, written once per isolate for each of its two shapes (a call on a new
 * job or on an existing one); a request only binds its values (`admissionValues`).
 */
function admissionSql(newJob: boolean) {
  const teamOf = newJob ? 'coalesce(:jobTeamId, k.team_id)' : '(SELECT team_id FROM jobs WHERE id = :jobId)';
  const jobOk = newJob
    ? '1'
    : "EXISTS (SELECT 1 FROM jobs WHERE id = :jobId AND team_id = t.id AND status IN ('pending', 'in_progress'))";
  // What the team must have available: the call's hold, and the hold of the job it creates.
  const callHold = callHoldSql('output_tokens');
  const needed = newJob ? `(${JOB_HOLD_SQL} + ${callHold})` : callHold;
  const [holdInsert, holdCount] = admittedCallHoldsSql(newJob);
  return {
    countRequest: COUNT_REQUEST,
    // The gate: every rule, in one statement. `output_tokens` is decided here, once: the hold
    // below is sized for it and the upstream is asked for no more.
    gate: namedSql(`
      INSERT INTO active_streams (call_id, team_id, started_at, output_tokens)
      SELECT :callId, t.id, :now, ${CALL_OUTPUT_SQL} AS output_tokens
      FROM api_keys k JOIN teams t ON t.id = ${teamOf} JOIN models m ON m.alias = :alias
      WHERE k.key_hash = :keyHash AND ${usableKey('k', 't')} AND t.id = k.team_id AND m.enabled = 1
        AND ${modelAllowed('k', 't', ':alias')}
        AND ${jobOk}
        AND (t.rpm_limit IS NULL OR ${windowCount(TEAM_SCOPE, 'requests')} <= t.rpm_limit)
        AND (k.rpm_limit IS NULL OR ${windowCount(KEY_SCOPE, 'requests')} <= k.rpm_limit)
        AND (t.tpm_limit IS NULL OR ${windowCount(TEAM_SCOPE, 'tokens')} < t.tpm_limit)
        AND (k.tpm_limit IS NULL OR ${windowCount(KEY_SCOPE, 'tokens')} < k.tpm_limit)
        AND (t.max_concurrent_streams IS NULL OR (SELECT count(*) FROM active_streams
              WHERE team_id = t.id AND started_at > :slotsSince) < t.max_concurrent_streams)
        AND (t.budget_mode = 'job_based' OR output_tokens >= 1)
        AND ${AVAILABLE} >= ${needed}`),
    job: namedSql(
      newJob
        ? `INSERT INTO jobs (id, team_id, key_id, job_type, user_id, status, metadata, created_at)
          SELECT :jobId, s.team_id, k.id, :jobType, :userId, 'in_progress', :metadata, :now
          FROM active_streams s JOIN api_keys k ON k.key_hash = :keyHash
          WHERE s.call_id = :callId`
        : `UPDATE jobs SET status = 'in_progress' WHERE id = :jobId AND status = 'pending'
          AND EXISTS (SELECT 1 FROM active_streams WHERE call_id = :callId)`,
    ),
    holdInsert: namedSql(holdInsert),
    holdCount: namedSql(holdCount),
    // After the writes, one read of what the decision saw: the key (and what the key rule says
    // of it), its team, the model, the job and the output allowed, as JSON rows (db/rows.ts).
    decision: namedSql(`SELECT
      (SELECT ${rowJson(apiKeys, 'k')} FROM api_keys k WHERE k.key_hash = :keyHash) AS key,
      (SELECT ${keyRefusal('k', 't')} FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = :keyHash)
        AS refusal,
      (SELECT ${modelAllowed('k', 't', ':alias')} FROM api_keys k JOIN teams t ON t.id = k.team_id
        WHERE k.key_hash = :keyHash) AS model_allowed,
      (SELECT ${rowJson(teams, 't')} FROM teams t WHERE t.id = (SELECT team_id FROM api_keys WHERE key_hash = :keyHash)) AS team,
      (SELECT ${rowJson(models, 'm')} FROM models m WHERE m.alias = :alias) AS model,
      (SELECT ${rowJson(jobs, 'j')} FROM jobs j WHERE j.id = :jobId) AS job,
      (SELECT output_tokens FROM active_streams WHERE call_id = :callId) AS output_tokens,
      EXISTS (SELECT 1 FROM active_streams WHERE call_id = :callId) AS admitted`),
  };
}

let forNewJob: ReturnType<typeof admissionSql> | null = null;
let forExistingJob: ReturnType<typeof admissionSql> | null = null;

/** Every value admission's statements name, for this request. */
function admissionValues(req: AdmissionRequest, callId: string, w: number) {
  const { caller, alias, now, newJob } = req;
  return {
    callId,
    keyHash: caller.keyHash,
    alias,
    now,
    w,
    p: roughPromptTokens(req.params),
    maxTokens: req.params.max_tokens ?? null,
    jobId: newJob?.id ?? req.jobId!,
    jobTeamId: newJob?.teamId ?? null,
    jobType: newJob?.jobType ?? null,
    userId: newJob?.userId ?? null,
    metadata: newJob?.metadata ? JSON.stringify(newJob.metadata) : null,
    slotsSince: now - STREAM_SLOT_TTL_MS,
    jobHoldId: newId('hold'),
    callHoldId: newId('hold'),
  };
}

interface DecisionRow {
  key: string | null;
  refusal: string | null;
  team: string | null;
  model: string | null;
  job: string | null;
  model_allowed: number;
  output_tokens: number | null;
  admitted: number;
}

/** Where admission runs, and what it is given. */
export interface AdmissionTarget {
  /** The team's account (accounts/account/db.ts). */
  account: Database;
  /** The catalog entry of `alias` as this isolate knows it (null: none); the account prices the call with it. */
  model: Model | null;
  /** D1, read only to explain a refusal the account cannot (a job of another team). */
  d1: D1Database;
}

/**
 * Admits a call or throws the reason it may not run, in one batch of this request's own.
 * (Batches are not shared between concurrent requests: a waiter resumes inside the request
 * that settled its promise, where the runtime refuses its own I/O; docs/performance.md.)
 */
export async function admitCall(target: AdmissionTarget, req: AdmissionRequest): Promise<Admitted> {
  const { account } = target;
  const { caller, alias, now, newJob } = req;
  const callId = req.callId ?? newId('call');
  const w = windowStart(now);
  const values = admissionValues(req, callId, w);
  const jobId = values.jobId;
  const q = newJob ? (forNewJob ??= admissionSql(true)) : (forExistingJob ??= admissionSql(false));
  const results = await batch(account, [
    catalogCopy(alias, target.model),
    ...noteKeyUseUnlessFresh(caller.keyHash, now),
    write(q.countRequest, values),
    write(q.gate, values),
    write(q.job, values),
    write(q.holdInsert, values),
    write(q.holdCount, values),
    rows<DecisionRow>(q.decision, values),
  ]);
  const seen = (results.at(-1) as DecisionRow[])[0];
  const key = fromRowJson(apiKeys, seen?.key);
  const team = fromRowJson(teams, seen?.team);
  if (!seen || !key || !team || seen.refusal) throw refusalError(seen?.refusal);
  rememberKeyUse(caller.keyHash, key.lastUsedAt);
  const admitted = seen.admitted === 1;
  let job: Pick<Job, 'id' | 'teamId'>;
  if (newJob) {
    if (newJob.teamId !== null) requireSameTeam(key, newJob.teamId);
    job = { id: newJob.id, teamId: team.id };
  } else {
    // The account holds its own team's jobs only: one it does not know may be another team's.
    const existing = requireJob(await orOtherTeams(target.d1, fromRowJson(jobs, seen.job), jobId), key, jobId);
    if (!admitted && existing.status !== 'pending' && existing.status !== 'in_progress')
      throw conflict(`Job '${jobId}' is ${existing.status}; it accepts no more calls`, 'job_not_active');
    job = existing;
  }
  const model = requireModel(fromRowJson(models, seen.model), alias);
  if (seen.model_allowed !== 1) throw modelNotAllowed(alias);
  if (admitted) return { callId, key, team, model, job, windowStart: w, maxTokens: seen.output_tokens };
  // Refused: a second, read-only round trip finds out which rule said no.
  const [windows, inFlight, affordable] = await batch(account, [
    rateWindows(team.id, key.id, w),
    streamsInFlight(team.id, now),
    rows<{ tokens: number }>(affordableOutput, { teamId: team.id, alias, p: values.p }),
  ]);
  throw refusal(team, key, windows, inFlight, now, {
    asked: req.params.max_tokens,
    affordable: affordable[0]?.tokens ?? 0,
  });
}

const affordableOutput = namedSql(
  `SELECT ${AFFORDABLE_OUTPUT_SQL} AS tokens FROM teams t, models m WHERE t.id = :teamId AND m.alias = :alias`,
);

/** Why the gate said no, in the order the rules are checked. */
function refusal(
  team: Team,
  key: ApiKey,
  windows: WindowCount[],
  inFlight: number,
  now: number,
  output: { asked: number | undefined; affordable: number },
): ApiError {
  const used = (scope: string) => windows.find((r) => r.scope === scope) ?? { requests: 0, tokens: 0 };
  const limited = (what: string) => rateLimited(what, now);
  const t = used(teamScope(team.id));
  const k = used(keyScope(key.id));
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
  return creditRefusal(team, output);
}

/**
 * 402. In a consumption mode, a caller whose own `max_tokens` the team cannot cover is told how
 * many it can: asking for that many or fewer would be admitted. Credits held by calls in flight
 * come back when they settle, so then it is worth retrying shortly.
 */
function creditRefusal(team: Team, output: { asked: number | undefined; affordable: number }): ApiError {
  const waiting = team.creditsHeld > 0;
  const message =
    team.budgetMode !== 'job_based' && output.asked !== undefined && output.affordable >= 1
      ? `This request requires more credits, or fewer max_tokens. You requested up to ${output.asked} tokens, ` +
        `but can only afford ${output.affordable}${waiting ? ' while other calls hold credits' : ''}`
      : waiting
        ? 'Not enough credits available now: other calls hold credits until they finish'
        : 'Not enough credits available for this team';
  const err = insufficientCredits(message);
  return waiting ? new ApiError(402, err.type, err.code, err.message, null, { 'retry-after': '2' }) : err;
}
