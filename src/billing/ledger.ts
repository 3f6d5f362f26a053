/**
 * Every statement that moves credits. Each returns statements for one D1 batch (one
 * transaction) together with the row that justifies the movement, so a team's
 * `credits_balance` always equals the sum of its ledger and `credits_held` the sum of its
 * active holds. Guards live in the SQL itself, so concurrent requests cannot overspend: D1 runs
 * one write transaction at a time, and a CHECK constraint on `teams` refuses an overdrawn
 * balance outright.
 *
 * Two kinds of hold: a job's own (`call_id` null; job_based teams, captured by a completed job
 * as one `charge` row) and a call's (consumption modes; settled by that call as one `usage` row
 * for what it really cost). Each hold is settled only by its owner.
 */
import { tableRows } from '../db/rows';
import { creditLedger } from '../db/schema';
import { type Statement, namedSql, write } from '../db/statement';
import { newId } from '../lib/crypto';
import { AVAILABLE, JOB_HOLD_SQL, callHoldSql } from './budget';

const INSERT_HOLD = 'INSERT INTO credit_holds (id, team_id, job_id, call_id, amount, status, created_at)';

/** The hold row a job takes, from its job row (nothing when the mode holds nothing per job). */
const JOB_HOLD_ROW = `
  SELECT :jobHoldId, t.id, j.id, NULL, ${JOB_HOLD_SQL}, 'active', :now
  FROM jobs j JOIN teams t ON t.id = j.team_id
  WHERE j.id = :jobId AND ${JOB_HOLD_SQL} > 0`;

const holdJob = namedSql(`${INSERT_HOLD} ${JOB_HOLD_ROW}`);
const countJobHold = namedSql(`
  UPDATE teams SET credits_held = credits_held + (SELECT amount FROM credit_holds WHERE id = :jobHoldId)
  WHERE id = (SELECT team_id FROM credit_holds WHERE id = :jobHoldId)`);

/**
 * Holds a job's own credits for a job inserted earlier in the same batch (the team is the
 * job's). Does nothing when that insert was refused or the mode holds nothing per job, so
 * callers only check the insert's result.
 */
export function holdForJob(jobId: string, now: number): Statement<number>[] {
  const values = { jobHoldId: newId('hold'), jobId, now };
  return [write(holdJob, values), write(countJobHold, values)];
}

/**
 * The holds of a call admitted earlier in the same batch (its `active_streams` row is the proof,
 * and holds the output tokens it is allowed): in a consumption mode, the call's own hold; for a
 * call that creates its job, that job's hold too (its job row was inserted earlier in the batch
 * only if the call was admitted). Nothing happens for a refused call. Written once per isolate
 * (admission.ts); the values they take are `:callId`, `:jobId`, `:alias`, `:now`, `:p`,
 * `:jobHoldId` and `:callHoldId`.
 */
export function admittedCallHoldsSql(newJob: boolean): [string, string] {
  const taken = '(SELECT sum(amount) FROM credit_holds WHERE id IN (:jobHoldId, :callHoldId))';
  return [
    `${INSERT_HOLD} ${newJob ? `${JOB_HOLD_ROW} UNION ALL` : ''}
      SELECT :callHoldId, t.id, :jobId, :callId, ${callHoldSql('s.output_tokens')}, 'active', :now
      FROM active_streams s JOIN teams t ON t.id = s.team_id JOIN models m ON m.alias = :alias
      WHERE s.call_id = :callId AND t.budget_mode != 'job_based'`,
    `UPDATE teams SET credits_held = credits_held + ${taken}
      WHERE id = (SELECT team_id FROM active_streams WHERE call_id = :callId) AND ${taken} IS NOT NULL`,
  ];
}

/** What a job's own active holds add up to: what the job is charged when it completes. */
const ACTIVE_JOB_HOLDS =
  "(SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE job_id = :jobId AND call_id IS NULL AND status = 'active')";
const JOB_STATUS = '(SELECT status FROM jobs WHERE id = :jobId)';

const finishJobSql = [
  // Only an open job moves, so racing or repeated finishes settle exactly once.
  namedSql(`
    UPDATE jobs SET status = :status, completed_at = :now, error_message = :errorMessage,
      metadata = CASE WHEN :patch IS NULL THEN metadata ELSE json_patch(coalesce(metadata, '{}'), :patch) END,
      credits_charged = credits_charged + CASE WHEN :status = 'completed' THEN ${ACTIVE_JOB_HOLDS} ELSE 0 END
    WHERE id = :jobId AND status IN ('pending', 'in_progress')`),
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

export type FinishedStatus = 'completed' | 'failed' | 'cancelled';

/**
 * Moves a job to a terminal status and settles its own holds: `completed` captures them into one
 * `charge` row (and adds them to `credits_charged`), `failed`/`cancelled` release them. A second
 * finish finds the job closed and no active hold, and changes nothing. The first statement's
 * count says whether this finish moved the job.
 */
export function finishJob(
  job: { id: string; teamId: string },
  status: FinishedStatus,
  now: number,
  extra: { errorMessage?: string | null; metadata?: Record<string, unknown> | null } = {},
): Statement<number>[] {
  const values = {
    status,
    now,
    jobId: job.id,
    teamId: job.teamId,
    ledgerId: newId('led'),
    errorMessage: extra.errorMessage ?? null,
    patch: extra.metadata ? JSON.stringify(extra.metadata) : null,
  };
  return finishJobSql.map((query) => write(query, values));
}

const ACTIVE_CALL_HOLD = "(SELECT amount FROM credit_holds WHERE call_id = :callId AND status = 'active')";
const CALL_CHARGED = "(SELECT -amount FROM credit_ledger WHERE call_id = :callId AND kind = 'usage')";
const LEDGER_ROW_WRITTEN = 'EXISTS (SELECT 1 FROM credit_ledger WHERE id = :ledgerId)';

const settleCallSql = [
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
 * cost as one `usage` ledger row. The charge never takes the team below zero available credits
 * (anything it could not cover is named in the row's reason), and the unique index on usage
 * rows per call makes a repeated settle a no-op.
 */
export function settleCallHold(
  call: { teamId: string; jobId: string; callId: string; credits: number },
  now: number,
): Statement<number>[] {
  const values = { ...call, now, ledgerId: newId('led') };
  return settleCallSql.map((query) => write(query, values));
}

const grant = namedSql(`
  INSERT INTO credit_ledger (id, team_id, job_id, kind, amount, reason, created_at)
  VALUES (:ledgerId, :teamId, NULL, CASE WHEN :amount >= 0 THEN 'grant' ELSE 'adjustment' END, :amount, :reason, :now)`);
const applyGrant = namedSql('UPDATE teams SET credits_balance = credits_balance + :amount WHERE id = :teamId');

/** Adds (grant) or removes (adjustment) credits; a removal that would overdraw fails the batch. */
export function moveCredits(teamId: string, amount: number, reason: string | null, now: number): Statement<number>[] {
  const values = { ledgerId: newId('led'), teamId, amount, reason, now };
  return [write(grant, values), write(applyGrant, values)];
}

const STALE_CALL_HOLDS =
  "SELECT id FROM credit_holds WHERE call_id IS NOT NULL AND status = 'active' AND created_at < :cutoff";
const releaseStale = [
  namedSql(`UPDATE teams SET credits_held = credits_held -
      (SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE team_id = teams.id AND id IN (${STALE_CALL_HOLDS}))
    WHERE id IN (SELECT team_id FROM credit_holds WHERE id IN (${STALE_CALL_HOLDS}))`),
  namedSql(`UPDATE credit_holds SET status = 'released', settled_at = :now WHERE id IN (${STALE_CALL_HOLDS})`),
];

/**
 * Releases call holds older than `cutoff` whose call never settled (its isolate died): the team
 * gets the credit back, in one batch with its held total. The second statement's count is how
 * many holds were released.
 */
export function releaseStaleCallHolds(cutoff: number, now: number): Statement<number>[] {
  return releaseStale.map((query) => write(query, { cutoff, now }));
}

const page = namedSql(`SELECT * FROM credit_ledger
  WHERE team_id = :teamId AND (:kind IS NULL OR kind = :kind)
    AND (:from IS NULL OR created_at >= :from) AND (:to IS NULL OR created_at <= :to)
    AND (:afterAt IS NULL OR created_at < :afterAt OR (created_at = :afterAt AND id < :afterId))
  ORDER BY created_at DESC, id DESC LIMIT :limit`);

/** A team's ledger rows, newest first, after the (created_at, id) of the last row shown. */
export const ledgerPage = (
  teamId: string,
  opts: { kind?: string; from: number | null; to: number | null; after: [number, string] | null; limit: number },
) =>
  tableRows(creditLedger, page, {
    teamId,
    kind: opts.kind ?? null,
    from: opts.from,
    to: opts.to,
    afterAt: opts.after?.[0] ?? null,
    afterId: opts.after?.[1] ?? null,
    limit: opts.limit,
  });
