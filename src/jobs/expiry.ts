/**
 * Jobs nobody completed: a client that crashed between `create` and `complete` would hold its
 * credit forever. The cron job fails them after `JOB_TTL` seconds, which releases their holds
 * through the same statements `complete` uses.
 */
import { type Accounts, accountDb } from '../accounts/account/db';
import { finishJob } from '../billing/ledger';
import { batch, run } from '../db/statement';
import { staleJobs } from './store';

export const EXPIRED_MESSAGE = 'expired after JOB_TTL';
/** Jobs expired per run; the rest wait for the next run ten minutes later. */
export const EXPIRY_BATCH = 500;
/** Batches in flight at once (each in its team's account; this only hides round trips). */
const PARALLEL = 8;

/**
 * Fails `pending`/`in_progress` jobs created more than `ttlSeconds` before `now`, oldest
 * first, one batch per job so one bad row cannot undo the others. A job completed meanwhile is
 * left alone: finishing only moves open jobs.
 */
export async function expireStaleJobs(
  deps: { d1: D1Database; accounts: Accounts },
  opts: { now: number; ttlSeconds: number; limit?: number },
): Promise<{ found: number; expired: number; errors: number }> {
  // D1's copy finds them; each team's account finishes its own (and ignores one finished meanwhile).
  const stale = await run(deps.d1, staleJobs(opts.now - opts.ttlSeconds * 1000, opts.limit ?? EXPIRY_BATCH));
  let expired = 0;
  let errors = 0;
  for (let i = 0; i < stale.length; i += PARALLEL) {
    const results = await Promise.allSettled(
      stale
        .slice(i, i + PARALLEL)
        .map((job) =>
          batch(
            accountDb(deps.accounts, job.teamId, { record: 'now', jobIds: [job.id] }),
            finishJob(job, 'failed', opts.now, { errorMessage: EXPIRED_MESSAGE }),
          ),
        ),
    );
    results.forEach((r, j) => {
      if (r.status === 'fulfilled') expired += r.value[0]!;
      else {
        errors++;
        console.error(JSON.stringify({ msg: 'job expiry failed', job_id: stale[i + j]?.id, error: String(r.reason) }));
      }
    });
  }
  return { found: stale.length, expired, errors };
}
