/**
 * Every statement that moves credits. Each function returns statements to run inside one
 * `db.batch` (one D1 transaction) together with the row that justifies the movement, so a
 * team's `credits_balance` always equals the sum of its ledger and `credits_held` the sum
 * of its active holds. Guards live in the SQL itself, so concurrent requests cannot
 * overspend: D1 runs one write transaction at a time, and a CHECK constraint on `teams`
 * refuses an overdrawn balance outright.
 *
 * Two kinds of hold: a job's own (`call_id` null; `job_based` teams, captured by a completed
 * job as one `charge` row) and a call's (consumption modes; settled by that call as one
 * `usage` row for what it really cost). Each hold is settled only by its owner.
 */
import { sql } from 'drizzle-orm';
import { fixedStmt, namedSql, prepareNamed, stmt } from '../db/raw';
import type { Db } from '../db/client';
import { newId } from '../lib/crypto';

const INSERT_HOLD = 'INSERT INTO credit_holds (id, team_id, job_id, call_id, amount, status, created_at)';

/** The hold row a `job_based` team's job takes (its per-job credits); no row in other modes. */
const JOB_HOLD_ROW = `
  SELECT :jobHoldId, t.id, j.id, NULL, t.credits_per_job, 'active', :now
  FROM jobs j JOIN teams t ON t.id = j.team_id
  WHERE j.id = :jobId AND t.budget_mode = 'job_based' AND t.credits_per_job > 0`;

const holdJob = namedSql(`${INSERT_HOLD} ${JOB_HOLD_ROW}`);
const countJobHold = namedSql(`
  UPDATE teams SET credits_held = credits_held + (SELECT amount FROM credit_holds WHERE id = :jobHoldId)
  WHERE id = (SELECT team_id FROM credit_holds WHERE id = :jobHoldId)`);

/**
 * Holds a `job_based` team's per-job credits for a job inserted earlier in the same batch
 * (the team is the job's). Does nothing when that insert was refused or the team is metered
 * per call, so callers only check the insert's result.
 */
export function holdForJob(db: Db, jobId: string, now: number) {
  const values = { jobHoldId: newId('hold'), jobId, now };
  return [holdJob, countJobHold].map((query) => fixedStmt(db, query.text, query.params(values)));
}

/**
 * The holds of a call admitted earlier in the same batch (its `active_streams` row is the proof):
 * in a consumption mode, the call's own hold of `callHold` credits (SQL over teams `t` and
 * models `m`); for create-and-call in `job_based` mode, the new job's hold (inserted earlier
 * in the batch only if the call was admitted), as `holdForJob` takes it. Two statements
 * whatever the mode, and nothing happens for a refused call.
 *
 * Written once per isolate (admission.ts); the values they take are `:callId`, `:jobId`,
 * `:alias`, `:now`, `:jobHoldId` and `:callHoldId`, plus those `callHold` names.
 */
export function admittedCallHoldsSql(callHold: string, newJob: boolean): [string, string] {
  const taken = '(SELECT sum(amount) FROM credit_holds WHERE id IN (:jobHoldId, :callHoldId))';
  return [
    `${INSERT_HOLD} ${newJob ? `${JOB_HOLD_ROW} UNION ALL` : ''}
      SELECT :callHoldId, t.id, :jobId, :callId, ${callHold}, 'active', :now
      FROM active_streams s JOIN teams t ON t.id = s.team_id JOIN models m ON m.alias = :alias
      WHERE s.call_id = :callId AND t.budget_mode != 'job_based'`,
    `UPDATE teams SET credits_held = credits_held + ${taken}
      WHERE id = (SELECT team_id FROM active_streams WHERE call_id = :callId) AND ${taken} IS NOT NULL`,
  ];
}

/** What a job's own active holds add up to: what the job is charged when it completes. */
export const ACTIVE_JOB_HOLDS =
  "(SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE job_id = :jobId AND call_id IS NULL AND status = 'active')";
const JOB_STATUS = '(SELECT status FROM jobs WHERE id = :jobId)';

const settleJob = [
  namedSql(`
    INSERT INTO credit_ledger (id, team_id, job_id, kind, amount, reason, created_at)
    SELECT :ledgerId, :teamId, :jobId, 'charge', -${ACTIVE_JOB_HOLDS}, 'job completed', :now
    WHERE ${JOB_STATUS} = 'completed' AND ${ACTIVE_JOB_HOLDS} > 0`),
  namedSql(`
    UPDATE teams SET
      credits_balance = credits_balance - CASE WHEN ${JOB_STATUS} = 'completed' THEN ${ACTIVE_JOB_HOLDS} ELSE 0 END,
      credits_held = credits_held - ${ACTIVE_JOB_HOLDS}
    WHERE id = :teamId AND ${JOB_STATUS} IN ('completed', 'failed', 'cancelled')`),
  namedSql(`
    UPDATE credit_holds
    SET status = CASE WHEN ${JOB_STATUS} = 'completed' THEN 'captured' ELSE 'released' END, settled_at = :now
    WHERE job_id = :jobId AND call_id IS NULL AND status = 'active'
      AND ${JOB_STATUS} IN ('completed', 'failed', 'cancelled')`),
];

/**
 * Settles a job's own holds after the job row reached a terminal status earlier in the same
 * batch, its `credits_charged` raised by `ACTIVE_JOB_HOLDS` if it completed (finishJobStatements
 * does both in one statement): `completed` captures the holds into one `charge` ledger row,
 * `failed`/`cancelled` release them. A second settle finds no active hold and changes nothing,
 * which is what makes `complete` idempotent. Statements for the D1 client's own `batch`.
 */
export function settleJobHolds(db: Db, teamId: string, jobId: string, now: number) {
  const values = { ledgerId: newId('led'), teamId, jobId, now };
  return settleJob.map((query) => prepareNamed(db.$client, query, values));
}

const ACTIVE_CALL_HOLD = "(SELECT amount FROM credit_holds WHERE call_id = :callId AND status = 'active')";
const CALL_CHARGED = "(SELECT -amount FROM credit_ledger WHERE call_id = :callId AND kind = 'usage')";
const LEDGER_ROW_WRITTEN = 'EXISTS (SELECT 1 FROM credit_ledger WHERE id = :ledgerId)';
const AVAILABLE = '(t.credits_balance - t.credits_held)';

const settleCall = [
  namedSql(
    `UPDATE teams SET credits_held = credits_held - ${ACTIVE_CALL_HOLD} WHERE id = :teamId AND ${ACTIVE_CALL_HOLD} IS NOT NULL`,
  ),
  namedSql(
    `UPDATE credit_holds SET status = 'released', settled_at = :now WHERE call_id = :callId AND status = 'active'`,
  ),
  namedSql(`
    INSERT INTO credit_ledger (id, team_id, job_id, call_id, kind, amount, reason, created_at)
    SELECT :ledgerId, t.id, :jobId, :callId, 'usage', -min(:credits, ${AVAILABLE}),
      CASE WHEN :credits > ${AVAILABLE}
        THEN 'call usage; ' || (:credits - ${AVAILABLE}) || ' credits not covered'
        ELSE 'call usage' END,
      :now
    FROM teams t
    WHERE t.id = :teamId AND :credits > 0
      AND NOT EXISTS (SELECT 1 FROM credit_ledger WHERE call_id = :callId AND kind = 'usage')`),
  namedSql(
    `UPDATE teams SET credits_balance = credits_balance - ${CALL_CHARGED} WHERE id = :teamId AND ${LEDGER_ROW_WRITTEN}`,
  ),
  namedSql(
    `UPDATE jobs SET credits_charged = credits_charged + ${CALL_CHARGED} WHERE id = :jobId AND ${LEDGER_ROW_WRITTEN}`,
  ),
];

/**
 * Settles one call in a consumption mode: releases its hold and charges what the call really
 * cost as one `usage` ledger row. The charge never takes the team below zero available
 * credits (anything it could not cover is named in the row's reason), and the unique index
 * on usage rows per call makes a repeated settle a no-op. Statements for the D1 client's own
 * `batch`: they run after every call, so their text is written once per isolate.
 */
export function settleCallHold(
  db: Db,
  call: { teamId: string; jobId: string; callId: string; credits: number },
  now: number,
) {
  const values = { ...call, now, ledgerId: newId('led') };
  return settleCall.map((query) => prepareNamed(db.$client, query, values));
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
