// BASELINE_REV: the second table, Sluice against its baseline in the same run, from the phases the
// baseline joins (sequential streams and calls, CPU per call, re-encoded rounds); results.json keeps
// it as `baseline`.
import { baselineRev, cfg, env } from '../lib/config.mjs';
import { pct, roundStats } from '../lib/stats.mjs';
import { printTable } from './format.mjs';

/** BASELINE_REV: Sluice against its baseline in the same run: the sequential and re-encoded phases. */
export function baselineReport(seq, calls, perCall, recode) {
  const names = ['baseline', 'sluice'];
  const measures = [
    ['TTFT p50 (ms)', (n) => pct(seq[n].ttft, 0.5), 3],
    ['TTFT p99 (ms)', (n) => pct(seq[n].ttft, 0.99), 3],
    ['  until the upstream is asked p50 (ms)', (n) => pct(seq[n].reach, 0.5), 3],
    ['per-chunk delay p50 (ms)', (n) => pct(seq[n].delays, 0.5), 3],
    ['per-chunk delay p99 (ms)', (n) => pct(seq[n].delays, 0.99), 3],
    ['runtime CPU per stream (ms)', (n) => (seq.cpu[n] === null ? null : (seq.cpu[n] * 1000) / cfg.SEQ), 3],
    ['non-streaming latency p50 (ms)', (n) => pct(calls[n].ms, 0.5), 3],
    [
      'runtime CPU per non-streaming call (ms)',
      (n) => (calls.cpu[n] === null ? null : (calls.cpu[n] * 1000) / cfg.SEQ),
      3,
    ],
    ['runtime CPU per short stream (ms)', (n) => perCall[n]?.cpu_ms_per_stream ?? null, 3],
    ['errors', (n) => seq[n].errors + calls[n].errors, 0],
    ...Object.entries(recode).flatMap(([provider, byPath]) => {
      const stats = (n) => (byPath[n] ? roundStats(byPath[n]) : null);
      return [
        [`${provider} re-encoded, runtime CPU per chunk (us)`, (n) => stats(n)?.cpu_us_per_chunk ?? null, 1],
        [`${provider} re-encoded, per-chunk delay p99 (ms)`, (n) => stats(n)?.chunk_p99 ?? null, 1],
        [`${provider} re-encoded, errors`, (n) => stats(n)?.errors ?? null, 0],
      ];
    }),
  ];
  const out = {
    baseline_rev: baselineRev,
    sluice_rev: env.SLUICE_REV ?? 'work tree',
    measures: measures.map(([label, fn]) => {
      const [b, s] = names.map(fn);
      return { measure: label.trim(), baseline: b, sluice: s, difference: b === null || s === null ? null : s - b };
    }),
  };
  const fmt = (v, d) => (v === null ? '-' : v.toFixed(d));
  const rows = measures.map(([label, , d], i) => {
    const m = out.measures[i];
    return [
      label,
      fmt(m.baseline, d),
      fmt(m.sluice, d),
      m.difference === null ? '-' : `${m.difference >= 0 ? '+' : ''}${m.difference.toFixed(d)}`,
    ];
  });
  const header = [`same run`, `baseline ${baselineRev}`, `sluice ${out.sluice_rev}`, 'sluice-baseline'];
  console.log(`\nagainst the baseline (BASELINE_REV)`);
  printTable(header, rows);
  return out;
}
