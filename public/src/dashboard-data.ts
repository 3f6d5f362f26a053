/**
 * What the dashboard's charts show, derived from the team-facing reads. Pure functions, tested
 * in test/client/pages.test.ts.
 */
import type { DailyReport, JobSummary, TeamUsage } from '../../src/client';
import type { Bar, TimePoint } from './charts';

const DAY_MS = 86_400_000;

/**
 * Credits remaining over time: each daily report's closing figure, then a step per job settled
 * since the last report, counted back from the balance now (`remainingNow`). Between reports
 * this is an estimate: a team key cannot see operator grants, so a top-up since the last report
 * shows as part of the step it happened in.
 */
export function creditSeries(
  remainingNow: number,
  now: number,
  reports: DailyReport[],
  jobs: JobSummary[],
): TimePoint[] {
  const points: TimePoint[] = reports.map((r) => ({
    t: Date.parse(`${r.day}T00:00:00Z`) + DAY_MS,
    value: r.credits_remaining,
  }));
  const since = points.length ? Math.max(...points.map((p) => p.t)) : -Infinity;
  const settled = jobs
    .filter((j) => j.completed_at && j.credits_charged > 0 && Date.parse(j.completed_at) > since)
    .map((j) => ({ t: Date.parse(j.completed_at!), charged: j.credits_charged }))
    .sort((a, b) => b.t - a.t);
  let running = remainingNow;
  const recent: TimePoint[] = [{ t: now, value: remainingNow }];
  for (const j of settled) {
    recent.push({ t: j.t, value: running });
    running += j.charged;
  }
  // The level before the oldest job shown, just before it.
  if (settled.length) recent.push({ t: settled[settled.length - 1]!.t - 1000, value: running });
  return [...points, ...recent.reverse()].sort((a, b) => a.t - b.t);
}

/**
 * Tokens per day of `usage.period`: the daily reports' figures, plus today's so far (the month's
 * total minus the days already reported) when the period is the current month.
 */
export function tokensByDay(usage: TeamUsage, reports: DailyReport[], now: number): Bar[] {
  const inPeriod = reports.filter((r) => r.day.startsWith(usage.period)).sort((a, b) => (a.day < b.day ? -1 : 1));
  const bars: Bar[] = inPeriod.map((r) => ({
    label: r.day.slice(5),
    value: r.tokens,
    detail: `${r.calls} calls, $${r.cost_usd}`,
  }));
  const today = new Date(now).toISOString().slice(0, 10);
  if (today.startsWith(usage.period) && !inPeriod.some((r) => r.day === today)) {
    const reported = inPeriod.reduce((s, r) => s + r.tokens, 0);
    const calls = usage.totals.calls - inPeriod.reduce((s, r) => s + r.calls, 0);
    bars.push({
      label: `${today.slice(5)} (today)`,
      value: Math.max(0, usage.totals.tokens - reported),
      detail: `${Math.max(0, calls)} calls so far`,
    });
  }
  return bars;
}

/** Tokens per model for the period, most used first. */
export function tokensByModel(usage: TeamUsage): Bar[] {
  return [...usage.by_model]
    .sort((a, b) => b.tokens - a.tokens)
    .map((m) => ({ label: m.model, value: m.tokens, detail: `${m.calls} calls, ${m.failed} failed, $${m.cost_usd}` }));
}

/** The `from`/`to` of the reports read for a month: its first day up to yesterday, or `null` if none yet. */
export function reportRange(period: string, now: number): { from: string; to: string } | null {
  const from = `${period}-01`;
  const [y, m] = period.split('-').map(Number) as [number, number];
  const monthEnd = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
  const yesterday = new Date(now - DAY_MS).toISOString().slice(0, 10);
  const to = monthEnd < yesterday ? monthEnd : yesterday;
  return from <= to ? { from, to } : null;
}
