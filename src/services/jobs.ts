import { namedSql, prepareNamed, stmt } from '../db/raw';
import { asc, eq, sql } from 'drizzle-orm';
import { ACTIVE_JOB_HOLDS, holdForJob, settleJobHolds } from '../billing/credits';
import { type Job, type JobStatus, jobs, llmCalls, teams } from '../db/schema';
import type { Db } from '../db/client';
import { conflict, insufficientCredits, notFound } from '../errors';
import { newId } from '../lib/crypto';
import { type Principal, requirePrincipal, requireSameTeam, selectPrincipal } from './principal';

export interface CreateJobInput {
  /** Null: the key's own team (the OpenAI-compatible surface names no team). */
  teamId: string | null;
  jobType: string;
  userId?: string | null;
  metadata?: Record<string, unknown> | null;
}

/**
 * Creates a job and holds its credit in one D1 batch, which also authenticates the key: the
 * insert only happens when the key is valid for the team and the team has the credit available
 * (a job's credits in `job_based`, at least one credit in the consumption modes, whose calls
 * hold their own). When it does not, the batch has written nothing and the read in it tells
 * which error to return. Calls that create their own job go through admission.ts instead.
 */
export async function createJob(db: Db, keyHash: string, input: CreateJobInput, now = Date.now()) {
  const jobId = newId('job');
  const metadata = input.metadata ? JSON.stringify(input.metadata) : null;
  const [principalRows, inserted] = await db.batch([
    selectPrincipal(db, keyHash),
    stmt(
      db,
      sql`
      INSERT INTO jobs (id, team_id, key_id, job_type, user_id, status, metadata, created_at)
      SELECT ${jobId}, t.id, k.id, ${input.jobType}, ${input.userId ?? null}, 'pending', ${metadata}, ${now}
      FROM api_keys k JOIN teams t ON t.id = k.team_id
      WHERE k.key_hash = ${keyHash} AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ${now})
        AND t.id = coalesce(${input.teamId}, k.team_id) AND t.status = 'active'
        AND t.credits_balance - t.credits_held >= CASE WHEN t.budget_mode = 'job_based' THEN t.credits_per_job ELSE 1 END`,
    ),
    ...holdForJob(db, jobId, now),
  ]);
  const principal = requirePrincipal(principalRows);
  if (input.teamId !== null) requireSameTeam(principal, input.teamId);
  if (inserted.meta.changes !== 1) throw insufficientCredits();
  return { jobId, createdAt: now, principal };
}

/** The job, if it exists and belongs to the caller's team (otherwise 404 / 403). */
export function requireJob(rows: Job[], principal: Principal, jobId: string): Job {
  const job = rows[0];
  if (!job) throw notFound('job', jobId);
  requireSameTeam(principal, job.teamId);
  return job;
}

export const selectJob = (db: Db, jobId: string) => db.select().from(jobs).where(eq(jobs.id, jobId)).limit(1);
export const selectCalls = (db: Db, jobId: string) =>
  db.select().from(llmCalls).where(eq(llmCalls.jobId, jobId)).orderBy(asc(llmCalls.createdAt));
export const selectTeam = (db: Db, teamId: string) => db.select().from(teams).where(eq(teams.id, teamId)).limit(1);

const finishJob = namedSql(`
  UPDATE jobs SET status = :status, completed_at = :now, error_message = :errorMessage,
    metadata = CASE WHEN :patch IS NULL THEN metadata ELSE json_patch(coalesce(metadata, '{}'), :patch) END,
    credits_charged = credits_charged + CASE WHEN :status = 'completed' THEN ${ACTIVE_JOB_HOLDS} ELSE 0 END
  WHERE id = :jobId AND status IN ('pending', 'in_progress')`);

/**
 * Moves a job to a terminal status and settles its credits, in one statement batch (statements
 * for the D1 client's own `batch`). Only `pending`/`in_progress` jobs move, so racing or
 * repeated calls settle exactly once.
 */
export function finishJobStatements(
  db: Db,
  teamId: string,
  jobId: string,
  status: Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>,
  now: number,
  extra: { errorMessage?: string | null; metadata?: Record<string, unknown> | null } = {},
) {
  const values = {
    status,
    now,
    jobId,
    errorMessage: extra.errorMessage ?? null,
    patch: extra.metadata ? JSON.stringify(extra.metadata) : null,
  };
  return [prepareNamed(db.$client, finishJob, values), ...settleJobHolds(db, teamId, jobId, now)];
}

/** `POST /api/jobs/{id}/complete`: idempotent for the same status, 409 for a different one. */
export async function completeJob(
  db: Db,
  keyHash: string,
  jobId: string,
  status: 'completed' | 'failed',
  extra: { errorMessage?: string | null; metadata?: Record<string, unknown> | null },
  now = Date.now(),
) {
  // Authorise first: the settle statements must never run for another team's job.
  const [principalRows, jobRows] = await db.batch([selectPrincipal(db, keyHash), selectJob(db, jobId)]);
  const principal = requirePrincipal(principalRows);
  const job = requireJob(jobRows, principal, jobId);
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') {
    if (job.status !== status) throw conflict(`Job '${jobId}' is already ${job.status}`, 'job_already_finished');
  } else {
    await db.$client.batch(finishJobStatements(db, job.teamId, jobId, status, now, extra));
  }
  return jobReport(db, jobId, job.teamId, status);
}

/** The job, its calls and its costs, as `complete` and `create-and-call` return them. */
export async function jobReport(db: Db, jobId: string, teamId: string, expectStatus?: JobStatus) {
  const [jobRows, calls, teamRows] = await db.batch([
    selectJob(db, jobId),
    selectCalls(db, jobId),
    selectTeam(db, teamId),
  ]);
  const job = jobRows[0]!;
  if (expectStatus && job.status !== expectStatus)
    throw conflict(`Job '${jobId}' is already ${job.status}`, 'job_already_finished');
  const team = teamRows[0]!;
  return { job, calls, costs: summarizeCosts(job, calls, team) };
}

export function summarizeCosts(job: Job, calls: (typeof llmCalls.$inferSelect)[], team: typeof teams.$inferSelect) {
  const ok = calls.filter((c) => c.status === 'success');
  const totalLatency = calls.reduce((n, c) => n + c.latencyMs, 0);
  return {
    total_calls: calls.length,
    successful_calls: ok.length,
    failed_calls: calls.length - ok.length,
    total_tokens: calls.reduce((n, c) => n + c.promptTokens + c.completionTokens, 0),
    total_cost_usd: Math.round(calls.reduce((n, c) => n + c.costUsd, 0) * 1e6) / 1e6,
    avg_latency_ms: calls.length ? Math.round(totalLatency / calls.length) : 0,
    credits_charged: job.creditsCharged,
    credits_remaining: team.creditsBalance - team.creditsHeld,
  };
}

export function callView(c: typeof llmCalls.$inferSelect) {
  return {
    call_id: c.id,
    model: c.model,
    purpose: c.purpose,
    status: c.status,
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    usage_source: c.usageSource,
    cost_usd: c.costUsd,
    ttft_ms: c.ttftMs,
    latency_ms: c.latencyMs,
    finish_reason: c.finishReason,
    error: c.error,
  };
}

export function jobView(job: Job) {
  return {
    job_id: job.id,
    team_id: job.teamId,
    job_type: job.jobType,
    user_id: job.userId,
    status: job.status,
    metadata: job.metadata ?? null,
    error_message: job.errorMessage,
    credits_charged: job.creditsCharged,
    created_at: new Date(job.createdAt).toISOString(),
    completed_at: job.completedAt ? new Date(job.completedAt).toISOString() : null,
  };
}
