/**
 * Daily credit reports and low-credit alerts. The cron job writes one `credit_reports` row per
 * team per UTC day; the admin alert route and the team-facing report route read through here
 * too, so "low on credits" means the same thing everywhere.
 */
import { and, asc, eq, gt, gte, lte, sql } from 'drizzle-orm';
import { stmt } from '../db/raw';
import { type CreditReport, creditReports, teams } from '../db/schema';
import type { Db } from '../db/client';

export const DAY_MS = 86_400_000;

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const dayStart = (day: string) => Date.parse(`${day}T00:00:00.000Z`);
/** The UTC day before the one `ms` falls in: what a run just after midnight reports on. */
export const previousUtcDay = (ms: number) => utcDay(dayStart(utcDay(ms)) - DAY_MS);

const available = sql<number>`${teams.creditsBalance} - ${teams.creditsHeld}`;
const threshold = (fallback: number) => sql<number>`coalesce(${teams.lowCreditThreshold}, ${fallback})`;

/** Teams whose available credits are under their threshold, lowest first. */
export const selectLowCreditTeams = (db: Db, fallback: number, limit = 1000) =>
  db
    .select({
      teamId: teams.id,
      name: teams.name,
      status: teams.status,
      available,
      threshold: threshold(fallback),
    })
    .from(teams)
    .where(sql`${available} < ${threshold(fallback)}`)
    .orderBy(asc(available), asc(teams.id))
    .limit(limit);

/** Teams per INSERT ... SELECT: one statement, a bounded amount of work for D1. */
const REPORT_CHUNK = 200;

/**
 * Writes `day`'s report for every team that existed by the end of that day. Idempotent: the
 * unique (team_id, day) index plus `ON CONFLICT DO NOTHING` keeps the first report written,
 * so a retried or doubled cron run changes nothing. Returns how many rows were new.
 */
export async function writeDailyReports(
  db: Db,
  day: string,
  opts: { now: number; lowCreditDefault: number; chunk?: number },
): Promise<{ teams: number; written: number }> {
  const start = dayStart(day);
  const end = start + DAY_MS;
  const chunk = opts.chunk ?? REPORT_CHUNK;
  let after = '';
  let seen = 0;
  let written = 0;
  for (;;) {
    const ids = await db
      .select({ id: teams.id })
      .from(teams)
      .where(and(gt(teams.id, after), sql`${teams.createdAt} < ${end}`))
      .orderBy(asc(teams.id))
      .limit(chunk);
    if (!ids.length) break;
    after = ids[ids.length - 1]!.id;
    seen += ids.length;
    const [result] = await db.batch([
      stmt(db, reportInsert(JSON.stringify(ids.map((r) => r.id)), day, start, end, opts)),
    ]);
    written += result.meta.changes;
    if (ids.length < chunk) break;
  }
  return { teams: seen, written };
}

function reportInsert(
  idsJson: string,
  day: string,
  start: number,
  end: number,
  opts: { now: number; lowCreditDefault: number },
) {
  const inDay = (alias: string) => {
    const a = sql.raw(alias);
    return sql`${a}.team_id = t.id AND ${a}.created_at >= ${start} AND ${a}.created_at < ${end}`;
  };
  // The SELECT needs its WHERE clause for SQLite to parse the ON CONFLICT that follows it.
  return sql`
    INSERT INTO credit_reports (id, team_id, day, jobs, calls, tokens, cost_usd, credits_charged,
      credits_remaining, top_models, low_credits, created_at)
    SELECT 'rep_' || lower(hex(randomblob(16))), t.id, ${day},
      (SELECT count(*) FROM jobs j WHERE ${inDay('j')}),
      (SELECT count(*) FROM llm_calls l WHERE ${inDay('l')}),
      (SELECT coalesce(sum(l.prompt_tokens + l.completion_tokens), 0) FROM llm_calls l WHERE ${inDay('l')}),
      (SELECT round(coalesce(sum(l.cost_usd), 0), 6) FROM llm_calls l WHERE ${inDay('l')}),
      (SELECT coalesce(-sum(g.amount), 0) FROM credit_ledger g
        WHERE ${inDay('g')} AND g.kind IN ('charge', 'usage')),
      t.credits_balance - t.credits_held,
      (SELECT json_group_array(json_object('model', m.model, 'calls', m.calls, 'tokens', m.tokens)) FROM (
        SELECT coalesce(l.served_by, l.model) AS model, count(*) AS calls,
          sum(l.prompt_tokens + l.completion_tokens) AS tokens
        FROM llm_calls l WHERE ${inDay('l')}
        GROUP BY 1 ORDER BY calls DESC, tokens DESC, model ASC LIMIT 3) m),
      (t.credits_balance - t.credits_held) < coalesce(t.low_credit_threshold, ${opts.lowCreditDefault}),
      ${opts.now}
    FROM teams t
    WHERE t.id IN (SELECT value FROM json_each(${idsJson}))
    ON CONFLICT (team_id, day) DO NOTHING`;
}

/** A team's reports for days `from`..`to` (inclusive), oldest first. */
export const selectReports = (db: Db, teamId: string, from: string, to: string) =>
  db
    .select()
    .from(creditReports)
    .where(and(eq(creditReports.teamId, teamId), gte(creditReports.day, from), lte(creditReports.day, to)))
    .orderBy(asc(creditReports.day))
    .limit(400);

export function reportView(r: CreditReport) {
  const top = [...(r.topModels ?? [])].sort((a, b) => b.calls - a.calls || b.tokens - a.tokens);
  return {
    day: r.day,
    jobs: r.jobs,
    calls: r.calls,
    tokens: r.tokens,
    cost_usd: r.costUsd,
    credits_charged: r.creditsCharged,
    credits_remaining: r.creditsRemaining,
    low_credits: r.lowCredits,
    top_models: top,
    created_at: new Date(r.createdAt).toISOString(),
  };
}

const CSV_COLUMNS = [
  'day',
  'jobs',
  'calls',
  'tokens',
  'cost_usd',
  'credits_charged',
  'credits_remaining',
  'low_credits',
  'top_models',
] as const;

/** RFC 4180: quote a field when it holds a comma, quote or line break. */
const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** One header row, then one row per day; top models as `alias:calls` joined by spaces. */
export function reportsCsv(rows: ReturnType<typeof reportView>[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const top = r.top_models.map((m) => `${m.model}:${m.calls}`).join(' ');
    const values = [
      r.day,
      r.jobs,
      r.calls,
      r.tokens,
      r.cost_usd,
      r.credits_charged,
      r.credits_remaining,
      r.low_credits,
      top,
    ];
    lines.push(values.map((v) => csvField(String(v))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
