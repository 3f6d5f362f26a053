/** The pages' pure parts: chart markup, the dashboard's derived series, and error wording. */
import { describe, expect, it } from 'vitest';
import { barChart, columnChart, compact, niceCeil, niceDomain, stepLineChart } from '../../public/src/charts';
import { creditSeries, reportRange, tokensByDay, tokensByModel } from '../../public/src/dashboard-data';
import { describeError } from '../../public/src/messages';
import {
  APIConnectionError,
  AuthenticationError,
  type DailyReport,
  InsufficientCreditsError,
  type JobSummary,
  PermissionDeniedError,
  RateLimitError,
  type TeamUsage,
} from '../../src/client';

const values = (svg: string) => [...svg.matchAll(/data-value="([^"]+)"/g)].map((m) => Number(m[1]));

describe('charts', () => {
  it('nice axis numbers', () => {
    expect([0, 0.3, 7, 730, 1000, 1001].map(niceCeil)).toEqual([1, 0.5, 10, 1000, 1000, 2000]);
    expect(niceDomain(996, 1000, true)).toEqual({ lo: 996, hi: 1000, step: 1 });
    expect(niceDomain(998, 1000, true)).toEqual({ lo: 998, hi: 1002, step: 1 });
    expect(niceDomain(0, 730)).toEqual({ lo: 0, hi: 800, step: 200 });
    expect([950, 9999, 12_345, 3_400_000].map(compact)).toEqual(['950', '9999', '12.3k', '3.4M']);
  });

  it('a step line has one dot per point, in time order, and a path through them', () => {
    const svg = stepLineChart(
      [
        { t: Date.UTC(2026, 10, 2), value: 990 },
        { t: Date.UTC(2026, 10, 1), value: 1000 },
        { t: Date.UTC(2026, 10, 3), value: 985 },
      ],
      { title: 'Credits' },
    );
    expect(values(svg)).toEqual([1000, 990, 985]);
    expect(svg).toMatch(/<path class="line" d="M[\d.]+ [\d.]+(H[\d.]+V[\d.]+){2}"\/>/);
    expect(svg).toContain('role="img" aria-label="Credits"');
    expect(svg).toContain('>11-01<');
  });

  it('bars carry their values and escape labels; no data draws a placeholder', () => {
    const bars = [
      { label: '<script>', value: 10, detail: 'a & b' },
      { label: 'mock', value: 0 },
    ];
    for (const svg of [barChart(bars, { title: 'T' }), columnChart(bars, { title: 'T' })]) {
      expect(values(svg)).toEqual([10, 0]);
      expect(svg).not.toContain('<script>');
      expect(svg).toContain('&lt;script&gt;');
      expect(svg).toContain('a &amp; b');
    }
    expect(columnChart([], { title: 'Empty "one"' })).toContain('No data yet');
    expect(columnChart([], { title: 'Empty "one"' })).toContain('aria-label="Empty &quot;one&quot;"');
  });
});

const report = (day: string, extra: Partial<DailyReport> = {}): DailyReport => ({
  day,
  jobs: 1,
  calls: 2,
  tokens: 100,
  cost_usd: 0.01,
  credits_charged: 1,
  credits_remaining: 50,
  low_credits: false,
  top_models: [],
  created_at: `${day}T00:05:00.000Z`,
  ...extra,
});

const job = (completedAt: string | null, charged: number): JobSummary => ({
  job_id: `job_${completedAt}`,
  team_id: 't',
  job_type: 'chat',
  user_id: null,
  status: completedAt ? 'completed' : 'pending',
  metadata: null,
  error_message: null,
  credits_charged: charged,
  created_at: completedAt ?? '2026-11-21T10:00:00.000Z',
  completed_at: completedAt,
});

describe('dashboard data', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');

  it('credits over time: reports, then steps back from the balance now for jobs since the last report', () => {
    const series = creditSeries(
      47,
      now,
      [report('2026-11-19', { credits_remaining: 52 }), report('2026-11-20', { credits_remaining: 50 })],
      [
        job('2026-11-21T11:00:00.000Z', 2),
        job('2026-11-21T09:00:00.000Z', 1),
        job('2026-11-20T23:00:00.000Z', 1), // before the last report's end: already in it
        job(null, 0),
      ],
    );
    expect(series.map((p) => p.value)).toEqual([52, 50, 50, 49, 47, 47]);
    expect(series.at(-1)).toEqual({ t: now, value: 47 });
    expect(series.map((p) => p.t)).toEqual([...series.map((p) => p.t)].sort((a, b) => a - b));
  });

  it('credits over time with no reports and no jobs is the balance now', () => {
    expect(creditSeries(1000, now, [], [])).toEqual([{ t: now, value: 1000 }]);
  });

  const usage = (tokens: number, calls: number): TeamUsage => ({
    team_id: 't',
    period: '2026-11',
    from: '2026-11-01T00:00:00.000Z',
    to: '2026-12-01T00:00:00.000Z',
    totals: { jobs: 3, successful: 3, failed: 0, calls, tokens, cost_usd: 0, credits: 3 },
    by_job_type: [],
    by_model: [
      { model: 'small', calls: 1, successful: 1, failed: 0, tokens: 10, cost_usd: 0 },
      { model: 'big', calls: 2, successful: 1, failed: 1, tokens: 300, cost_usd: 0.5 },
    ],
  });

  it('tokens by day: the reported days of the month plus today so far', () => {
    const bars = tokensByDay(usage(310, 5), [report('2026-11-20'), report('2026-10-31'), report('2026-11-19')], now);
    expect(bars.map((b) => [b.label, b.value])).toEqual([
      ['11-19', 100],
      ['11-20', 100],
      ['11-21 (today)', 110],
    ]);
    expect(bars[2]!.detail).toBe('1 calls so far');
    // A past month has no "today".
    expect(tokensByDay({ ...usage(0, 0), period: '2026-10' }, [report('2026-10-31')], now)).toHaveLength(1);
  });

  it('tokens by model, most used first', () => {
    expect(tokensByModel(usage(310, 3)).map((b) => b.label)).toEqual(['big', 'small']);
  });

  it('the reports range of a month stops at yesterday', () => {
    expect(reportRange('2026-11', now)).toEqual({ from: '2026-11-01', to: '2026-11-20' });
    expect(reportRange('2026-10', now)).toEqual({ from: '2026-10-01', to: '2026-10-31' });
    expect(reportRange('2026-11', Date.parse('2026-11-01T08:00:00Z'))).toBeNull();
  });
});

describe('error messages', () => {
  it('says what to do for each kind of failure', () => {
    expect(describeError(new AuthenticationError('Missing or invalid API key', { status: 401 }))).toContain(
      'not accepted',
    );
    expect(describeError(new InsufficientCreditsError('x', { status: 402 }))).toContain('no credits left');
    expect(describeError(new PermissionDeniedError('x', { status: 403, code: 'team_mismatch' }))).toContain(
      'another team',
    );
    expect(describeError(new RateLimitError('x', { status: 429, retryAfter: 2.5 }))).toContain('in 3 s');
    expect(describeError(new APIConnectionError('x'))).toContain('Cannot reach the gateway');
    expect(describeError(new Error('boom'))).toContain('boom');
  });
});
