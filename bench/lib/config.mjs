// The benchmark's knobs, read once from the environment (see the table in bench/README.md), and the
// names and paths every other module shares. QUICK=1 swaps each default for a small smoke-run one.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = join(root, 'node_modules', '.bin');
export const nodeBin = existsSync(join(bin, 'node')) ? join(bin, 'node') : process.execPath;

export const env = process.env;
export const quick = env.QUICK === '1';
const num = (name, full, fast) => {
  const v = env[name] !== undefined && env[name] !== '' ? Number(env[name]) : quick ? fast : full;
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const list = (name, full, fast) =>
  (env[name] ?? (quick ? fast : full))
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((c) => c > 0);

/** The phases, in the order a run measures them; PHASES picks some of them. */
export const PHASE_NAMES = [
  'sequential',
  'routes',
  'split',
  'per-call',
  'concurrency',
  'reencoded',
  'dialects',
  'resumable',
  'slow-reader',
  'admission',
];
// PHASES=resumable,dialects: only those phases run (in their usual order), so that one question
// can be asked without the quarter of an hour the whole run takes. Unset or empty: all of them.
function phaseList() {
  const given = (env.PHASES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = given.filter((p) => !PHASE_NAMES.includes(p));
  if (unknown.length) throw new Error(`PHASES: unknown ${unknown.join(', ')} (known: ${PHASE_NAMES.join(', ')})`);
  return given.length ? PHASE_NAMES.filter((p) => given.includes(p)) : [...PHASE_NAMES];
}

/** Every knob, under the name of its environment variable; results.json keeps it as `config`. */
export const cfg = {
  quick,
  N: num('N', 100, 20), // chunks per stream in the concurrency phases
  FIRST_MS: num('FIRST_MS', 50, 50), // upstream time to first token
  GAP_MS: num('GAP_MS', 10, 10), // gap between chunks
  SEQ: num('SEQ', 200, 20), // sequential requests per path (streaming, then non-streaming)
  SEQ_N: num('SEQ_N', 20, 5), // chunks per stream in the sequential phase
  WARMUP: num('WARMUP', 20, 3), // requests per path before measuring
  DIAG: num('DIAG', 50, 10), // requests per probe of Sluice's own routes
  SPLIT: num('SPLIT', 50, 10), // sequential streams per size (20 and 220 chunks) for the CPU split
  CALL_ROUNDS: num('CALL_ROUNDS', 8, 2), // rounds of short streams for the CPU per call, Workers taking turns
  CALL_STREAMS: num('CALL_STREAMS', 500, 50), // short streams per Worker per round, four at a time
  CONC: list('CONC', '200,1000', '20,50'),
  // Units of extra CPU work per call (bench/reference, `x-bench-work`): at the first concurrency
  // level, the reference also runs once with each, to show how the delay there grows with per-call CPU.
  WORK: list('WORK', '150,400,1100', ''),
  // Where the local D1 runs: `apart`, in a workerd process of its own, as in production where D1 is
  // not on the Worker's thread; `shared`, in Sluice's own workerd process, the way `wrangler dev` runs it.
  D1: env.D1 ?? 'apart',
  PROFILE: env.PROFILE === '1', // CPU-profile every workerd process's isolates during the sequential streams
  CONC_ROUNDS: num('CONC_ROUNDS', 2, 1), // rounds per concurrency level, path order rotated
  RATE_CAP: num('RATE_CAP', 20_000, 20_000), // chunks/s across all streams: gap = max(GAP_MS, conc*1000/RATE_CAP)
  RECODE: num('RECODE', 200, 20), // concurrent streams per provider Sluice re-encodes (Anthropic, Gemini); 0 skips
  // The client dialects (bench/lib/dialects.mjs): sequential streams per path for TTFT, and
  // concurrent streams per path per round (CONC_ROUNDS rounds) for CPU per chunk; 0 skips either.
  DIALECT_SEQ: num('DIALECT_SEQ', 100, 10),
  DIALECT_CONC: num('DIALECT_CONC', 100, 20),
  // Resumable streams (bench/phases/resumable.mjs): sequential streams per path for TTFT, and as
  // many reattaching reads of each kind; concurrent streams per path per round (CONC_ROUNDS rounds)
  // for CPU per chunk and errors; 0 skips either.
  RESUME_SEQ: num('RESUME_SEQ', 100, 10),
  RESUME_CONC: num('RESUME_CONC', 200, 20),
  SLOW_S: num('SLOW_S', 10, 3), // how long the slow reader holds its stream
  SLOW_CHUNKS: num('SLOW_CHUNKS', 8000, 4000), // firehose chunks in the slow reader's stream
  SLOW_PAD: num('SLOW_PAD', 4000, 4000), // bytes of content per firehose chunk
  SLOW_READ: num('SLOW_READ', 4096, 4096), // bytes the slow reader takes per second
  // Admission throughput (bench/phases/admission.mjs): the team counts, each with its own key; short
  // streams per path per round at each count, spread round-robin over the teams' keys; how many run
  // at once; and rounds per count, the paths taking turns.
  ADMIT_TEAMS: list('ADMIT_TEAMS', '1,10,100', '1,10'),
  ADMIT_CALLS: num('ADMIT_CALLS', 1000, 100),
  ADMIT_CONC: num('ADMIT_CONC', 32, 8),
  ADMIT_ROUNDS: num('ADMIT_ROUNDS', 2, 1),
  PHASES: phaseList(),
};
if (!['apart', 'shared'].includes(cfg.D1)) throw new Error('D1 must be apart or shared');

/** Whether this run measures phase `name` (one of PHASE_NAMES). */
export const runs = (name) => cfg.PHASES.includes(name);

// BASELINE_REV=<commit>: a second Sluice, built from that commit, joins the sequential phases
// (warm-up, streams, non-streaming calls), the CPU per call and the re-encoded rounds, interleaved
// with the others, so that a change is judged against its baseline within one run instead of
// across runs, between which this machine drifts.
export const baselineRev = env.BASELINE_REV || null;
if (baselineRev && cfg.D1 !== 'apart') throw new Error('BASELINE_REV needs D1=apart: both Sluices use one local D1');

// Where results.json, host.log and profiles go (BENCH_OUT, default bench/): a test's run leaves a
// developer's own results alone.
export const outDir = resolve(env.BENCH_OUT || join(root, 'bench'));
export const outPath = (file) => relative(process.cwd(), join(outDir, file));

/** The gap between chunks at `c` concurrent streams, so that all of them stay under RATE_CAP. */
export const concGap = (c) => Math.max(cfg.GAP_MS, Math.ceil((c * 1000) / cfg.RATE_CAP));
/** The re-encoded phase's extra path: the reference Worker relaying in JavaScript (bench/reference). */
export const JS_FLOOR = 'reference-js';
/** The resumable phase's paths (bench/lib/paths.mjs), in the order its rounds start from. */
export const RESUME = {
  reference: 'reference-chat',
  plain: 'sluice-plain',
  resumable: 'sluice-resumable',
  /** The resumable stream on the Sluice whose objects run in a process apart (ADMIT.apart): the Worker's CPU alone. */
  apart: 'sluice-resumable-apart',
};
/**
 * The admission phase's paths (bench/lib/paths.mjs): the D1 path (the baseline, BASELINE_REV), the
 * account path (Sluice, its Account objects in its own process, as in every other phase), and the
 * same Sluice with its Account objects in a workerd process of their own, whose CPU is theirs alone.
 */
export const ADMIT = { d1: 'baseline', account: 'sluice', apart: 'sluice-apart' };
/** The concurrency phase's extra paths: the reference doing `units` of CPU work per call (cfg.WORK). */
export const withWork = (units) => `reference+${units}`;
/** The admin key Sluice runs with, for creating the bench team and its key. */
export const ADMIN_KEY = `bench-admin-${Math.random().toString(36).slice(2)}`;
