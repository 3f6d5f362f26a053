/**
 * Jobs nobody completed: a client that crashed between `create` and `complete` would hold its
 * credit forever. The cron job fails them after `JOB_TTL` seconds, which releases their holds
 * through the same statements `complete` uses.
 */
import { and, asc, inArray, lt, sql } from 'drizzle-orm';
import { stmt } from '../db/raw';
import { STREAM_SLOT_TTL_MS } from './admission';
import { jobs } from '../db/schema';
import type { Db } from '../db/client';
import { finishJobStatements } from './jobs';

export const EXPIRED_MESSAGE = 'expired after JOB_TTL';
/** Jobs expired per run; the rest wait for the next run ten minutes later. */
export const EXPIRY_BATCH = 500;
/** Batches in flight at once (D1 runs them one after another; this only hides round trips). */
const PARALLEL = 8;

/**
 * Fails `pending`/`in_progress` jobs created more than `ttlSeconds` before `now`, oldest
 * first, one `db.batch` per job so one bad row cannot undo the others. A job completed
 * meanwhile is left alone: the finish statements only move active jobs.
 */
export async function expireStaleJobs(
  db: Db,
  opts: { now: number; ttlSeconds: number; limit?: number },
): Promise<{ found: number; expired: number; errors: number }> {
  const cutoff = opts.now - opts.ttlSeconds * 1000;
  const stale = await db
    .select({ id: jobs.id, teamId: jobs.teamId })
    .from(jobs)
    .where(and(inArray(jobs.status, ['pending', 'in_progress']), lt(jobs.createdAt, cutoff)))
    .orderBy(asc(jobs.createdAt))
    .limit(opts.limit ?? EXPIRY_BATCH);

  let expired = 0;
  let errors = 0;
  for (let i = 0; i < stale.length; i += PARALLEL) {
    const results = await Promise.allSettled(
      stale
        .slice(i, i + PARALLEL)
        .map((job) =>
          db.$client.batch(
            finishJobStatements(db, job.teamId, job.id, 'failed', opts.now, { errorMessage: EXPIRED_MESSAGE }),
          ),
        ),
    );
    results.forEach((r, j) => {
      if (r.status === 'fulfilled') expired += r.value[0]!.meta.changes;
      else {
        errors++;
        console.error(JSON.stringify({ msg: 'job expiry failed', job_id: stale[i + j]?.id, error: String(r.reason) }));
      }
    });
  }
  return { found: stale.length, expired, errors };
}

/** Rate windows older than this are history; limits only read the current minute. */
const RATE_WINDOW_KEEP_MS = 5 * 60_000;

/**
 * Housekeeping for what a dead isolate can leave behind: concurrency slots of streams that never
 * settled (older than STREAM_SLOT_TTL_MS, ignored by the cap already), past rate windows, and
 * call holds older than the job TTL whose call never settled. Those holds are released (the
 * team gets the credit back) in one batch with the teams' held totals, so the books stay exact.
 */
export async function sweepStale(db: Db, opts: { now: number; ttlSeconds: number }) {
  const cutoff = opts.now - opts.ttlSeconds * 1000;
  const stale = sql`SELECT id FROM credit_holds WHERE call_id IS NOT NULL AND status = 'active' AND created_at < ${cutoff}`;
  const [slots, windows, , holds] = await db.batch([
    stmt(db, sql`DELETE FROM active_streams WHERE started_at < ${opts.now - STREAM_SLOT_TTL_MS}`),
    stmt(db, sql`DELETE FROM rate_windows WHERE window_start < ${opts.now - RATE_WINDOW_KEEP_MS}`),
    stmt(
      db,
      sql`UPDATE teams SET credits_held = credits_held -
        (SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE team_id = teams.id AND id IN (${stale}))
        WHERE id IN (SELECT team_id FROM credit_holds WHERE id IN (${stale}))`,
    ),
    stmt(db, sql`UPDATE credit_holds SET status = 'released', settled_at = ${opts.now} WHERE id IN (${stale})`),
  ]);
  return { slots: slots.meta.changes, rateWindows: windows.meta.changes, callHolds: holds.meta.changes };
}
