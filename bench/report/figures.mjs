// The phases' raw samples turned into the figures that the table, the targets and results.json
// all read: percentiles per path, CPU per chunk over every concurrency level, the reference's
// per-call work runs, the re-encoded rounds, the client dialects and the resumable streams.
import { cfg, JS_FLOOR, RESUME, withWork } from '../lib/config.mjs';
import { DIALECTS, referenceFor } from '../lib/dialects.mjs';
import { pct, roundStats, sum } from '../lib/stats.mjs';

/**
 * `paths`: the names of the main table's paths (direct, reference, sluice), in column order;
 * the rest: what the phases resolved with.
 */
export function figures({ paths, seq, calls, conc, recode, dialect, resume }) {
  const names = paths;
  const per = (fn) => Object.fromEntries(names.map((n) => [n, fn(n)]));
  const levels = Object.keys(conc).map(Number);
  const concStats = Object.fromEntries(levels.map((c) => [c, per((n) => roundStats(conc[c][n]))]));
  // Null when PHASES leaves the sequential phases out.
  const seqStats = seq ? per((n) => streamStats(seq[n])) : null;
  if (seqStats) seqStats.cpu_ms_per_request = per((n) => (seq.cpu[n] === null ? null : (seq.cpu[n] * 1000) / cfg.SEQ));
  const callStats = calls
    ? per((n) => ({
        requests: calls[n].ms.length,
        errors: calls[n].errors,
        last_error: calls[n].lastError,
        p50: pct(calls[n].ms, 0.5),
        p99: pct(calls[n].ms, 0.99),
      }))
    : null;
  const cpuOverPhases = (field) =>
    per((n) => {
      const all = levels.map((c) => concStats[c][n]);
      if (all.some((s) => s[field] === null)) return null;
      const chunks = sum(all.map((s) => s.chunks));
      return chunks ? (sum(all.map((s) => s[field])) * 1e6) / chunks : null;
    });
  const cpuTotal = cpuOverPhases('cpu_s');
  const d1CpuTotal = cpuOverPhases('d1_cpu_s');
  const small = levels[0];
  const big = levels.at(-1);
  // The reference with extra CPU work per call (cfg.WORK), at the first concurrency level: how the
  // delay there grows with per-call CPU alone, whoever spends it.
  const workStats = cfg.WORK.filter((units) => conc[small]?.[withWork(units)]).map((units) => {
    const s = roundStats(conc[small][withWork(units)]);
    const ref = concStats[small].reference;
    const extra =
      s.cpu_us_per_chunk === null || ref.cpu_us_per_chunk === null ? null : s.cpu_us_per_chunk - ref.cpu_us_per_chunk;
    return {
      units,
      extra_cpu_ms_per_call: extra === null ? null : (extra * cfg.N) / 1000,
      chunk_p99: s.chunk_p99,
      chunk_p99_ratio: ref.chunk_p99 ? s.chunk_p99 / ref.chunk_p99 : null,
      steady_chunk_p99: s.steady_chunk_p99,
      cpu_us_per_chunk: s.cpu_us_per_chunk,
      completed: s.completed,
      streams: s.streams,
      errors: s.errors,
    };
  });
  const recodeStats = Object.fromEntries(
    Object.entries(recode).map(([provider, byPath]) => [
      provider,
      {
        ...per((n) => (byPath[n] ? roundStats(byPath[n]) : null)),
        [JS_FLOOR]: byPath[JS_FLOOR] ? roundStats(byPath[JS_FLOOR]) : null,
      },
    ]),
  );
  const dialectStats = dialectFigures(dialect);
  const resumeStats = resume ? resumableFigures(resume) : null;
  return {
    names,
    per,
    levels,
    small,
    big,
    seqStats,
    callStats,
    concStats,
    cpuTotal,
    d1CpuTotal,
    workStats,
    recodeStats,
    dialectStats,
    resumeStats,
  };
}

/** One path's sequential streams: TTFT, the time until the upstream is asked, per-chunk delay. */
function streamStats(samples) {
  return {
    requests: samples.ttft.length,
    errors: samples.errors,
    last_error: samples.lastError,
    ttft_p50: pct(samples.ttft, 0.5),
    ttft_p99: pct(samples.ttft, 0.99),
    reach_p50: pct(samples.reach, 0.5),
    reach_p99: pct(samples.reach, 0.99),
    chunk_p50: pct(samples.delays, 0.5),
    chunk_p99: pct(samples.delays, 0.99),
    chunks: samples.delays.length,
  };
}

/**
 * Per dialect (bench/lib/dialects.mjs), what its row of the table and its targets read: `sequential`
 * and `concurrent` figures of `sluice` (the dialect's route) and of `reference` (the reference
 * forwarding that dialect's upstream format), each null when its part of the phase was skipped.
 */
function dialectFigures({ seq, conc }) {
  const both = (d, fn) => ({ reference: fn(referenceFor(d.upstream)), sluice: fn(d.name) });
  return Object.fromEntries(
    DIALECTS.map((d) => [
      d.name,
      {
        route: d.route,
        model: d.model,
        upstream: d.upstream,
        relayed: d.relayed,
        sequential: both(d, (n) => (seq[n] ? streamStats(seq[n]) : null)),
        concurrent: both(d, (n) => (conc[n] ? roundStats(conc[n]) : null)),
      },
    ]),
  );
}

/**
 * The resumable phase, per path (`reference`, `plain`, `resumable`: the keys of RESUME):
 * `sequential` and `concurrent` figures as for a client dialect, and `reattach`: the first-byte
 * times of reattaching mid-answer (`mid`) and after the end (`ended`), and of the authenticated
 * D1 read beside them (`auth_read`). A part the phase skipped is null.
 */
function resumableFigures({ seq, reattach, conc }) {
  const paths = (fn) => Object.fromEntries(Object.entries(RESUME).map(([key, name]) => [key, fn(name)]));
  const latency = (a) =>
    a
      ? { requests: a.ms.length, errors: a.errors, last_error: a.lastError, p50: pct(a.ms, 0.5), p99: pct(a.ms, 0.99) }
      : null;
  return {
    sequential: paths((n) => (seq[n] ? streamStats(seq[n]) : null)),
    reattach: { mid: latency(reattach.mid), ended: latency(reattach.ended), auth_read: latency(reattach.auth_read) },
    concurrent: paths((n) => (conc[n] ? roundStats(conc[n]) : null)),
  };
}
