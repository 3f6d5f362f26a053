// The benchmark's targets: each a name, whether this run met it, and the figure it was judged on.
// They are printed under the main table and kept in results.json as `targets`:
//   {target, met, figure, status}, status one of
//   met           the figure is within its target
//   on the line   it is within LINE of its limit, either side: one run cannot tell (`met` still says
//                 which side it fell on; BENCH_STRICT does not fail on it)
//   missed        it is not within its target (BENCH_STRICT=1 fails the run on one of these)
//   not a target  a figure kept beside the targets for information; `met` is null
import { ADMIT, cfg, JS_FLOOR, outPath, runs } from '../lib/config.mjs';
import { dialectLabel } from '../lib/dialects.mjs';
import { AUTH_READ } from '../phases/resumable.mjs';
import { wholeAndInOrder } from '../phases/slow-reader.mjs';
import { f, KiB, MiB, sgn } from './format.mjs';

/** How near its limit, as a share of it, a figure is on the line. */
const LINE = 0.1;

/** `fig`: from figures(); the rest: what the phases resolved with. Returns [{target, met, figure, status}]. */
export function judgeTargets(fig, { slow, perCall, bundle, runtimeLog }) {
  const { levels, small, big, seqStats, concStats, cpuTotal, d1CpuTotal, recodeStats, dialectStats, resumeStats } = fig;
  const d = (a, b) => (a === null || b === null ? null : a - b);
  const targetsOut = [];
  /** A target that is met or not: a count, a yes or no, a size that is the same in every run. */
  const target = (name, met, figure) => targetsOut.push({ target: name, met, figure, status: met ? 'met' : 'missed' });
  /**
   * A measured figure against its limit: met at or under it (`strictly`: under it), on the line within
   * LINE of it either side, provided `also` holds (whatever else the target asks, such as no errors).
   */
  const withinLimit = (name, value, limit, figure, { strictly = false, also = true } = {}) => {
    const met = value !== null && (strictly ? value < limit : value <= limit) && also;
    const onLine = value !== null && also && Math.abs(value - limit) <= LINE * limit;
    targetsOut.push({ target: name, met, figure, status: onLine ? 'on the line' : met ? 'met' : 'missed' });
  };
  const notATarget = (name, figure) => targetsOut.push({ target: name, met: null, figure, status: 'not a target' });
  // PHASES can leave out any phase; its targets go with it.
  if (seqStats) {
    const ttft50 = d(seqStats.sluice.ttft_p50, seqStats.reference.ttft_p50);
    const ttft99 = d(seqStats.sluice.ttft_p99, seqStats.reference.ttft_p99);
    withinLimit('TTFT sluice-ref p50 <= 1 ms', ttft50, 1, `${sgn(ttft50)} ms`);
    withinLimit('TTFT sluice-ref p99 <= 5 ms', ttft99, 5, `${sgn(ttft99)} ms`);
    const ch50 = d(seqStats.sluice.chunk_p50, seqStats.reference.chunk_p50);
    const ch99 = d(seqStats.sluice.chunk_p99, seqStats.reference.chunk_p99);
    withinLimit('per-chunk sluice-ref p50 <= 0.5 ms', ch50, 0.5, `${sgn(ch50, 3)} ms`);
    withinLimit('per-chunk sluice-ref p99 <= 2 ms', ch99, 2, `${sgn(ch99, 3)} ms`);
  }
  const d1Note = (us) => (us === null || us === undefined ? '' : `; local D1 apart: +${f(us, 1)} us`);
  const cpuRatio = cpuTotal.sluice && cpuTotal.reference ? cpuTotal.sluice / cpuTotal.reference : null;
  if (levels.length)
    withinLimit(
      'CPU per chunk <= 2x reference',
      cpuRatio,
      2,
      `${f(cpuRatio)}x (${f(cpuTotal.sluice, 1)} vs ${f(cpuTotal.reference, 1)} us)${d1Note(d1CpuTotal.sluice)}`,
    );
  for (const [provider, s] of Object.entries(recodeStats)) {
    const ratio =
      s.sluice.cpu_us_per_chunk && s.reference.cpu_us_per_chunk
        ? s.sluice.cpu_us_per_chunk / s.reference.cpu_us_per_chunk
        : null;
    const floor = s[JS_FLOOR]?.cpu_us_per_chunk;
    const floorNote =
      floor && s.reference.cpu_us_per_chunk
        ? `; relaying in JS alone: ${f(floor / s.reference.cpu_us_per_chunk)}x`
        : '';
    withinLimit(
      `CPU per chunk, ${provider} re-encoded <= 3x reference`,
      ratio,
      3,
      `${f(ratio)}x (${f(s.sluice.cpu_us_per_chunk, 1)} vs ${f(s.reference.cpu_us_per_chunk, 1)} us)${d1Note(s.sluice.d1_cpu_us_per_chunk)}${floorNote}, ${s.sluice.completed}/${s.sluice.streams} completed`,
      { also: s.sluice.errors === 0 },
    );
  }
  // Each client dialect against the reference forwarding the same upstream stream: TTFT as for chat,
  // CPU per chunk as for chat where Sluice relays the upstream's events, as re-encoded where it must
  // touch each chunk. DIALECT_SEQ=0 or DIALECT_CONC=0 skips a part of the phase, and with it its targets.
  for (const dialect of runs('dialects') ? Object.values(dialectStats) : []) {
    const label = dialectLabel(dialect);
    const s = dialect.sequential;
    if (s.sluice && s.reference) {
      const added = d(s.sluice.ttft_p50, s.reference.ttft_p50);
      withinLimit(
        `TTFT sluice-ref p50 <= 1 ms, ${label}`,
        added,
        1,
        `${sgn(added)} ms (${f(s.sluice.ttft_p50)} vs ${f(s.reference.ttft_p50)} ms), ${s.sluice.errors} errors`,
        { also: s.sluice.errors === 0 },
      );
    }
    const k = dialect.concurrent;
    if (k.sluice && k.reference) {
      const limit = dialect.relayed ? 2 : 3;
      const ratio =
        k.sluice.cpu_us_per_chunk && k.reference.cpu_us_per_chunk
          ? k.sluice.cpu_us_per_chunk / k.reference.cpu_us_per_chunk
          : null;
      withinLimit(
        `CPU per chunk, ${label} <= ${limit}x reference`,
        ratio,
        limit,
        `${f(ratio)}x (${f(k.sluice.cpu_us_per_chunk, 1)} vs ${f(k.reference.cpu_us_per_chunk, 1)} us)${d1Note(k.sluice.d1_cpu_us_per_chunk)}, ${k.sluice.completed}/${k.sluice.streams} completed`,
        { also: k.sluice.errors === 0 },
      );
    }
  }
  // CONC= (empty) skips the concurrency phases, and with them their targets.
  if (levels.length) {
    const p99s = concStats[small].sluice.chunk_p99;
    const p99r = concStats[small].reference.chunk_p99;
    // Not a target: one thread's throughput on 2 cores shared with the local D1, not what a user on Workers sees.
    notATarget(
      `${small}-concurrent p99 per-chunk delay, sluice vs reference (not a target)`,
      `${f(p99s, 3)} vs ${f(p99r, 3)} ms (${f(p99r ? p99s / p99r : null)}x)`,
    );
    const bigS = concStats[big].sluice;
    target(
      `${big} concurrent streams, zero errors`,
      bigS.errors === 0 && bigS.completed === bigS.streams,
      `${bigS.completed}/${bigS.streams} completed, ${bigS.errors} errors${bigS.error_samples.length ? ` (${bigS.error_samples.join('; ')})` : ''}`,
    );
  }
  // The Worker's CPU per metered call, its Account objects' work apart (in production they run on
  // other machines): the Worker process with the objects in a process of their own.
  const apart = perCall?.[ADMIT.apart]?.cpu_ms_per_stream ?? null;
  const ref = perCall?.reference?.cpu_ms_per_stream ?? null;
  if (apart !== null && ref !== null) {
    const added = apart - ref;
    const objects = perCall[ADMIT.apart].objects_cpu_ms_per_stream;
    withinLimit(
      'Worker CPU per short stream, objects apart, sluice-ref <= 1 ms',
      added,
      1,
      `${sgn(added, 3)} ms (${f(apart, 3)} vs ${f(ref, 3)} ms; the objects' process: ${f(objects, 3)} ms)`,
    );
  }
  if (resumeStats) resumableTargets(resumeStats, { withinLimit, target, d1Note });
  if (slow) slowTargets(slow.sluice, { withinLimit, target });
  target(
    'Worker code < 250 KiB gzip',
    bundle.worker_gzip_bytes < 250 * KiB,
    `${f(bundle.worker_gzip_bytes / KiB, 1)} KiB`,
  );
  target(
    'total upload < 3 MiB gzip',
    bundle.total_gzip_bytes < 3 * 1024 * KiB,
    `${f(bundle.total_gzip_bytes / KiB, 1)} KiB gzip (${f(bundle.total_bytes / KiB, 1)} KiB raw)`,
  );
  target(
    'runtime log: no continuation canceled, no request hung or crossed (bench check)',
    Object.values(runtimeLog).every((n) => n === 0),
    `${runtimeLog.canceled_continuations} continuations canceled, ${runtimeLog.hung_requests} requests hung, ${runtimeLog.cross_request_io} I/O across requests (${outPath('host.log')})`,
  );
  console.log('\ntargets');
  const tw = Math.max(...targetsOut.map((t) => t.target.length));
  for (const t of targetsOut) console.log(`  ${STATUS[t.status].padEnd(11)}  ${t.target.padEnd(tw)}  ${t.figure}`);
  return targetsOut;
}

/**
 * The resumable phase's targets: its TTFT against the plain stream on the same route, its CPU per
 * chunk against the reference, reattaching's first replayed byte in absolute terms (an
 * authenticated D1 read, the least any keyed request waits, quoted beside it), and every stream
 * of its concurrent rounds whole. RESUME_SEQ=0 or RESUME_CONC=0 skips a part, and its targets.
 */
function resumableTargets(s, { withinLimit, target, d1Note }) {
  const d = (a, b) => (a === null || a === undefined || b === null || b === undefined ? null : a - b);
  const q = s.sequential;
  if (q.resumable && q.plain) {
    const added = d(q.resumable.ttft_p50, q.plain.ttft_p50);
    const added99 = d(q.resumable.ttft_p99, q.plain.ttft_p99);
    withinLimit(
      'TTFT resumable-plain p50 <= 5 ms',
      added,
      5,
      `${sgn(added)} ms, p99 ${sgn(added99)} ms (p50 ${f(q.resumable.ttft_p50)} vs ${f(q.plain.ttft_p50)} ms), ${q.resumable.errors} errors`,
      { also: q.resumable.errors === 0 },
    );
  }
  const { mid, ended, auth_read: auth } = s.reattach;
  for (const [label, r] of [
    ['mid-answer', mid],
    ['after the end', ended],
  ]) {
    if (!r) continue;
    withinLimit(
      `reattach ${label}: first replayed byte p50 <= 10 ms`,
      r.p50,
      10,
      `${f(r.p50)} ms, p99 ${f(r.p99)} ms (${AUTH_READ}: ${f(auth?.p50)} ms), ${r.requests}/${r.requests + r.errors} replays whole${r.last_error ? ` (${r.last_error})` : ''}`,
      { also: r.errors === 0 },
    );
  }
  const k = s.concurrent;
  if (k.resumable && k.reference) {
    const ref = k.reference.cpu_us_per_chunk;
    const ratio = k.resumable.cpu_us_per_chunk && ref ? k.resumable.cpu_us_per_chunk / ref : null;
    const plainNote = k.plain?.cpu_us_per_chunk && ref ? `; plain: ${f(k.plain.cpu_us_per_chunk / ref)}x` : '';
    withinLimit(
      'CPU per chunk, resumable <= 3x reference',
      ratio,
      3,
      `${f(ratio)}x (${f(k.resumable.cpu_us_per_chunk, 1)} vs ${f(ref, 1)} us)${d1Note(k.resumable.d1_cpu_us_per_chunk)}${plainNote}, ${k.resumable.completed}/${k.resumable.streams} completed`,
      { also: k.resumable.errors === 0 },
    );
    const apart = k.apart;
    if (apart) {
      const worker = apart.cpu_us_per_chunk && ref ? apart.cpu_us_per_chunk / ref : null;
      withinLimit(
        "CPU per chunk, resumable, objects apart: the Worker's process <= 3x reference",
        worker,
        3,
        `${f(worker)}x (${f(apart.cpu_us_per_chunk, 1)} vs ${f(ref, 1)} us); the objects' process: ${f(apart.objects_cpu_us_per_chunk, 1)} us, together ${f((apart.cpu_us_per_chunk + apart.objects_cpu_us_per_chunk) / ref)}x; ${apart.completed}/${apart.streams} completed`,
        { also: apart.errors === 0 },
      );
    }
    target(
      `${cfg.RESUME_CONC} concurrent resumable streams, zero errors`,
      k.resumable.errors === 0 && k.resumable.completed === k.resumable.streams,
      `${k.resumable.completed}/${k.resumable.streams} completed over ${cfg.CONC_ROUNDS} rounds, ${k.resumable.errors} errors${k.resumable.error_samples.length ? ` (${k.resumable.error_samples.join('; ')})` : ''}`,
    );
  }
}

/** The slow reader's targets, on Sluice's stream. */
function slowTargets(sl, { withinLimit, target }) {
  const FLAT = 4 * MiB;
  withinLimit(
    'slow reader: memory flat (RSS growth while held < 4 MiB)',
    sl.rss_hold_growth,
    FLAT,
    `${f(sl.rss_hold_growth / MiB)} MiB`,
    { strictly: true },
  );
  const pressured =
    sl.upstream_writes_refused > 0 &&
    sl.upstream_blocked_at_end &&
    sl.upstream_written_at_end < cfg.SLOW_CHUNKS &&
    sl.upstream_growth_during_hold <= sl.read_growth_during_hold + 1 * MiB;
  target(
    'slow reader: upstream back-pressured, nothing dropped',
    pressured && wholeAndInOrder(sl),
    `upstream blocked ${(sl.upstream_blocked_ms / 1000).toFixed(1)} s, ${sl.upstream_written_at_end}/${cfg.SLOW_CHUNKS} chunks written after ${cfg.SLOW_S} s, ${f(sl.in_flight_bytes / 1024, 0)} KiB in flight; ${sl.chunks_received}/${cfg.SLOW_CHUNKS} chunks received${sl.in_order ? ' in order' : ' OUT OF ORDER'}`,
  );
}

/** How each status reads in the console. */
const STATUS = { met: 'MET', 'on the line': 'ON THE LINE', missed: 'NOT MET', 'not a target': '' };

/** Whether BENCH_STRICT=1 fails the run: some target was missed (on the line is not missed). */
export const anyMissed = (targets) => targets.some((t) => t.status === 'missed');
