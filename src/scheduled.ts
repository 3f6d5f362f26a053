/**
 * Cron triggers (wrangler.toml `[triggers]`). Each schedule calls the same code the routes use;
 * every task is idempotent, so a retried or overlapping run is harmless.
 */
import { reconcileAll } from './accounts/reconciliation';
import { sweepStale } from './calls/sweep';
import { configOf } from './config';
import type { Env } from './env';
import { expireStaleJobs } from './jobs/expiry';
import { previousUtcDay } from './lib/time';
import { writeDailyReports } from './reports/daily';

export const CRON_DAILY_REPORT = '5 0 * * *';
export const CRON_EXPIRE_JOBS = '*/10 * * * *';

/** Yesterday's (UTC) credit report for every team. */
export async function runDailyReports(env: Env, scheduledTime: number) {
  const day = previousUtcDay(scheduledTime);
  const lowCreditDefault = configOf(env).lowCreditThreshold;
  const result = await writeDailyReports(env.DB, day, { now: Date.now(), lowCreditDefault });
  return { task: 'daily_report', day, ...result };
}

/** Every team's account held against its copy in D1; the differences are kept for the operator. */
export async function runReconciliation(env: Env) {
  const { apart, ...counts } = await reconcileAll({ d1: env.DB, accounts: env.ACCOUNTS }, Date.now());
  return { task: 'reconciliation', ...counts, apart: apart.map((a) => a.teamId) };
}

/** Fails jobs left open longer than `JOB_TTL` and releases their credit; sweeps what dead isolates left. */
export async function runJobExpiry(env: Env, scheduledTime: number) {
  const opts = { now: scheduledTime, ttlSeconds: configOf(env).jobTtlSeconds };
  const deps = { d1: env.DB, accounts: env.ACCOUNTS };
  const result = await expireStaleJobs(deps, opts);
  const swept = await sweepStale(deps, opts);
  return { task: 'job_expiry', ...result, swept };
}

export async function scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const at = controller.scheduledTime;
  const tasks =
    controller.cron === CRON_DAILY_REPORT
      ? [runDailyReports(env, at), runReconciliation(env)]
      : controller.cron === CRON_EXPIRE_JOBS
        ? [runJobExpiry(env, at)]
        : // An unknown schedule (or `/__scheduled` without `cron`) runs both: each is idempotent.
          [runDailyReports(env, at), runJobExpiry(env, at), runReconciliation(env)];
  const results = await Promise.allSettled(tasks);
  for (const r of results) {
    if (r.status === 'fulfilled') console.log(JSON.stringify({ msg: 'cron done', cron: controller.cron, ...r.value }));
    else console.error(JSON.stringify({ msg: 'cron failed', cron: controller.cron, error: String(r.reason) }));
  }
  // A failed task fails the invocation, so it shows as an error in the Cron Events log.
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
