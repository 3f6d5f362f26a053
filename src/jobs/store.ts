/** The jobs aggregate's SQL: a job, its calls, a team's job history, and the guarded writes a key makes. */
import { usableKey } from '../auth/rule';
import { AVAILABLE, JOB_OPEN_SQL } from '../billing/budget';
import { type JobStatus, jobs, llmCalls, teams } from '../db/schema';
import { tableRows } from '../db/rows';
import { first, namedSql, rows, write } from '../db/statement';

const byId = namedSql('SELECT * FROM jobs WHERE id = :jobId');
const callsOf = namedSql('SELECT * FROM llm_calls WHERE job_id = :jobId ORDER BY created_at');
const callOf = namedSql('SELECT * FROM llm_calls WHERE job_id = :jobId AND id = :callId');
const teamOf = namedSql('SELECT t.* FROM teams t WHERE t.id = (SELECT team_id FROM jobs WHERE id = :jobId)');

export const jobById = (jobId: string) => first(tableRows(jobs, byId, { jobId }));
export const callsOfJob = (jobId: string) => tableRows(llmCalls, callsOf, { jobId });
export const callOfJob = (jobId: string, callId: string) => first(tableRows(llmCalls, callOf, { jobId, callId }));
/** The team a job belongs to (for its costs' credits remaining). */
export const teamOfJob = (jobId: string) => first(tableRows(teams, teamOf, { jobId }));

const page = namedSql(`SELECT * FROM jobs
  WHERE team_id = :teamId AND (:status IS NULL OR status = :status)
    AND (:afterAt IS NULL OR created_at < :afterAt OR (created_at = :afterAt AND id < :afterId))
  ORDER BY created_at DESC, id DESC LIMIT :limit`);

/** A page of the team's jobs, newest first; `after` is the (created_at, id) of the last row shown. */
export const jobsPage = (teamId: string, opts: { status?: JobStatus; limit: number; after: [number, string] | null }) =>
  tableRows(jobs, page, {
    teamId,
    status: opts.status ?? null,
    afterAt: opts.after?.[0] ?? null,
    afterId: opts.after?.[1] ?? null,
    limit: opts.limit,
  });

const open = namedSql(`
  INSERT INTO jobs (id, team_id, key_id, job_type, user_id, status, metadata, created_at)
  SELECT :jobId, t.id, k.id, :jobType, :userId, 'pending', :metadata, :now
  FROM api_keys k JOIN teams t ON t.id = k.team_id
  WHERE k.key_hash = :keyHash AND ${usableKey('k', 't')} AND t.id = coalesce(:teamId, k.team_id)
    AND ${AVAILABLE} >= ${JOB_OPEN_SQL}`);

export interface NewJob {
  id: string;
  /** Null: the key's own team. */
  teamId: string | null;
  jobType: string;
  userId: string | null;
  metadata: Record<string, unknown> | null;
}

/**
 * A pending job for the key's team, inserted only when the key may act for that team and the
 * team has what opening a job needs (billing/budget.ts). Its count is 0 otherwise.
 */
export const openJobRow = (keyHash: string, job: NewJob, now: number) =>
  write(open, {
    keyHash,
    now,
    jobId: job.id,
    teamId: job.teamId,
    jobType: job.jobType,
    userId: job.userId,
    metadata: job.metadata ? JSON.stringify(job.metadata) : null,
  });

const patch = namedSql(`
  UPDATE jobs SET metadata = json_patch(coalesce(metadata, '{}'), :patch)
  WHERE id = :jobId AND team_id = (
    SELECT k.team_id FROM api_keys k JOIN teams t ON t.id = k.team_id
    WHERE k.key_hash = :keyHash AND ${usableKey('k', 't')})`);

/**
 * Merges `patch` into a job's metadata (SQLite `json_patch`, RFC 7396), only when the key with
 * this hash may act and belongs to the job's team: an unauthorised request writes nothing.
 */
export const patchJobMetadata = (keyHash: string, jobId: string, metadata: Record<string, unknown>, now: number) =>
  write(patch, { keyHash, jobId, now, patch: JSON.stringify(metadata) });

const stale = namedSql(`SELECT id, team_id AS teamId FROM jobs
  WHERE status IN ('pending', 'in_progress') AND created_at < :cutoff ORDER BY created_at LIMIT :limit`);

/** Open jobs created before `cutoff`, oldest first. */
export const staleJobs = (cutoff: number, limit: number) =>
  rows<{ id: string; teamId: string }>(stale, { cutoff, limit });
