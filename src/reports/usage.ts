/**
 * What a team used in a month. The statements join the route's one batch with the key's check,
 * so a read costs one D1 round trip.
 */
import { namedSql, rows } from '../db/statement';

/** `YYYY-MM` as a half-open UTC range. */
export function periodBounds(period: string): { start: number; end: number } {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return { start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) };
}

export const currentPeriod = (now: number) => new Date(now).toISOString().slice(0, 7);

interface JobTypeJobs {
  job_type: string;
  jobs: number;
  successful: number;
  failed: number;
}
interface JobTypeCalls {
  job_type: string | null;
  calls: number;
  tokens: number;
  cost_usd: number;
}
interface JobTypeCredits {
  job_type: string | null;
  credits: number;
}
interface ModelUsage {
  model: string;
  calls: number;
  successful: number;
  tokens: number;
  cost_usd: number;
}

/**
 * Jobs count by their creation time, calls by theirs and credits by their ledger rows', each
 * within [start, end). Calls and credits are attributed to their job's `job_type`.
 */
const byJobType = namedSql(`SELECT job_type, count(*) AS jobs, sum(status = 'completed') AS successful,
    sum(status IN ('failed', 'cancelled')) AS failed
  FROM jobs WHERE team_id = :teamId AND created_at >= :start AND created_at < :end
  GROUP BY job_type`);
const callsByJobType = namedSql(`SELECT j.job_type AS job_type, count(*) AS calls,
    coalesce(sum(l.prompt_tokens + l.completion_tokens), 0) AS tokens, coalesce(sum(l.cost_usd), 0) AS cost_usd
  FROM llm_calls l LEFT JOIN jobs j ON j.id = l.job_id
  WHERE l.team_id = :teamId AND l.created_at >= :start AND l.created_at < :end
  GROUP BY j.job_type`);
const creditsByJobType = namedSql(`SELECT j.job_type AS job_type, coalesce(-sum(g.amount), 0) AS credits
  FROM credit_ledger g LEFT JOIN jobs j ON j.id = g.job_id
  WHERE g.team_id = :teamId AND g.kind IN ('charge', 'usage') AND g.created_at >= :start AND g.created_at < :end
  GROUP BY j.job_type`);
const byModel = namedSql(`SELECT coalesce(served_by, model) AS model, count(*) AS calls,
    sum(status = 'success') AS successful,
    coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens, coalesce(sum(cost_usd), 0) AS cost_usd
  FROM llm_calls WHERE team_id = :teamId AND created_at >= :start AND created_at < :end
  GROUP BY 1 ORDER BY calls DESC, model ASC`);

/**
 * Jobs count by their creation time, calls by theirs and credits by their ledger rows', each
 * within [start, end). Calls and credits are attributed to their job's `job_type`.
 */
export function usageStatements(teamId: string, start: number, end: number) {
  const values = { teamId, start, end };
  return [
    rows<JobTypeJobs>(byJobType, values),
    rows<JobTypeCalls>(callsByJobType, values),
    rows<JobTypeCredits>(creditsByJobType, values),
    rows<ModelUsage>(byModel, values),
  ] as const;
}

const usd = (n: number) => Math.round(n * 1e6) / 1e6;

/** Folds the four result sets of `usageStatements` into totals and the two breakdowns. */
export function summarizeUsage(results: readonly [JobTypeJobs[], JobTypeCalls[], JobTypeCredits[], ModelUsage[]]) {
  const [jobRows, callRows, creditRows, modelRows] = results;
  const empty = () => ({ jobs: 0, successful: 0, failed: 0, calls: 0, tokens: 0, cost_usd: 0, credits: 0 });
  const totals = empty();
  const byType = new Map<string, ReturnType<typeof empty>>();
  const slot = (jobType: string | null) => {
    // Ledger or call rows without a job (none today) count in the totals only.
    if (jobType === null) return null;
    let s = byType.get(jobType);
    if (!s) byType.set(jobType, (s = empty()));
    return s;
  };
  for (const r of jobRows) {
    for (const s of [slot(r.job_type), totals]) {
      if (!s) continue;
      s.jobs += r.jobs;
      s.successful += r.successful;
      s.failed += r.failed;
    }
  }
  for (const r of callRows) {
    for (const s of [slot(r.job_type), totals]) {
      if (!s) continue;
      s.calls += r.calls;
      s.tokens += r.tokens;
      s.cost_usd += r.cost_usd;
    }
  }
  for (const r of creditRows) {
    for (const s of [slot(r.job_type), totals]) if (s) s.credits += r.credits;
  }
  const round = <T extends { cost_usd: number }>(s: T) => ({ ...s, cost_usd: usd(s.cost_usd) });
  return {
    totals: round(totals),
    by_job_type: [...byType]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([job_type, s]) => ({ job_type, ...round(s) })),
    by_model: modelRows.map((m) => ({
      model: m.model,
      calls: m.calls,
      successful: m.successful,
      failed: m.calls - m.successful,
      tokens: m.tokens,
      cost_usd: usd(m.cost_usd),
    })),
  };
}
