/**
 * `npm run bench` keeps working: one QUICK run, end to end, into a temporary directory. What it
 * asserts is what makes the figures worth reading (every phase ran, every stream arrived whole
 * and in order, the slow reader held the upstream back, the runtime log stayed clean), never
 * the figures themselves, which mean little on a loaded machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface PathRun {
  streams?: number;
  requests?: number;
  completed?: number;
  errors: number;
  last_error?: string | null;
  error_samples?: string[];
  /** The objects' process, for a path whose objects run apart. */
  objects_cpu_us_per_chunk?: number | null;
}

interface SlowRun {
  error: string | null;
  done: boolean;
  in_order: boolean;
  chunks_received: number;
  upstream_blocked_at_end: boolean;
}

interface Results {
  config: {
    SEQ: number;
    CONC: number[];
    RECODE: number;
    SLOW_CHUNKS: number;
    CALL_ROUNDS: number;
    CALL_STREAMS: number;
    CONC_ROUNDS: number;
    RESUME_SEQ: number;
    RESUME_CONC: number;
  };
  sequential_streams: Record<string, PathRun>;
  non_streaming: Record<string, PathRun>;
  cpu_per_call: Record<
    string,
    { streams: number; cpu_ms_per_stream: number; objects_cpu_ms_per_stream: number | null }
  >;
  concurrency: Record<string, Record<string, PathRun>>;
  reencoded: Record<string, Record<string, PathRun | null>>;
  client_dialects: Record<string, { sequential: Record<string, PathRun>; concurrent: Record<string, PathRun | null> }>;
  resumable: {
    sequential: Record<string, PathRun>;
    reattach: Record<'mid' | 'ended' | 'auth_read', PathRun>;
    concurrent: Record<string, PathRun>;
  };
  slow_reader: Record<string, SlowRun>;
  runtime_log: Record<string, number>;
  targets: { target: string; met: boolean; figure: string }[];
}

const PATHS = ['direct', 'reference', 'sluice'];
const out = mkdtempSync(join(tmpdir(), 'sluice-bench-test-'));
let results: Results;
let stdout: string;

beforeAll(async () => {
  const run = await promisify(execFile)(process.execPath, ['bench/run.mjs'], {
    env: { ...process.env, QUICK: '1', BENCH_OUT: out, BASELINE_REV: '', SLUICE_REV: '', PROFILE: '', PHASES: '' },
    timeout: 420_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  stdout = run.stdout;
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
}, 450_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench (QUICK)', () => {
  it('prints its table and every target of the benchmark, each with a figure', () => {
    expect(stdout).toContain('sluice-ref');
    const names = results.targets.map((t) => t.target);
    for (const name of [
      'TTFT sluice-ref p50',
      'TTFT sluice-ref p99',
      'per-chunk sluice-ref p50',
      'per-chunk sluice-ref p99',
      'CPU per chunk <= 2x',
      'anthropic re-encoded',
      'gemini re-encoded',
      'concurrent p99 per-chunk delay',
      'concurrent streams, zero errors',
      'TTFT resumable-plain p50',
      'reattach mid-answer',
      'reattach after the end',
      'CPU per chunk, resumable',
      'concurrent resumable streams, zero errors',
      'Worker CPU per short stream, objects apart',
      'slow reader: memory flat',
      'slow reader: upstream back-pressured',
      'Worker code < 250 KiB',
      'total upload < 3 MiB',
    ])
      expect(
        names.some((n) => n.includes(name)),
        name,
      ).toBe(true);
    for (const t of results.targets) expect(t.figure, t.target).toMatch(/\d/);
  });

  it('answers every sequential stream and call on every path, without an error', () => {
    for (const phase of [results.sequential_streams, results.non_streaming])
      for (const path of PATHS) {
        expect(phase[path]!.requests, path).toBe(results.config.SEQ);
        expect(phase[path]!.errors, `${path}: ${phase[path]!.last_error}`).toBe(0);
      }
  });

  it('measures the CPU per call of the reference and Sluice over every short stream, the objects apart too', () => {
    const { CALL_ROUNDS, CALL_STREAMS } = results.config;
    expect(Object.keys(results.cpu_per_call).sort()).toEqual(['reference', 'sluice', 'sluice-apart']);
    for (const path of ['reference', 'sluice', 'sluice-apart']) {
      const run = results.cpu_per_call[path]!;
      expect(run.streams, path).toBe(CALL_ROUNDS * CALL_STREAMS);
      expect(run.cpu_ms_per_stream, path).toBeGreaterThan(0);
    }
    // The objects' own process did the accounts' work; the others have no such process.
    expect(results.cpu_per_call['sluice-apart']!.objects_cpu_ms_per_stream).toBeGreaterThan(0);
    expect(results.cpu_per_call.sluice!.objects_cpu_ms_per_stream).toBeNull();
  });

  it('completes every concurrent stream, native and re-encoded, whole and in order', () => {
    const levels = results.config.CONC.map(String);
    expect(Object.keys(results.concurrency)).toEqual(levels);
    for (const level of levels)
      for (const path of PATHS) {
        const run = results.concurrency[level]![path]!;
        expect(run.streams, `${level} ${path}`).toBe(Number(level));
        expect(run.completed, `${level} ${path}: ${run.error_samples?.join('; ')}`).toBe(run.streams);
        expect(run.errors).toBe(0);
      }
    for (const provider of ['anthropic', 'gemini'])
      for (const path of ['reference', 'sluice', 'reference-js']) {
        const run = results.reencoded[provider]![path]!;
        expect(run.streams, `${provider} ${path}`).toBe(results.config.RECODE);
        expect(run.completed, `${provider} ${path}: ${run.error_samples?.join('; ')}`).toBe(run.streams);
      }
  });

  it('streams every client dialect whole, relayed and re-encoded, beside the reference', () => {
    expect(Object.keys(results.client_dialects).sort()).toEqual([
      'messages-anthropic',
      'messages-openai',
      'responses-openai',
    ]);
    for (const [name, row] of Object.entries(results.client_dialects))
      for (const path of ['reference', 'sluice']) {
        const seq = row.sequential[path]!;
        expect(seq.errors, `${name} ${path}: ${seq.last_error}`).toBe(0);
        const conc = row.concurrent[path]!;
        expect(conc.completed, `${name} ${path}: ${conc.error_samples?.join('; ')}`).toBe(conc.streams);
        expect(conc.streams, `${name} ${path}`).toBeGreaterThan(0);
      }
  });

  it('streams resumable calls whole beside the plain ones, and replays them whole to a reader that attaches again', () => {
    const { RESUME_SEQ, RESUME_CONC, CONC_ROUNDS } = results.config;
    const { sequential, reattach, concurrent } = results.resumable;
    // `apart`: the resumable stream again, its objects in a process of their own.
    for (const path of ['reference', 'plain', 'resumable', 'apart']) {
      const seq = sequential[path]!;
      expect(seq.errors, `${path}: ${seq.last_error}`).toBe(0);
      expect(seq.requests, path).toBe(RESUME_SEQ);
      const conc = concurrent[path]!;
      expect(conc.streams, path).toBe(RESUME_CONC * CONC_ROUNDS);
      expect(conc.completed, `${path}: ${conc.error_samples?.join('; ')}`).toBe(conc.streams);
    }
    expect(concurrent.apart!.objects_cpu_us_per_chunk).toBeGreaterThan(0);
    for (const kind of ['mid', 'ended', 'auth_read'] as const) {
      expect(reattach[kind].errors, `${kind}: ${reattach[kind].last_error}`).toBe(0);
      expect(reattach[kind].requests, kind).toBe(RESUME_SEQ);
    }
  });

  it('holds the upstream back behind a slow reader, then delivers every chunk in order', () => {
    for (const path of PATHS) {
      const slow = results.slow_reader[path]!;
      expect(slow.error, path).toBeNull();
      expect(slow.upstream_blocked_at_end, path).toBe(true);
      expect(slow).toMatchObject({ done: true, in_order: true, chunks_received: results.config.SLOW_CHUNKS });
    }
  });

  it('leaves a runtime log with no canceled continuation, hung request or I/O across requests', () => {
    expect(results.runtime_log).toEqual({ canceled_continuations: 0, hung_requests: 0, cross_request_io: 0 });
  });
});
