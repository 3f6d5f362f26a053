// The admission phase's own table, printed under the others: its paths are the D1 path (the
// baseline), the account path (Sluice) and the same Sluice with its Account objects in a process of
// their own, at each team count; then how each figure moves from the fewest teams to the most.
import { ADMIT, cfg } from '../lib/config.mjs';
import { pct, sum } from '../lib/stats.mjs';
import { SHORT_STREAM } from '../phases/cpu-per-call.mjs';
import { f, printTable } from './format.mjs';

const COLUMNS = [ADMIT.d1, ADMIT.account, ADMIT.apart];

/** How the account's time per call is measured; results.json keeps it beside the figures. */
export const ACCOUNT_TIME =
  "the CPU of a workerd process that runs nothing but the Account objects (Sluice's bundle in a Miniflare of its own, the Worker's ACCOUNTS binding pointed at it)";

/** One path's turns at one team count, added up. */
function pathStats(turns) {
  const calls = sum(turns.map((r) => r.calls));
  const wallMs = sum(turns.map((r) => r.wall_ms));
  const all = (field) => turns.flatMap((r) => r[field]);
  const perCall = (k) => (turns[0].cpu_s[k] === null ? null : (sum(turns.map((r) => r.cpu_s[k])) * 1000) / calls);
  const d1 = perCall('d1');
  const account = perCall('account');
  return {
    calls,
    errors: sum(turns.map((r) => r.errors)),
    error_samples: [...new Set(all('error_samples'))].slice(0, 3),
    calls_per_s: (calls * 1000) / wallMs,
    head_p50: pct(all('head'), 0.5),
    head_p99: pct(all('head'), 0.99),
    ttfb_p50: pct(all('firstByte'), 0.5),
    ttfb_p99: pct(all('firstByte'), 0.99),
    ttft_p50: pct(all('ttft'), 0.5),
    ttft_p99: pct(all('ttft'), 0.99),
    reach_p50: pct(all('reach'), 0.5),
    reach_p99: pct(all('reach'), 0.99),
    worker_cpu_ms_per_call: perCall('worker'),
    d1_cpu_ms_per_call: d1,
    account_cpu_ms_per_call: account,
    // What one single-writer resource allows if it did nothing else: D1 serves the whole deployment,
    // an account one team.
    d1_ceiling_calls_per_s: d1 > 0 ? 1000 / d1 : null,
    account_ceiling_calls_per_s_per_team: account > 0 ? 1000 / account : null,
    wall_ms: turns.map((r) => Math.round(r.wall_ms)),
  };
}

/** results.json's `admission`: {account_time, teams: {count: {path: figures}}}, or null. */
export function admissionStats(raw) {
  if (!raw) return null;
  const teams = Object.fromEntries(
    Object.entries(raw.teams).map(([n, byPath]) => [
      n,
      Object.fromEntries(Object.entries(byPath).map(([name, turns]) => [name, pathStats(turns)])),
    ]),
  );
  return { account_time: ACCOUNT_TIME, teams };
}

/** `s`: admissionStats(), null when the phase did not run. */
export function printAdmissionTable(s) {
  if (!s) return;
  const rows = [];
  const section = (label) => rows.push([label, '', '', '']);
  const row = (label, vals) => rows.push([label, ...COLUMNS.map((k) => vals[k] ?? '-')]);
  const cell = (v, d) => (typeof v === 'number' ? f(v, d) : v);
  /** One figure per path that ran, `d` decimals. */
  const of = (byPath, fn, d = 2) =>
    Object.fromEntries(COLUMNS.map((k) => [k, byPath[k] ? cell(fn(byPath[k]), d) : null]));
  const counts = Object.keys(s.teams);
  for (const n of counts) {
    const byPath = s.teams[n];
    section(
      `${n} team(s), a key each: ${cfg.ADMIT_ROUNDS} x ${cfg.ADMIT_CALLS} short streams per path, ${cfg.ADMIT_CONC} at once, round-robin over the keys`,
    );
    // label, the figure of a path's turns, decimals (the default: 2)
    for (const [label, fn, d] of [
      ['  failed / calls', (x) => `${x.errors}/${x.calls}`],
      ['  calls per second', (x) => x.calls_per_s, 0],
      ['  TTFB p50 (ms)', (x) => x.ttfb_p50],
      ['  TTFB p99 (ms)', (x) => x.ttfb_p99],
      ['    of which: until the upstream is asked p50 (ms)', (x) => x.reach_p50],
      ['    of which: until the upstream is asked p99 (ms)', (x) => x.reach_p99],
      ["  the Worker's process: CPU per call (ms)", (x) => x.worker_cpu_ms_per_call, 3],
      ['  local D1 process: CPU per call (ms)', (x) => x.d1_cpu_ms_per_call, 3],
    ])
      row(label, of(byPath, fn, d));
    row("  Account objects' process: CPU per call (ms)", {
      ...of(byPath, (x) => x.account_cpu_ms_per_call, 3),
      [ADMIT.account]: byPath[ADMIT.account] ? "(in the Worker's)" : null,
    });
    row(
      '  ceiling: calls/s per deployment, 1000 / D1 ms per call',
      of(byPath, (x) => x.d1_ceiling_calls_per_s, 0),
    );
    row(
      '  ceiling: calls/s per team, 1000 / account ms per call',
      of(byPath, (x) => x.account_ceiling_calls_per_s_per_team, 0),
    );
  }
  if (counts.length > 1) {
    section(`${counts.join(' / ')} teams`);
    const trend = (label, fn, d) =>
      row(
        label,
        Object.fromEntries(
          COLUMNS.map((k) => [
            k,
            counts.every((n) => s.teams[n][k]) ? counts.map((n) => f(fn(s.teams[n][k]), d)).join(' / ') : null,
          ]),
        ),
      );
    trend('  calls per second', (x) => x.calls_per_s, 0);
    trend('  TTFB p50 (ms)', (x) => x.ttfb_p50, 1);
    trend('  TTFB p99 (ms)', (x) => x.ttfb_p99, 1);
    trend('  local D1 process: CPU per call (ms)', (x) => x.d1_cpu_ms_per_call, 2);
    trend("  Account objects' process: CPU per call (ms)", (x) => x.account_cpu_ms_per_call, 2);
  }
  console.log(
    `\nadmission throughput: short streams (${SHORT_STREAM.n} chunks, ${SHORT_STREAM.gap} ms apart) on many teams' keys; the D1 path (${ADMIT.d1}), the account path (${ADMIT.account}), and the account path with its Account objects in a workerd process of their own (${ADMIT.apart})`,
  );
  printTable(['', `${ADMIT.d1}: D1 path`, `${ADMIT.account}: account path`, `${ADMIT.apart}: objects apart`], rows);
  console.log(
    [
      '',
      `TTFB: to the response's first byte, the first chunk. Sluice answers once the upstream has, whose first chunk leaves ${SHORT_STREAM.first} ms after its request arrives, so TTFB is admission plus opening the upstream; "until the upstream is asked" is admission alone.`,
      "The local D1's CPU is its workerd process (statements, SQLite, the HTTP and JSON of each batch): the D1 path's admission and books; the account path's copies of each account's rows.",
      `The Account objects' CPU is ${ACCOUNT_TIME}: their SQLite transactions, the RPC that reaches them, and the copies they send D1. On the account path proper (${ADMIT.account}) they share the Worker's process.`,
      'A ceiling is what one single-writer resource allows if it did nothing else: D1 is one per deployment, an account one per team.',
    ].join('\n'),
  );
}
