/**
 * A job's life as its team sees it: opened (holding what its budget mode needs), finished by
 * `complete` (charged or released, once), read back with its calls and costs.
 */
import { type Accounts, keyAccount } from '../accounts/account/db';
import type { Caller } from '../auth/caller';
import { type Principal, requireSameTeam } from '../auth/rule';
import { finishJob, holdForJob } from '../billing/ledger';
import type { Job, JobStatus } from '../db/schema';
import { type Database, batch, run } from '../db/statement';
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

/** Where a job's state lives: D1 for reading it back, the team's accounts for moving it. */
export interface JobDeps {
  d1: D1Database;
  accounts: Accounts;
}

/**
 * Opens a job and holds its credit in one batch with the key's check, in the team's account: the
 * insert happens only when the key may act for the team and the team has the credit available;
 * otherwise the batch has written nothing. Calls that create their own job go through admission
 * instead.
 */
export async function openJob(deps: JobDeps, caller: Caller, input: Omit<NewJob, 'id'>, now = Date.now()) {
  const job = { ...input, id: newId('job') };
  const [principal, inserted] = await caller.batch(
    await keyAccount(deps, caller.keyHash),
    [openJobRow(caller.keyHash, job, now), ...holdForJob(job.id, now)],
    now,
  );
  if (input.teamId !== null) requireSameTeam(principal, input.teamId);
  if (inserted !== 1) throw insufficientCredits();
  return { jobId: job.id, createdAt: now };
}

/** `POST /api/jobs/{id}/complete`: idempotent for the same status, 409 for a different one. */
export async function completeJob(
  deps: JobDeps,
  caller: Caller,
  jobId: string,
  status: 'completed' | 'failed',
  extra: { errorMessage?: string | null; metadata?: Record<string, unknown> | null },
  now = Date.now(),
) {
  await booksSettled(jobId);
  // Authorise first: the settle statements must never run for another team's job.
  const account = await keyAccount(deps, caller.keyHash, { record: 'now', jobIds: [jobId] });
  const [principal, found] = await caller.batch(account, [jobById(jobId)], now);
  const job = requireJob(await orOtherTeams(deps.d1, found, jobId), principal, jobId);
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') {
    if (job.status !== status) throw conflict(`Job '${jobId}' is already ${job.status}`, 'job_already_finished');
  } else {
    await batch(account, finishJob(job, status, now, extra));
  }
  return jobReport({ d1: deps.d1, account }, jobId, status);
}

/**
 * A job a team's account does not have may be another team's: D1 says (for a 403 rather than a
 * 404). A job the account has is returned as the account has it.
 */
export async function orOtherTeams(d1: D1Database, found: Job | null | undefined, jobId: string) {
  return found ?? (await run(d1, jobById(jobId)));
}

/**
 * A job as its team's account has it (null: not there), with its calls from D1 and from the
 * account (which keeps a call's row until D1 has it), so a read right after a write does not wait
 * for the copy.
 */
async function recentJob(deps: { d1: D1Database; account: Database }, jobId: string) {
  const [[job, uncopied, team], copied] = await Promise.all([
    batch(deps.account, [jobById(jobId), callsOfJob(jobId), teamOfJob(jobId)]),
    run(deps.d1, callsOfJob(jobId)),
  ]);
  if (!job || !team) return null;
  const calls = [...copied.filter((c) => !uncopied.some((u) => u.id === c.id)), ...uncopied].sort(
    (a, b) => a.createdAt - b.createdAt,
  );
  return { job, calls, costs: summarizeCosts(job, calls, team) };
}

/** The job, its calls and its costs, as `complete` and `create-and-call` return them, right after writing them. */
export async function jobReport(deps: { d1: D1Database; account: Database }, jobId: string, expectStatus?: JobStatus) {
  const report = await recentJob(deps, jobId);
  if (!report) throw notFound('job', jobId);
  if (expectStatus && report.job.status !== expectStatus)
    throw conflict(`Job '${jobId}' is already ${report.job.status}`, 'job_already_finished');
  return report;
}

/**
 * A job the caller's team owns, its calls and its costs, in one D1 batch with the key's check. A
 * job D1 does not have yet (opened by a call a moment ago, its copy on the way) is read from the
 * team's account.
 */
export async function readJob(deps: JobDeps, caller: Caller, jobId: string) {
  const [principal, job, calls, team] = await caller.batch(deps.d1, [
    jobById(jobId),
    callsOfJob(jobId),
    teamOfJob(jobId),
  ]);
  if (!job) {
    const account = await keyAccount(deps, caller.keyHash, { record: 'soon' });
    const recent = await recentJob({ d1: deps.d1, account }, jobId);
    if (recent) return { ...recent, job: requireJob(recent.job, principal, jobId) };
  }
  const owned = requireJob(job, principal, jobId);
  return { job: owned, calls, costs: summarizeCosts(owned, calls, team!) };
}
