/**
 * Daily credit reports: the cron job writes one `credit_reports` row per team per UTC day, and
 * teams read them (JSON or CSV). A report's `low_credits` flag is the same rule as the
 * operator's low-credit alert (accounts/teams.ts).
 */
import { LOW_CREDITS } from '../accounts/teams';
import { tableRows } from '../db/rows';
import { type CreditReport, creditReports } from '../db/schema';
import { namedSql, rows, run, write } from '../db/statement';
import { DAY_MS, dayStart, iso } from '../lib/time';

/** Teams per INSERT ... SELECT: one statement, a bounded amount of work for D1. */
const REPORT_CHUNK = 200;

/**
 * Writes `day`'s report for every team that existed by the end of that day. Idempotent: the
 * unique (team_id, day) index plus `ON CONFLICT DO NOTHING` keeps the first report written,
 * so a retried or doubled cron run changes nothing. Returns how many rows were new.
 */
export async function writeDailyReports(
  d1: D1Database,
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
    const ids = await run(d1, rows<{ id: string }>(teamsBy, { after, end, limit: chunk }));
    if (!ids.length) break;
    after = ids[ids.length - 1]!.id;
    seen += ids.length;
    written += await run(
      d1,
      write(reportInsert, {
        ids: JSON.stringify(ids.map((r) => r.id)),
        day,
        start,
        end,
        now: opts.now,
        fallback: opts.lowCreditDefault,
      }),
    );
    if (ids.length < chunk) break;
  }
  return { teams: seen, written };
}

/** Teams that existed by `:end`, by id after `:after`. */
const teamsBy = namedSql('SELECT id FROM teams WHERE id > :after AND created_at < :end ORDER BY id LIMIT :limit');

const inDay = (a: string) => `${a}.team_id = t.id AND ${a}.created_at >= :start AND ${a}.created_at < :end`;

// The SELECT needs its WHERE clause for SQLite to parse the ON CONFLICT that follows it.
const reportInsert = namedSql(`
  INSERT INTO credit_reports (id, team_id, day, jobs, calls, tokens, cost_usd, credits_charged,
    credits_remaining, top_models, low_credits, created_at)
  SELECT 'rep_' || lower(hex(randomblob(16))), t.id, :day,
    (SELECT count(*) FROM jobs j WHERE ${inDay('j')}),
    (SELECT count(*) FROM llm_calls l WHERE ${inDay('l')}),
    (SELECT coalesce(sum(l.prompt_tokens + l.completion_tokens), 0) FROM llm_calls l WHERE ${inDay('l')}),
    (SELECT round(coalesce(sum(l.cost_usd), 0), 6) FROM llm_calls l WHERE ${inDay('l')}),
    (SELECT coalesce(-sum(g.amount), 0) FROM credit_ledger g WHERE ${inDay('g')} AND g.kind IN ('charge', 'usage')),
    t.credits_balance - t.credits_held,
    (SELECT json_group_array(json_object('model', m.model, 'calls', m.calls, 'tokens', m.tokens)) FROM (
      SELECT coalesce(l.served_by, l.model) AS model, count(*) AS calls,
        sum(l.prompt_tokens + l.completion_tokens) AS tokens
      FROM llm_calls l WHERE ${inDay('l')}
      GROUP BY 1 ORDER BY calls DESC, tokens DESC, model ASC LIMIT 3) m),
    ${LOW_CREDITS},
    :now
  FROM teams t
  WHERE t.id IN (SELECT value FROM json_each(:ids))
  ON CONFLICT (team_id, day) DO NOTHING`);

const reportsBetween = namedSql(
  'SELECT * FROM credit_reports WHERE team_id = :teamId AND day >= :from AND day <= :to ORDER BY day LIMIT 400',
);

/** A team's reports for days `from`..`to` (inclusive), oldest first. */
export const reportsOf = (teamId: string, from: string, to: string) =>
  tableRows(creditReports, reportsBetween, { teamId, from, to });

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
    created_at: iso(r.createdAt),
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
