/**
 * A job's life as its team sees it: opened (holding what its budget mode needs), finished by
 * `complete` (charged or released, once), read back with its calls and costs.
 */
import type { Caller } from '../auth/caller';
import { type Principal, requireSameTeam } from '../auth/rule';
import { finishJob, holdForJob } from '../billing/ledger';
import type { Job, JobStatus } from '../db/schema';
import { batch } from '../db/statement';
import { conflict, insufficientCredits, notFound } from '../errors';
import { newId } from '../lib/crypto';
import { booksSettled } from './settling';
import { type NewJob, callsOfJob, jobById, openJobRow, teamOfJob } from './store';
import { summarizeCosts } from './views';

/** The job, if it exists and belongs to the caller's team (otherwise 404 / 403). */
export function requireJob(job: Job | null | undefined, principal: Pick<Principal, 'teamId'>, jobId: string): Job {
  if (!job) throw notFound('job', jobId);
  requireSameTeam(principal, job.teamId);
  return job;
}

/**
 * Opens a job and holds its credit in one D1 batch with the key's check: the insert happens only
 * when the key may act for the team and the team has the credit available; otherwise the batch
 * has written nothing. Calls that create their own job go through admission instead.
 */
export async function openJob(d1: D1Database, caller: Caller, input: Omit<NewJob, 'id'>, now = Date.now()) {
  const job = { ...input, id: newId('job') };
  const [principal, inserted] = await caller.batch(
    d1,
    [openJobRow(caller.keyHash, job, now), ...holdForJob(job.id, now)],
    now,
  );
  if (input.teamId !== null) requireSameTeam(principal, input.teamId);
  if (inserted !== 1) throw insufficientCredits();
  return { jobId: job.id, createdAt: now };
}

/** `POST /api/jobs/{id}/complete`: idempotent for the same status, 409 for a different one. */
export async function completeJob(
  d1: D1Database,
  caller: Caller,
  jobId: string,
  status: 'completed' | 'failed',
  extra: { errorMessage?: string | null; metadata?: Record<string, unknown> | null },
  now = Date.now(),
) {
  await booksSettled(jobId);
  // Authorise first: the settle statements must never run for another team's job.
  const [principal, found] = await caller.batch(d1, [jobById(jobId)], now);
  const job = requireJob(found, principal, jobId);
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') {
    if (job.status !== status) throw conflict(`Job '${jobId}' is already ${job.status}`, 'job_already_finished');
  } else {
    await batch(d1, finishJob(job, status, now, extra));
  }
  return jobReport(d1, jobId, status);
}

/** The job, its calls and its costs, as `complete` and `create-and-call` return them. */
export async function jobReport(d1: D1Database, jobId: string, expectStatus?: JobStatus) {
  const [job, calls, team] = await batch(d1, [jobById(jobId), callsOfJob(jobId), teamOfJob(jobId)]);
  if (expectStatus && job!.status !== expectStatus)
    throw conflict(`Job '${jobId}' is already ${job!.status}`, 'job_already_finished');
  return { job: job!, calls, costs: summarizeCosts(job!, calls, team!) };
}

/** A job the caller's team owns, its calls and its costs, in one batch with the key's check. */
export async function readJob(d1: D1Database, caller: Caller, jobId: string) {
  const [principal, job, calls, team] = await caller.batch(d1, [jobById(jobId), callsOfJob(jobId), teamOfJob(jobId)]);
  const owned = requireJob(job, principal, jobId);
  return { job: owned, calls, costs: summarizeCosts(owned, calls, team!) };
}
