// The main console table: one column per path (direct, reference, sluice), then what Sluice adds
// to any Worker (sluice-ref) and what a Worker hop costs (ref-direct). One section per phase.
import { ADMIT, cfg, concGap, JS_FLOOR, runs } from '../lib/config.mjs';
import { dialectLabel } from '../lib/dialects.mjs';
import { SHORT_STREAM } from '../phases/cpu-per-call.mjs';
import { DIALECT_SEQ_SHAPE } from '../phases/dialects.mjs';
import { wholeAndInOrder } from '../phases/slow-reader.mjs';
import { f, KiB, MiB, printTable, sgn } from './format.mjs';

/** `fig`: from figures(); the rest: what the phases resolved with. */
export function printMainTable(fig, { seq, calls, diag, split, perCall, idleRss, slow, bundle }) {
  const { names, per, levels, small, seqStats, concStats, cpuTotal, d1CpuTotal, workStats, recodeStats, dialectStats } =
    fig;
  const rows = [];
  const row = (label, vals, d = 2, diff = true) => {
    const [a, b, c] = names.map((n) => vals[n]);
    const num = (x) => (typeof x === 'number' ? x : null);
    rows.push([
      label,
      ...[a, b, c].map((x) => (typeof x === 'number' ? f(x, d) : (x ?? '-'))),
      diff && num(c) !== null && num(b) !== null ? sgn(c - b, d) : '',
      diff && num(b) !== null && num(a) !== null ? sgn(b - a, d) : '',
    ]);
  };
  const section = (label) => rows.push([label, '', '', '', '', '']);
  /** A figure of one path's column alone, with no differences. */
  const cellRow = (label, path, value, d) => {
    if (value === null || value === undefined) return;
    rows.push([label, ...names.map((n) => (n === path ? f(value, d) : '')), '', '']);
  };
  // Sluice's local D1, when it runs in a process of its own (D1=apart).
  const d1Row = (label, value, d) => cellRow(label, 'sluice', value, d);
  if (seqStats) sequentialRows(fig, { seq, calls }, { row, section, d1Row });
  for (const c of levels) {
    section(
      `${c} concurrent streams x ${cfg.CONC_ROUNDS} rounds (${cfg.N} chunks, ${concGap(c)} ms apart, ${Math.round((c * 1000) / concGap(c))} chunks/s)`,
    );
    const s = concStats[c];
    row(
      '  completed / started',
      per((n) => `${s[n].completed}/${s[n].streams}`),
      0,
      false,
    );
    row(
      '  errors',
      per((n) => s[n].errors),
      0,
    );
    row(
      '  TTFT p99 (ms)',
      per((n) => s[n].ttft_p99),
    );
    row(
      '  per-chunk delay p50 (ms)',
      per((n) => s[n].chunk_p50),
      3,
    );
    row(
      '  per-chunk delay p99 (ms)',
      per((n) => s[n].chunk_p99),
      3,
    );
    row(
      '    of which sent once every stream had its first token, p99 (ms)',
      per((n) => s[n].steady_chunk_p99),
      3,
    );
    row(
      '  runtime CPU per chunk (us)',
      per((n) => s[n].cpu_us_per_chunk),
      1,
    );
    d1Row('  local D1 process CPU per chunk (us)', s.sluice.d1_cpu_us_per_chunk, 1);
    // In the reference's column: the same Worker with more CPU work per call.
    for (const w of c === small ? workStats : [])
      cellRow(
        `  the reference with ${sgn(w.extra_cpu_ms_per_call)} ms of CPU a call: delay p99 (ms), ${f(w.chunk_p99_ratio)}x`,
        'reference',
        w.chunk_p99,
        3,
      );
    row(
      '  runtime RSS peak (MiB)',
      per((n) => (s[n].peak_rss === null ? null : s[n].peak_rss / MiB)),
      1,
    );
  }
  section('runtime process (workerd)');
  if (levels.length) {
    row('  CPU per chunk, all concurrency phases (us)', cpuTotal, 1);
    d1Row('  local D1 process CPU per chunk, all concurrency phases (us)', d1CpuTotal.sluice, 1);
  }
  if (split) {
    row(
      `  CPU split: per chunk, slope of ${cfg.SPLIT} streams of 20 vs 220 chunks (us)`,
      per((n) => split[n]?.per_chunk_us ?? null),
      1,
    );
    row(
      '  CPU split: per call, the rest (ms)',
      per((n) => split[n]?.per_call_ms ?? null),
    );
  }
  if (perCall) {
    row(
      `  CPU per short stream (${SHORT_STREAM.n} chunks), ${cfg.CALL_ROUNDS} rounds of ${cfg.CALL_STREAMS} (ms)`,
      per((n) => perCall[n]?.cpu_ms_per_stream ?? null),
      3,
    );
    // Where production runs them: the Worker's CPU without its Account objects' work.
    const apart = perCall[ADMIT.apart];
    if (apart) {
      row(
        '    Account objects in a process apart: the Worker process (ms)',
        per((n) =>
          n === 'sluice' ? apart.cpu_ms_per_stream : n === 'reference' ? perCall[n]?.cpu_ms_per_stream : null,
        ),
        3,
      );
      cellRow(
        '    Account objects in a process apart: the objects process (ms)',
        'sluice',
        apart.objects_cpu_ms_per_stream,
        3,
      );
    }
  }
  row(
    '  RSS idle (MiB)',
    per((n) => (idleRss[n] === null ? null : idleRss[n] / MiB)),
    1,
  );
  for (const [provider, s] of Object.entries(recodeStats)) {
    section(
      `${provider} streams, ${cfg.RECODE} concurrent x ${cfg.CONC_ROUNDS} rounds (${cfg.N} chunks): Sluice re-encodes them, the reference forwards them`,
    );
    row(
      '  completed / started',
      per((n) => (s[n] ? `${s[n].completed}/${s[n].streams}` : null)),
      0,
      false,
    );
    row(
      '  per-chunk delay p99 (ms)',
      per((n) => s[n]?.chunk_p99 ?? null),
      3,
    );
    row(
      '  runtime CPU per chunk (us)',
      per((n) => s[n]?.cpu_us_per_chunk ?? null),
      1,
    );
    // In the reference's column: the same Worker, moving each chunk through JavaScript.
    const floor = s[JS_FLOOR];
    cellRow('  the reference relaying in JavaScript: per-chunk delay p99 (ms)', 'reference', floor?.chunk_p99, 3);
    cellRow(
      '  the reference relaying in JavaScript: runtime CPU per chunk (us)',
      'reference',
      floor?.cpu_us_per_chunk,
      1,
    );
    d1Row('  local D1 process CPU per chunk (us)', s.sluice?.d1_cpu_us_per_chunk, 1);
  }
  if (runs('dialects')) dialectRows(dialectStats, row, section, d1Row);
  if (slow) slowRows(slow, { row, section, per });
  section('production bundle (wrangler deploy --dry-run)');
  rows.push(['  Worker code, gzip (KiB)', '', '', f(bundle.worker_gzip_bytes / KiB, 1), '', '']);
  rows.push(['  total upload, gzip (KiB)', '', '', f(bundle.total_gzip_bytes / KiB, 1), '', '']);
  rows.push(['  total upload, raw (KiB)', '', '', f(bundle.total_bytes / KiB, 1), '', '']);

  if (diag) {
    section(
      `Sluice's own routes, no upstream (${cfg.DIAG} sequential requests each): latency p50 / p99, CPU per request (ms)`,
    );
    for (const [label, v] of Object.entries(diag))
      rows.push([`  ${label}`, '', '', `${f(v.p50)} / ${f(v.p99)}`, `cpu ${f(v.cpu_ms_per_request)}`, '']);
  }

  console.log('');
  printTable(['', 'direct', 'reference', 'sluice', 'sluice-ref', 'ref-direct'], rows);
  console.log(
    cfg.D1 === 'apart'
      ? "\nSluice's local D1 ran in a workerd process of its own (D1=apart): Sluice's runtime rows are the Worker's process, the local D1 rows that other process."
      : "\nSluice's local D1 ran inside Sluice's workerd process (D1=shared): Sluice's runtime rows include it.",
  );
}

/** The sequential streams and non-streaming calls (the `sequential` phase). */
function sequentialRows({ per, seqStats, callStats }, { seq, calls }, { row, section, d1Row }) {
  section(`sequential streams (${cfg.SEQ} per path, ${cfg.SEQ_N} chunks, ${cfg.GAP_MS} ms apart)`);
  row(
    '  TTFT p50 (ms)',
    per((n) => seqStats[n].ttft_p50),
  );
  row(
    '  TTFT p99 (ms)',
    per((n) => seqStats[n].ttft_p99),
  );
  row(
    '    of which: until the upstream is asked p50 (ms)',
    per((n) => seqStats[n].reach_p50),
  );
  row(
    '    of which: until the upstream is asked p99 (ms)',
    per((n) => seqStats[n].reach_p99),
  );
  row(
    '  per-chunk delay p50 (ms)',
    per((n) => seqStats[n].chunk_p50),
    3,
  );
  row(
    '  per-chunk delay p99 (ms)',
    per((n) => seqStats[n].chunk_p99),
    3,
  );
  row(
    '  errors',
    per((n) => String(seqStats[n].errors)),
    0,
    false,
  );
  row(
    '  runtime CPU per request (ms)',
    per((n) => seqStats.cpu_ms_per_request[n]),
    3,
  );
  d1Row('  local D1 process CPU per request (ms)', seq.cpu.d1 === null ? null : (seq.cpu.d1 * 1000) / cfg.SEQ, 3);
  section(`non-streaming calls (${cfg.SEQ} per path; Sluice: create-and-call)`);
  row(
    '  latency p50 (ms)',
    per((n) => callStats[n].p50),
  );
  row(
    '  latency p99 (ms)',
    per((n) => callStats[n].p99),
  );
  row(
    '  errors',
    per((n) => String(callStats[n].errors)),
    0,
    false,
  );
  row(
    '  runtime CPU per request (ms)',
    per((n) => (calls.cpu[n] === null ? null : (calls.cpu[n] * 1000) / cfg.SEQ)),
    3,
  );
  d1Row('  local D1 process CPU per request (ms)', calls.cpu.d1 === null ? null : (calls.cpu.d1 * 1000) / cfg.SEQ, 3);
}

/** The slow reader, one stream per path. */
function slowRows(slow, { row, section, per }) {
  section(`slow reader (${cfg.SLOW_READ} B/s for ${cfg.SLOW_S} s; firehose of ${cfg.SLOW_CHUNKS} x ${cfg.SLOW_PAD} B)`);
  row(
    '  RSS growth from request start (MiB)',
    per((n) =>
      slow[n].rss_before === null ? null : (Math.max(...slow[n].samples.map((x) => x.rss)) - slow[n].rss_before) / MiB,
    ),
    2,
  );
  row(
    '  RSS growth while held (MiB)',
    per((n) => (slow[n].rss_hold_growth === null ? null : slow[n].rss_hold_growth / MiB)),
    2,
  );
  row(
    '  upstream writes refused',
    per((n) => slow[n].upstream_writes_refused),
    0,
    false,
  );
  row(
    '  upstream blocked at end of hold',
    per((n) => (slow[n].upstream_blocked_at_end ? 'yes' : 'no')),
    0,
    false,
  );
  row(
    '  upstream chunks written by then',
    per((n) => `${slow[n].upstream_written_at_end}/${cfg.SLOW_CHUNKS}`),
    0,
    false,
  );
  row(
    '  bytes in flight (KiB)',
    per((n) => slow[n].in_flight_bytes / 1024),
    0,
  );
  row(
    '  all chunks, in order, [DONE]',
    per((n) => (wholeAndInOrder(slow[n]) ? 'yes' : `NO (${slow[n].chunks_received})`)),
    0,
    false,
  );
  row(
    '  RSS peak while drained (MiB)',
    per((n) => (slow[n].rss_drain_peak === null ? null : slow[n].rss_drain_peak / MiB)),
    1,
  );
}

/**
 * The client dialects phase: per dialect, its route in Sluice's column and the reference forwarding
 * the same upstream stream in the reference's, so that sluice-ref is what the dialect's route adds.
 */
function dialectRows(dialectStats, row, section, d1Row) {
  if (!cfg.DIALECT_SEQ && !cfg.DIALECT_CONC) return;
  const c = cfg.DIALECT_CONC;
  section(
    `client dialects: ${cfg.DIALECT_SEQ} sequential streams (${DIALECT_SEQ_SHAPE.n} chunks), ${c} concurrent x ${cfg.CONC_ROUNDS} rounds (${cfg.N} chunks, ${concGap(c)} ms apart)`,
  );
  for (const d of Object.values(dialectStats)) {
    const s = d.sequential;
    const k = d.concurrent;
    section(`  ${dialectLabel(d)}; the reference forwards the upstream's stream`);
    if (cfg.DIALECT_SEQ) {
      row('    TTFT p50 (ms)', { reference: s.reference?.ttft_p50, sluice: s.sluice?.ttft_p50 });
      row('    TTFT p99 (ms)', { reference: s.reference?.ttft_p99, sluice: s.sluice?.ttft_p99 });
      row('    per-chunk delay p50 (ms)', { reference: s.reference?.chunk_p50, sluice: s.sluice?.chunk_p50 }, 3);
      row(
        '    errors',
        { reference: String(s.reference?.errors ?? '-'), sluice: String(s.sluice?.errors ?? '-') },
        0,
        false,
      );
    }
    if (c) {
      const done = (x) => (x ? `${x.completed}/${x.streams}` : null);
      row(
        `    ${c} concurrent: completed / started`,
        { reference: done(k.reference), sluice: done(k.sluice) },
        0,
        false,
      );
      row(
        `    ${c} concurrent: per-chunk delay p99 (ms)`,
        { reference: k.reference?.chunk_p99, sluice: k.sluice?.chunk_p99 },
        3,
      );
      row(
        `    ${c} concurrent: runtime CPU per chunk (us)`,
        { reference: k.reference?.cpu_us_per_chunk, sluice: k.sluice?.cpu_us_per_chunk },
        1,
      );
      d1Row(`    ${c} concurrent: local D1 process CPU per chunk (us)`, k.sluice?.d1_cpu_us_per_chunk, 1);
    }
  }
}
