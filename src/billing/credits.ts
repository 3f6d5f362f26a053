/**
 * Every statement that moves credits. Each function returns statements to run inside one
 * `db.batch` (one D1 transaction) together with the row that justifies the movement, so a
 * team's `credits_balance` always equals the sum of its ledger and `credits_held` the sum
 * of its active holds. Guards live in the SQL itself, so concurrent requests cannot
 * overspend: D1 runs one write transaction at a time, and a CHECK constraint on `teams`
 * refuses an overdrawn balance outright.
 */
import { stmt } from '../db/raw';
import { sql } from 'drizzle-orm';
import type { Db } from '../env';
import { newId } from '../lib/crypto';

/**
 * Holds the team's per-job credits for a job inserted earlier in the same batch (the team
 * is the job's). Does nothing when that insert was refused, so callers only check the
 * insert's result.
 */
export function holdForJob(db: Db, jobId: string, now: number) {
  const holdId = newId('hold');
  return [
    stmt(
      db,
      sql`
      INSERT INTO credit_holds (id, team_id, job_id, amount, status, created_at)
      SELECT ${holdId}, t.id, j.id, t.credits_per_job, 'active', ${now}
      FROM jobs j JOIN teams t ON t.id = j.team_id
      WHERE j.id = ${jobId} AND t.credits_per_job > 0`,
    ),
    stmt(
      db,
      sql`
      UPDATE teams SET credits_held = credits_held + (SELECT amount FROM credit_holds WHERE id = ${holdId})
      WHERE id = (SELECT team_id FROM credit_holds WHERE id = ${holdId})`,
    ),
  ] as const;
}

/**
 * Settles a job's active holds after the job row reached a terminal status earlier in the
 * same batch: `completed` captures them into one `charge` ledger row, `failed`/`cancelled`
 * release them. A second settle finds no active hold and changes nothing, which is what
 * makes `complete` idempotent.
 */
export function settleJobHolds(db: Db, teamId: string, jobId: string, now: number) {
  const active = sql`(SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE job_id = ${jobId} AND status = 'active')`;
  const jobStatus = sql`(SELECT status FROM jobs WHERE id = ${jobId})`;
  return [
    stmt(
      db,
      sql`
      UPDATE jobs SET credits_charged = ${active}
      WHERE id = ${jobId} AND status = 'completed' AND credits_charged = 0`,
    ),
    stmt(
      db,
      sql`
      INSERT INTO credit_ledger (id, team_id, job_id, kind, amount, reason, created_at)
      SELECT ${newId('led')}, ${teamId}, ${jobId}, 'charge', -${active}, 'job completed', ${now}
      WHERE ${jobStatus} = 'completed' AND ${active} > 0`,
    ),
    stmt(
      db,
      sql`
      UPDATE teams SET
        credits_balance = credits_balance - CASE WHEN ${jobStatus} = 'completed' THEN ${active} ELSE 0 END,
        credits_held = credits_held - ${active}
      WHERE id = ${teamId} AND ${jobStatus} IN ('completed', 'failed', 'cancelled')`,
    ),
    stmt(
      db,
      sql`
      UPDATE credit_holds
      SET status = CASE WHEN ${jobStatus} = 'completed' THEN 'captured' ELSE 'released' END, settled_at = ${now}
      WHERE job_id = ${jobId} AND status = 'active' AND ${jobStatus} IN ('completed', 'failed', 'cancelled')`,
    ),
  ] as const;
}

/** Adds (grant) or removes (adjustment) credits; a removal that would overdraw fails the batch. */
export function moveCredits(db: Db, teamId: string, amount: number, reason: string | null, now: number) {
  return [
    stmt(
      db,
      sql`
      INSERT INTO credit_ledger (id, team_id, job_id, kind, amount, reason, created_at)
      VALUES (${newId('led')}, ${teamId}, NULL, ${amount >= 0 ? 'grant' : 'adjustment'}, ${amount}, ${reason}, ${now})`,
    ),
    stmt(db, sql`UPDATE teams SET credits_balance = credits_balance + ${amount} WHERE id = ${teamId}`),
  ] as const;
}
