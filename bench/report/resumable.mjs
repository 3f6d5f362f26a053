// The resumable phase's own table, printed under the main one: its three paths are not the main
// table's (the plain and the resumable stream are both Sluice), and its targets set the resumable
// stream against the plain one, so its difference column is resumable-plain.
import { cfg, concGap } from '../lib/config.mjs';
import { AUTH_READ, REATTACH_FROM, REATTACH_SHAPE, RESUME_SEQ_SHAPE } from '../phases/resumable.mjs';
import { f, MiB, printTable, sgn } from './format.mjs';

const COLUMNS = ['reference', 'plain', 'resumable'];

/** `s`: figures().resumeStats, null when the phase did not run. */
export function printResumableTable(s) {
  if (!s) return;
  const rows = [];
  const section = (label) => rows.push([label, '', '', '', '']);
  /** One figure per column, `vals` keyed as COLUMNS; the difference is resumable minus plain. */
  const row = (label, vals, d = 2, diff = true) => {
    const [r, p, x] = COLUMNS.map((k) => vals[k]);
    const num = (v) => (typeof v === 'number' && !Number.isNaN(v) ? v : null);
    rows.push([
      label,
      ...[r, p, x].map((v) => (typeof v === 'number' ? f(v, d) : (v ?? '-'))),
      diff && num(x) !== null && num(p) !== null ? sgn(x - p, d) : '',
    ]);
  };
  const of = (part, fn) => Object.fromEntries(COLUMNS.map((k) => [k, part[k] ? fn(part[k]) : null]));
  const q = s.sequential;
  if (cfg.RESUME_SEQ) {
    section(
      `${cfg.RESUME_SEQ} sequential streams per path (${RESUME_SEQ_SHAPE.n} chunks, ${RESUME_SEQ_SHAPE.gap} ms apart), interleaved`,
    );
    row(
      '  TTFT p50 (ms)',
      of(q, (x) => x.ttft_p50),
    );
    row(
      '  TTFT p99 (ms)',
      of(q, (x) => x.ttft_p99),
    );
    row(
      '  per-chunk delay p50 (ms)',
      of(q, (x) => x.chunk_p50),
      3,
    );
    row(
      '  per-chunk delay p99 (ms)',
      of(q, (x) => x.chunk_p99),
      3,
    );
    row(
      '  errors',
      of(q, (x) => String(x.errors)),
      0,
      false,
    );
    const { mid, ended, auth_read: auth } = s.reattach;
    section(
      `reattaching after chunk ${REATTACH_FROM} of ${REATTACH_SHAPE.n}, ${cfg.RESUME_SEQ} of each: to the first byte`,
    );
    const times = (label, x, p) => row(`  ${label} ${p} (ms)`, { plain: auth?.[p], resumable: x?.[p] });
    times('mid-answer', mid, 'p50');
    times('mid-answer', mid, 'p99');
    times('after the end', ended, 'p50');
    times('after the end', ended, 'p99');
    const whole = (x) => (x ? `${x.requests}/${x.requests + x.errors}` : null);
    row('  replays whole (every event after Last-Event-ID, in order, [DONE])', { resumable: whole(mid) }, 0, false);
  }
  const c = cfg.RESUME_CONC;
  if (c) {
    const k = s.concurrent;
    section(`${c} concurrent streams per path x ${cfg.CONC_ROUNDS} rounds (${cfg.N} chunks, ${concGap(c)} ms apart)`);
    row(
      '  completed / started',
      of(k, (x) => `${x.completed}/${x.streams}`),
      0,
      false,
    );
    row(
      '  errors',
      of(k, (x) => x.errors),
      0,
    );
    row(
      '  TTFT p99 (ms)',
      of(k, (x) => x.ttft_p99),
    );
    row(
      '  per-chunk delay p99 (ms)',
      of(k, (x) => x.chunk_p99),
      3,
    );
    row(
      '  runtime CPU per chunk (us)',
      of(k, (x) => x.cpu_us_per_chunk),
      1,
    );
    const ref = k.reference?.cpu_us_per_chunk;
    row(
      '  runtime CPU per chunk, x the reference',
      of(k, (x) => (ref && x.cpu_us_per_chunk !== null ? x.cpu_us_per_chunk / ref : null)),
    );
    // The resumable stream again, its calls' objects in a process apart (as on Workers, where an
    // object runs where Cloudflare puts it): what the Worker's process spends, and the objects'.
    const apart = k.apart;
    if (apart) {
      const cpu = apart.cpu_us_per_chunk;
      row('  objects apart: the Worker process CPU per chunk (us)', { resumable: cpu }, 1, false);
      row('  objects apart: the Worker process, x the reference', {
        resumable: ref && cpu !== null ? cpu / ref : null,
      });
      row(
        '  objects apart: the objects process CPU per chunk (us)',
        { resumable: apart.objects_cpu_us_per_chunk },
        1,
        false,
      );
      row('  objects apart: completed / started', { resumable: `${apart.completed}/${apart.streams}` }, 0, false);
    }
    // Sluice's local D1, when it runs in a process of its own (D1=apart): outside every ratio.
    if ((k.resumable?.d1_cpu_us_per_chunk ?? null) !== null)
      row(
        '  local D1 process CPU per chunk (us)',
        {
          plain: k.plain?.d1_cpu_us_per_chunk,
          resumable: k.resumable?.d1_cpu_us_per_chunk,
        },
        1,
      );
    row(
      '  runtime RSS peak (MiB)',
      of(k, (x) => (x.peak_rss === null ? null : x.peak_rss / MiB)),
      1,
    );
  }
  console.log(
    '\nresumable streams: /v1/chat/completions with "resumable": true, the same route without it (plain), and the reference forwarding the same upstream stream',
  );
  printTable(['', 'reference', 'plain', 'resumable', 'resumable-plain'], rows);
  if (cfg.RESUME_SEQ)
    console.log(
      `\nReattaching: GET /api/calls/{id}/stream with Last-Event-ID, to its first replayed byte; in the plain column, ${AUTH_READ} to its first byte (key auth and one D1 read, the least any keyed request waits).`,
    );
}
