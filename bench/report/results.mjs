// The end of a run: the main table, the targets, and what results.json holds. The keys below are
// its schema (test/e2e/bench.test.ts reads it); bench/README.md says how to read each figure.
import { cpus, loadavg } from 'node:os';
import { cfg, env, quick, runs } from '../lib/config.mjs';
import { admissionStats, printAdmissionTable } from './admission.mjs';
import { figures } from './figures.mjs';
import { printResumableTable } from './resumable.mjs';
import { printMainTable } from './table.mjs';
import { judgeTargets } from './targets.mjs';

/**
 * `measured`: `targets` (the main table's paths: direct, reference, sluice) and what each phase
 * resolved with (seq, calls, diag, split, perCall, idleRss, conc, recode, dialect, resume, slow,
 * admit), the bundle's sizes and the runtime log's counts; a phase PHASES left out resolved with null
 * (or nothing measured), and its keys below are null. Prints the tables and the targets; returns
 * results.json's content.
 */
export function report(measured) {
  const { targets, calls, diag, split, perCall, idleRss, slow, admit, bundle, runtimeLog } = measured;
  const fig = figures({ ...measured, paths: targets.map((t) => t.name) });
  const { per, seqStats, callStats, concStats, cpuTotal, d1CpuTotal, workStats, recodeStats, dialectStats } = fig;
  printMainTable(fig, measured);
  printResumableTable(fig.resumeStats);
  const admitStats = admissionStats(admit);
  printAdmissionTable(admitStats);
  const targetsOut = judgeTargets(fig, measured);
  if (quick) console.log('\n(QUICK=1: small counts, a smoke run; the figures are not the benchmark)');

  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_at_end: loadavg() },
    sluice_rev: env.SLUICE_REV ?? 'work tree',
    config: cfg,
    sequential_streams: seqStats,
    non_streaming: calls
      ? {
          ...callStats,
          cpu_ms_per_request: per((n) => (calls.cpu[n] === null ? null : (calls.cpu[n] * 1000) / cfg.SEQ)),
        }
      : null,
    sluice_routes: diag,
    cpu_split: split,
    cpu_per_call: perCall,
    concurrency: concStats,
    concurrency_per_call_work: workStats,
    cpu_us_per_chunk_all_concurrency: cpuTotal,
    d1_cpu_us_per_chunk_all_concurrency: d1CpuTotal.sluice,
    reencoded: recodeStats,
    client_dialects: runs('dialects') ? dialectStats : null,
    resumable: fig.resumeStats,
    rss_idle_bytes: idleRss,
    slow_reader: slow,
    admission: admitStats,
    bundle,
    runtime_log: runtimeLog,
    targets: targetsOut,
  };
}
