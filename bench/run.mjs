#!/usr/bin/env node
// `npm run bench`: how much does Sluice add on top of a Worker that does nothing? One run compares,
// interleaved so that machine drift hits all three alike:
//   direct     the client talks to the upstream itself
//   reference  bench/reference: a Worker that only forwards the upstream's body
//   sluice     Sluice: key auth, job checks, credit hold, call bookkeeping
//   baseline   with BASELINE_REV=<commit>, that commit's Sluice too, in the sequential and re-encoded phases
// Both Workers run from their production bundles (`wrangler deploy --dry-run`) in workerd through
// Miniflare's API (bench/host.mjs), one workerd process each and no `wrangler dev` proxy in front.
// The upstream (bench/upstream.mjs) and the client share one clock. See bench/README.md.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { cpuSeconds, rssBytes } from './proc.mjs';
import { isolates, startProfile, summarize } from './profile.mjs';
import { clock, startUpstream } from './upstream.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'node_modules', '.bin');
const nodeBin = existsSync(join(bin, 'node')) ? join(bin, 'node') : process.execPath;

// ---------------------------------------------------------------- knobs
const env = process.env;
const quick = env.QUICK === '1';
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
const cfg = {
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
  // level, the reference also runs once with each, to show what per-call CPU the delay target allows.
  WORK: list('WORK', '150,400,1100', ''),
  // Where the local D1 runs: `apart`, in a workerd process of its own, as in production where D1 is
  // not on the Worker's thread; `shared`, in Sluice's own workerd process, the way `wrangler dev` runs it.
  D1: env.D1 ?? 'apart',
  PROFILE: env.PROFILE === '1', // CPU-profile every workerd process's isolates during the sequential streams
  CONC_ROUNDS: num('CONC_ROUNDS', 2, 1), // rounds per concurrency level, path order rotated
  RATE_CAP: num('RATE_CAP', 20_000, 20_000), // chunks/s across all streams: gap = max(GAP_MS, conc*1000/RATE_CAP)
  RECODE: num('RECODE', 200, 20), // concurrent streams per provider Sluice re-encodes (Anthropic, Gemini); 0 skips
  SLOW_S: num('SLOW_S', 10, 3), // how long the slow reader holds its stream
  SLOW_CHUNKS: num('SLOW_CHUNKS', 8000, 4000), // firehose chunks in the slow reader's stream
  SLOW_PAD: num('SLOW_PAD', 4000, 4000), // bytes of content per firehose chunk
  SLOW_READ: num('SLOW_READ', 4096, 4096), // bytes the slow reader takes per second
};
if (!['apart', 'shared'].includes(cfg.D1)) throw new Error('D1 must be apart or shared');
// BASELINE_REV=<commit>: a second Sluice, built from that commit, joins the sequential phases
// (warm-up, streams, non-streaming calls), the CPU per call and the re-encoded rounds, interleaved
// with the others, so that a change is judged against its baseline within one run instead of
// across runs, between which this machine drifts.
const baselineRev = env.BASELINE_REV || null;
if (baselineRev && cfg.D1 !== 'apart') throw new Error('BASELINE_REV needs D1=apart: both Sluices use one local D1');
// Where results.json, host.log and profiles go (BENCH_OUT, default bench/): a test's run leaves a
// developer's own results alone.
const outDir = resolve(env.BENCH_OUT || join(root, 'bench'));
const outPath = (file) => relative(process.cwd(), join(outDir, file));
const concGap = (c) => Math.max(cfg.GAP_MS, Math.ceil((c * 1000) / cfg.RATE_CAP));
/** The re-encoded phase's extra path: the reference Worker relaying in JavaScript (bench/reference). */
const JS_FLOOR = 'reference-js';
/** The concurrency phase's extra paths: the reference doing `units` of CPU work per call (cfg.WORK). */
const withWork = (units) => `reference+${units}`;
const ADMIN_KEY = `bench-admin-${Math.random().toString(36).slice(2)}`;

// ---------------------------------------------------------------- child processes
/** Process groups we started; each is killed on the way out, whatever happens. */
const groups = new Set();
function killGroups(signal) {
  for (const pid of groups) {
    try {
      process.kill(-pid, signal);
    } catch {
      groups.delete(pid);
    }
  }
}
/** The run's scratch folder (bundles, local D1), removed on the way out. */
let scratch = null;
process.on('exit', () => {
  killGroups('SIGKILL');
  if (scratch) rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping`);
    killGroups('SIGKILL');
    process.exit(130);
  });
}

/** Runs a command in its own process group; the whole group dies on timeout. */
function run(cmd, args, { timeoutMs = 120_000, cwd = root } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, CI: 'true', PATH: `${bin}:${env.PATH}`, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
    groups.add(child.pid);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL'); // anything it left behind
      } catch {}
      groups.delete(child.pid);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}):\n${out.slice(-3000)}`));
    });
  });
}

/** Starts bench/host.mjs (Miniflare) in its own group; resolves with its Workers' URLs and pids. */
function startHost(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [join(root, 'bench', 'host.mjs'), JSON.stringify(spec)], {
      cwd: root,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'], // the host exits when this stdin closes, i.e. when we die
      env: { ...env, PATH: `${bin}:${env.PATH}`, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
    groups.add(child.pid);
    let log = '';
    let settled = false;
    const fail = (msg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${msg}\n${log.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail('the Workers did not start within 90 s'), 90_000);
    child.stderr.on('data', (d) => (log += d));
    child.stdout.on('data', (d) => {
      log += d;
      const line = /^BENCH_HOST (.*)$/m.exec(log);
      if (line && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ ...JSON.parse(line[1]), child, log: () => log });
      }
    });
    child.on('exit', (code) => {
      groups.delete(child.pid);
      fail(`the Worker host exited (${code})`);
    });
  });
}

async function stopHost(host) {
  if (!host?.child || host.child.exitCode !== null) return;
  const exited = new Promise((r) => host.child.once('exit', r));
  try {
    process.kill(-host.child.pid, 'SIGTERM');
  } catch {}
  await Promise.race([exited, sleep(5000)]);
  try {
    process.kill(-host.child.pid, 'SIGKILL');
  } catch {}
  groups.delete(host.child.pid);
}

// ---------------------------------------------------------------- helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

function pct(values, q) {
  if (!values.length) return null;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** CPU seconds of a process tree once it has gone quiet (bookkeeping after the stream counts). */
async function cpuWhenIdle(pids, maxMs = 15_000) {
  if (!pids?.length) return null;
  const until = Date.now() + maxMs;
  let last = cpuSeconds(pids);
  for (;;) {
    await sleep(300);
    const now = cpuSeconds(pids);
    if (now === last || Date.now() > until) return now;
    last = now;
  }
}

/** A small request with a timeout; resolves with status, text and milliseconds. */
function request(url, method, body, headers = {}, agent = undefined) {
  return new Promise((resolve, reject) => {
    const data = body === null ? null : JSON.stringify(body);
    const t0 = clock();
    const req = http.request(url, {
      method,
      agent,
      headers:
        data === null
          ? headers
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers },
      timeout: 30_000,
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text, ms: clock() - t0 }));
      res.on('error', reject);
    });
    req.end(data ?? undefined);
  });
}

// An OpenAI chunk's own fields, or the `<seq@sent>` an Anthropic or Gemini chunk carries in its text.
const STAMP = /"x_seq":(\d+),"x_sent":([\d.]+)|<(\d+)@([\d.]+)>/g;
const RECEIVED = /"x_recv":([\d.]+)/;

/**
 * One streamed request. TTFT: request start to the arrival of the first content chunk.
 * Per-chunk delay: each chunk's arrival minus the upstream's send stamp.
 */
function streamOnce(target, shape, { agent, timeoutMs }) {
  return new Promise((resolve) => {
    // reach: request start to its arrival at the upstream (the Worker's work before it asks)
    // sent: each chunk's stamp (when the upstream sent it), beside its delay
    const r = {
      ok: false,
      error: null,
      ttft: null,
      reach: null,
      delays: [],
      sent: [],
      chunks: 0,
      inOrder: true,
      done: false,
    };
    const data = target.body(shape, true);
    let finished = false;
    const finish = (err) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (err && !r.error) r.error = err;
      r.ok = !r.error && r.done && r.inOrder && r.chunks === shape.n;
      if (!r.ok && !r.error)
        r.error = `incomplete: ${r.chunks}/${shape.n} chunks${r.done ? '' : ', no [DONE]'}${r.inOrder ? '' : ', out of order'}`;
      resolve(r);
    };
    const t0 = clock();
    r.t0 = t0;
    const req = http.request(target.base + target.streamPath, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...target.headers },
    });
    const timer = setTimeout(() => {
      finish(`timeout after ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => finish(e.message));
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('error', (e) => finish(e.message));
      res.on('aborted', () => finish('response aborted'));
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => finish(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        return;
      }
      let buf = '';
      res.on('data', (s) => {
        const now = clock();
        buf += s.includes('\r') ? s.replace(/\r\n/g, '\n') : s; // Gemini's own events end lines with CRLF
        const cut = buf.lastIndexOf('\n\n');
        if (cut < 0) return;
        const text = buf.slice(0, cut + 2);
        buf = buf.slice(cut + 2);
        STAMP.lastIndex = 0;
        for (let m; (m = STAMP.exec(text));) {
          const i = Number(m[1] ?? m[3]);
          if (i !== r.chunks) r.inOrder = false;
          r.chunks++;
          if (i === 0) {
            r.ttft = now - t0;
            const recv = RECEIVED.exec(text);
            if (recv) r.reach = Number(recv[1]) - t0;
          }
          const sent = Number(m[2] ?? m[4]);
          r.delays.push(now - sent);
          r.sent.push(sent);
        }
        if (text.includes(target.done ?? 'data: [DONE]')) r.done = true;
        const e = text.indexOf('data: {"error"');
        if (e >= 0) r.error = `error event: ${text.slice(e + 6, e + 206)}`;
      });
      res.on('end', () => finish());
    });
    req.end(data);
  });
}

/** One non-streaming request: start to the last byte of a 200 answer carrying the content. */
function callOnce(target, shape, { agent, timeoutMs }) {
  return new Promise((resolve) => {
    const data = target.body(shape, false);
    let finished = false;
    const finish = (ms, error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ ok: !error, ms, error });
    };
    const t0 = clock();
    const req = http.request(target.base + target.callPath, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...target.headers },
    });
    const timer = setTimeout(() => {
      finish(null, `timeout after ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => finish(null, e.message));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('error', (e) => finish(null, e.message));
      res.on('end', () => {
        const ms = clock() - t0;
        if (res.statusCode !== 200) return finish(null, `HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        if (!text.includes(`t${shape.n - 1} `)) return finish(null, `answer lacks its content: ${text.slice(0, 200)}`);
        finish(ms, null);
      });
    });
    req.end(data);
  });
}

/** Modules in a `wrangler deploy --dry-run --outdir` folder, with raw and gzip sizes. */
function bundleSizes(outdir, wranglerOutput) {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.endsWith('.map') && relative(outdir, p) !== 'README.md') files.push(p);
    }
  };
  walk(outdir);
  const modules = files.map((p) => {
    const raw = readFileSync(p);
    return { module: relative(outdir, p), bytes: statSync(p).size, gzip: gzipSync(raw).length };
  });
  const main = modules.find((m) => m.module === 'index.js') ?? modules[0];
  const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(wranglerOutput);
  return {
    modules,
    worker_gzip_bytes: main.gzip,
    worker_bytes: main.bytes,
    total_bytes: sum(modules.map((m) => m.bytes)),
    total_gzip_bytes: sum(modules.map((m) => m.gzip)),
    wrangler_reported: reported ? { total_kib: Number(reported[1]), gzip_kib: Number(reported[2]) } : null,
  };
}

function progress(label, done, total) {
  if (!process.stderr.isTTY) {
    if (done === total || done % Math.max(1, Math.round(total / 4)) === 0)
      console.error(`  ${label}: ${done}/${total}`);
    return;
  }
  process.stderr.write(`\r  ${label}: ${done}/${total}   ${done === total ? '\n' : ''}`);
}

// ---------------------------------------------------------------- phases
async function sequentialStreams(targets, shape, count, label) {
  const acc = Object.fromEntries(
    targets.map((t) => [t.name, { ttft: [], reach: [], delays: [], errors: 0, lastError: null }]),
  );
  const timeoutMs = shape.first + shape.n * shape.gap + 15_000;
  for (let i = 0; i < count; i++) {
    for (const t of rotate(targets, i)) {
      const r = await streamOnce(t, shape, { agent: t.agent, timeoutMs });
      const a = acc[t.name];
      if (!r.ok) {
        a.errors++;
        a.lastError = r.error;
        continue;
      }
      a.ttft.push(r.ttft);
      if (r.reach !== null) a.reach.push(r.reach);
      for (const d of r.delays) a.delays.push(d);
    }
    progress(label, i + 1, count);
  }
  return acc;
}

async function sequentialCalls(targets, shape, count, label) {
  const acc = Object.fromEntries(targets.map((t) => [t.name, { ms: [], errors: 0, lastError: null }]));
  const timeoutMs = shape.first + shape.n * shape.gap + 15_000;
  for (let i = 0; i < count; i++) {
    for (const t of rotate(targets, i)) {
      const r = await callOnce(t, shape, { agent: t.agent, timeoutMs });
      const a = acc[t.name];
      if (r.ok) a.ms.push(r.ms);
      else {
        a.errors++;
        a.lastError = r.error;
      }
    }
    progress(label, i + 1, count);
  }
  return acc;
}

/** `c` streams at once against one path (starts spread over a second), with its CPU and memory. */
async function concurrentRound(t, c, shape) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const rampMs = Math.min(1000, c * 2);
  const cpu0 = await cpuWhenIdle(t.pids);
  const d1Cpu0 = await cpuWhenIdle(t.d1Pids);
  let peakRss = t.pids.length ? rssBytes(t.pids) : null;
  const sampler = t.pids.length ? setInterval(() => (peakRss = Math.max(peakRss, rssBytes(t.pids))), 200) : null;
  const timeoutMs = rampMs + shape.first + shape.n * shape.gap + 30_000;
  const started = clock();
  const results = await Promise.all(
    Array.from({ length: c }, (_, i) => sleep((i * rampMs) / c).then(() => streamOnce(t, shape, { agent, timeoutMs }))),
  );
  const wallMs = clock() - started;
  if (sampler) clearInterval(sampler);
  const cpu1 = await cpuWhenIdle(t.pids);
  const d1Cpu1 = await cpuWhenIdle(t.d1Pids);
  agent.destroy();
  const ok = results.filter((r) => r.ok);
  const errors = results.filter((r) => !r.ok);
  return {
    started: c,
    completed: ok.length,
    errors: errors.length,
    error_samples: [...new Set(errors.map((r) => r.error))].slice(0, 3),
    ttft: results.filter((r) => r.ttft !== null).map((r) => r.ttft),
    delays: results.flatMap((r) => r.delays),
    steady_delays: steadyDelays(results),
    chunks: sum(results.map((r) => r.chunks)),
    cpu_s: cpu0 === null ? null : cpu1 - cpu0,
    d1_cpu_s: d1Cpu0 === null ? null : d1Cpu1 - d1Cpu0,
    peak_rss: peakRss,
    wall_ms: wallMs,
  };
}

/**
 * The delays of chunks sent once every stream of a round had its first token: the round's steady
 * state, without the burst of requests being admitted and opened while streams start.
 */
function steadyDelays(results) {
  const open = Math.max(...results.map((r) => (r.ttft === null ? -Infinity : r.t0 + r.ttft)));
  return results.flatMap((r) => r.delays.filter((_, i) => r.sent[i] > open));
}

/**
 * One stream whose reader takes SLOW_READ bytes a second for SLOW_S seconds, from an upstream that
 * writes as fast as its socket drains; then reads the rest at full speed and checks every chunk.
 */
async function slowReader(t, upstream) {
  const id = `slow-${t.name}-${Date.now()}`;
  const shape = { first: 0, n: cfg.SLOW_CHUNKS, pad: cfg.SLOW_PAD, gap: 0, id };
  const agent = new http.Agent({ keepAlive: false });
  const rssBefore = t.pids.length ? rssBytes(t.pids) : null;
  const data = t.body(shape, true);
  const decoder = new StringDecoder('utf8');
  const state = { chunks: 0, inOrder: true, done: false, readBytes: 0, buf: '' };
  const take = (buf) => {
    if (!buf) return;
    state.readBytes += buf.length;
    state.buf += decoder.write(buf);
    const cut = state.buf.lastIndexOf('\n\n');
    if (cut < 0) return;
    const text = state.buf.slice(0, cut + 2);
    state.buf = state.buf.slice(cut + 2);
    STAMP.lastIndex = 0;
    for (let m; (m = STAMP.exec(text));) {
      if (Number(m[1]) !== state.chunks) state.inOrder = false;
      state.chunks++;
    }
    if (text.includes('data: [DONE]')) state.done = true;
  };
  const req = http.request(t.base + t.streamPath, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...t.headers },
  });
  const res = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('slow reader: no response within 30 s')), 30_000);
    req.on('error', reject);
    req.on('response', (r) => (clearTimeout(timer), resolve(r)));
    req.end(data);
  });
  if (res.statusCode !== 200) throw new Error(`slow reader: HTTP ${res.statusCode} from ${t.name}`);
  const samples = [];
  for (let s = 1; s <= cfg.SLOW_S; s++) {
    await sleep(1000);
    take(res.read(cfg.SLOW_READ) ?? res.read());
    const up = await upstream.firehose(id);
    samples.push({
      s,
      rss: t.pids.length ? rssBytes(t.pids) : null,
      read_bytes: state.readBytes,
      upstream_bytes: up?.bytes ?? 0,
      upstream_chunks: up?.written ?? 0,
      upstream_blocked: up?.blocked ?? false,
    });
  }
  const held = await upstream.firehose(id);
  // Now read everything at full speed: every chunk must arrive, in order.
  let drainPeak = t.pids.length ? rssBytes(t.pids) : null;
  const sampler = t.pids.length ? setInterval(() => (drainPeak = Math.max(drainPeak, rssBytes(t.pids))), 100) : null;
  const drained = await new Promise((resolve) => {
    const timer = setTimeout(() => (req.destroy(), resolve('timeout after 120 s')), 120_000);
    res.on('data', take);
    res.on('end', () => (clearTimeout(timer), resolve(null)));
    res.on('error', (e) => (clearTimeout(timer), resolve(e.message)));
    res.resume();
  });
  if (sampler) clearInterval(sampler);
  agent.destroy();
  const first = samples[0];
  const last = samples.at(-1);
  const rssValues = samples.map((s) => s.rss).filter((v) => v !== null);
  return {
    seconds: cfg.SLOW_S,
    stream_bytes: held?.bytes && held.done ? held.bytes : null,
    stream_chunks: cfg.SLOW_CHUNKS,
    rss_before: rssBefore,
    rss_hold_growth: rssValues.length ? Math.max(...rssValues) - rssValues[0] : null,
    rss_drain_peak: drainPeak,
    upstream_writes_refused: held?.writesRefused ?? 0,
    upstream_blocked_ms: held?.blockedMs ?? 0,
    upstream_blocked_at_end: last.upstream_blocked,
    upstream_written_at_end: last.upstream_chunks,
    upstream_growth_during_hold: last.upstream_bytes - first.upstream_bytes,
    read_growth_during_hold: last.read_bytes - first.read_bytes,
    in_flight_bytes: last.upstream_bytes - last.read_bytes,
    chunks_received: state.chunks,
    in_order: state.inOrder,
    done: state.done,
    error: drained,
    samples,
  };
}

/** PROFILE=1: starts sampling every isolate of both Workers' processes. */
async function startProfiles(host) {
  const sessions = [];
  for (const name of Object.keys(host.workers).filter((n) => host.workers[n].inspector))
    for (const isolate of await isolates(host.workers[name].inspector))
      sessions.push({ name, isolate: isolate.id, session: await startProfile(isolate.url) });
  return {
    stop: () =>
      Promise.all(sessions.map(async (s) => ({ name: s.name, isolate: s.isolate, profile: await s.session.stop() }))),
  };
}

/**
 * PROFILE=1: CPU per request of every isolate, each busy isolate's profile written to BENCH_OUT
 * (`sluice.cpuprofile` for Sluice's own, `sluice.d1-db.cpuprofile` for its D1 simulator...), and
 * the functions Sluice's own isolate spends most on.
 */
function reportProfiles(profiles, requests) {
  const perRequest = (ms) => (ms / requests).toFixed(2).padStart(7);
  let top = [];
  console.error(`\nisolate CPU per sequential stream (inspector; runtime-native work inside an isolate included):`);
  for (const { name, isolate, profile } of profiles) {
    const summary = summarize(profile, { limit: 30 });
    if (summary.busy_ms / requests < 0.005) continue; // idle all along
    console.error(`  ${perRequest(summary.busy_ms)} ms  ${name.padEnd(9)} ${isolate}`);
    const own = isolate === `core:user:${name}`;
    const file = own ? `${name}.cpuprofile` : `${name}.${isolate.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`;
    writeFileSync(join(outDir, file), JSON.stringify(profile));
    if (own && name === 'sluice') top = summary.top;
  }
  console.error(`sluice, top functions by self time (${outPath('sluice.cpuprofile')}):`);
  for (const t of top) console.error(`  ${perRequest(t.ms)} ms ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.fn}`);
}

// ---------------------------------------------------------------- main
async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  scratch = tmp;
  mkdirSync(outDir, { recursive: true });
  let upstream;
  let host;
  const wrangler = join(bin, 'wrangler');
  try {
    console.error(`Sluice bench${quick ? ' (QUICK)' : ''}: ${JSON.stringify(cfg)}`);
    upstream = await startUpstream({ first: cfg.FIRST_MS, n: cfg.N, gap: cfg.GAP_MS });
    console.error(`upstream on ${upstream.url}`);

    // SLUICE_REV=<commit> benchmarks that commit (exported with `git archive`) instead of the work tree.
    const exportRev = async (rev, dir) => {
      mkdirSync(dir);
      console.error(`exporting Sluice at ${rev}...`);
      await run('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'export', root, rev, dir]);
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
      return dir;
    };
    const app = env.SLUICE_REV ? await exportRev(env.SLUICE_REV, join(tmp, 'sluice-src')) : root;
    const baselineApp = baselineRev ? await exportRev(baselineRev, join(tmp, 'baseline-src')) : null;
    console.error('building the production bundles (wrangler deploy --dry-run)...');
    for (const dir of [app, baselineApp].filter(Boolean))
      await run('npm', ['run', '--if-present', 'prebuild'], { cwd: dir }); // generated modules, if the project has any
    const sluiceOut = join(tmp, 'sluice-dist');
    const baselineOut = join(tmp, 'baseline-dist');
    const refOut = join(tmp, 'reference-dist');
    const [sluiceBuild] = await Promise.all([
      run(wrangler, ['deploy', '--dry-run', '--outdir', sluiceOut], { cwd: app }),
      ...(baselineApp ? [run(wrangler, ['deploy', '--dry-run', '--outdir', baselineOut], { cwd: baselineApp })] : []),
      run(wrangler, [
        'deploy',
        '--dry-run',
        '--outdir',
        refOut,
        '--config',
        join(root, 'bench/reference/wrangler.toml'),
      ]),
    ]);
    const bundle = bundleSizes(sluiceOut, sluiceBuild);

    console.error('fresh local D1: migrations and the bench model row...');
    const persist = join(tmp, 'state');
    await run(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], { cwd: app });
    await run(
      wrangler,
      [
        'd1',
        'execute',
        'DB',
        '--local',
        '--persist-to',
        persist,
        '--command',
        `INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok) VALUES ('bench', 'openai', 'bench', '${upstream.url}/v1', 1, 2), ('bench-anthropic', 'anthropic', 'bench', '${upstream.url}', 1, 2), ('bench-gemini', 'gemini', 'bench', '${upstream.url}', 1, 2)`,
      ],
      { cwd: app },
    );

    console.error('starting the Workers in workerd (Miniflare)...');
    const sluiceBindings = {
      ADMIN_API_KEY: ADMIN_KEY,
      OPENAI_API_KEY: 'sk-bench',
      ANTHROPIC_API_KEY: 'sk-ant-bench',
      GEMINI_API_KEY: 'gm-bench',
    };
    const d1Apart = cfg.D1 === 'apart';
    host = await startHost({
      workers: [
        ...(d1Apart
          ? [
              {
                name: 'd1',
                config: join(app, 'wrangler.toml'),
                script: join(root, 'bench', 'd1-host.worker.js'),
                persist: join(persist, 'v3'),
                inspect: cfg.PROFILE,
              },
            ]
          : []),
        {
          name: 'sluice',
          config: join(app, 'wrangler.toml'),
          outdir: sluiceOut,
          ...(d1Apart ? { d1From: 'd1' } : { persist: join(persist, 'v3') }),
          inspect: cfg.PROFILE,
          bindings: sluiceBindings,
        },
        ...(baselineApp
          ? [
              {
                name: 'baseline',
                config: join(baselineApp, 'wrangler.toml'),
                outdir: baselineOut,
                d1From: 'd1',
                inspect: cfg.PROFILE,
                bindings: sluiceBindings,
              },
            ]
          : []),
        {
          name: 'reference',
          config: join(root, 'bench', 'reference', 'wrangler.toml'),
          like: join(app, 'wrangler.toml'),
          outdir: refOut,
          inspect: cfg.PROFILE,
          bindings: { UPSTREAM_URL: `${upstream.url}/v1` },
        },
      ],
    });
    const sluiceUrl = host.workers.sluice.url;
    const team = await request(
      `${sluiceUrl}/admin/teams`,
      'POST',
      { team_id: 'bench', name: 'Bench', credits: 10_000_000 },
      { 'x-admin-key': ADMIN_KEY },
    );
    if (team.status !== 201) throw new Error(`creating the bench team failed: ${team.status} ${team.text}`);
    const keyRes = await request(
      `${sluiceUrl}/admin/teams/bench/keys`,
      'POST',
      { name: 'bench' },
      { 'x-admin-key': ADMIN_KEY },
    );
    if (keyRes.status !== 201) throw new Error(`issuing the bench key failed: ${keyRes.status} ${keyRes.text}`);
    const key = JSON.parse(keyRes.text).key;

    const messages = (shape) => [
      { role: 'system', content: 'You are a benchmark.' },
      { role: 'user', content: JSON.stringify(shape) },
    ];
    const openaiBody = (shape, stream) =>
      JSON.stringify({
        model: 'bench',
        messages: messages(shape),
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
      });
    const keepAlive = () => new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const targets = [
      {
        name: 'direct',
        base: upstream.url,
        streamPath: '/v1/chat/completions',
        callPath: '/v1/chat/completions',
        headers: {},
        body: openaiBody,
        pids: [],
        agent: keepAlive(),
      },
      {
        name: 'reference',
        base: host.workers.reference.url,
        streamPath: '/v1/chat/completions',
        callPath: '/v1/chat/completions',
        headers: {},
        body: openaiBody,
        pids: host.workers.reference.pids,
        agent: keepAlive(),
      },
      {
        name: 'sluice',
        base: sluiceUrl,
        streamPath: '/api/jobs/create-and-call-stream',
        callPath: '/api/jobs/create-and-call',
        headers: { authorization: `Bearer ${key}` },
        body: (shape) =>
          JSON.stringify({ team_id: 'bench', job_type: 'bench', model: 'bench', messages: messages(shape) }),
        pids: host.workers.sluice.pids,
        d1Pids: host.workers.d1?.pids ?? [], // the local D1's own process, when it runs apart
        agent: keepAlive(),
      },
    ];
    const byName = (name) => targets.find((t) => t.name === name);
    // The baseline Sluice (BASELINE_REV) shares the bench team and key: both use the same local D1.
    const seqTargets = baselineApp
      ? [
          ...targets,
          {
            ...byName('sluice'),
            name: 'baseline',
            base: host.workers.baseline.url,
            pids: host.workers.baseline.pids,
            agent: keepAlive(),
          },
        ]
      : targets;
    for (const t of seqTargets)
      if (t.name !== 'direct' && !t.pids.length) throw new Error(`no workerd process found for ${t.name}`);

    // Streams Sluice must re-encode: the reference forwards the provider's own events (its URL
    // keeps the path after /v1), Sluice answers OpenAI chunks for a catalog model of that provider.
    const RECODED = {
      anthropic: {
        streamPath: '/v1/messages',
        done: 'event: message_stop',
        body: (shape) =>
          JSON.stringify({
            model: 'bench',
            max_tokens: 1024,
            stream: true,
            messages: [{ role: 'user', content: JSON.stringify(shape) }],
          }),
      },
      gemini: {
        streamPath: '/v1/v1beta/models/bench:streamGenerateContent?alt=sse',
        done: '"finishReason":"STOP"',
        body: (shape) => JSON.stringify({ contents: [{ role: 'user', parts: [{ text: JSON.stringify(shape) }] }] }),
      },
    };
    const recodeTargets = (provider) => [
      { ...byName('reference'), ...RECODED[provider] },
      // The same Worker moving each chunk through JavaScript: what touching every chunk costs at all.
      { ...byName('reference'), ...RECODED[provider], name: JS_FLOOR, headers: { 'x-bench-relay': 'js' } },
      // Sluice, and its baseline when there is one (the same request: both share the bench team).
      ...seqTargets
        .filter((t) => t.name === 'sluice' || t.name === 'baseline')
        .map((t) => ({
          ...t,
          body: (shape) =>
            JSON.stringify({
              team_id: 'bench',
              job_type: 'bench',
              model: `bench-${provider}`,
              messages: messages(shape),
            }),
        })),
    ];

    // Every path must work before anything is measured.
    for (const t of cfg.RECODE ? Object.keys(RECODED).flatMap(recodeTargets) : []) {
      const s = await streamOnce(t, { first: 1, n: 5, gap: 1 }, { agent: t.agent, timeoutMs: 15_000 });
      if (!s.ok) await sleep(500);
      if (!s.ok)
        throw new Error(`${t.name} (${t.streamPath}): a test stream failed: ${s.error}\n${host.log().slice(-3000)}`);
    }
    for (const t of seqTargets) {
      const s = await streamOnce(t, { first: 1, n: 5, gap: 1 }, { agent: t.agent, timeoutMs: 15_000 });
      if (!s.ok) await sleep(500); // let the Worker's own log line arrive
      if (!s.ok) throw new Error(`${t.name}: a test stream failed: ${s.error}\n${host.log().slice(-3000)}`);
      const c = await callOnce(t, { first: 1, n: 5, gap: 0 }, { agent: t.agent, timeoutMs: 15_000 });
      if (!c.ok) await sleep(500);
      if (!c.ok) throw new Error(`${t.name}: a test call failed: ${c.error}\n${host.log().slice(-3000)}`);
    }

    const seqShape = { first: cfg.FIRST_MS, n: cfg.SEQ_N, gap: cfg.GAP_MS };
    const callShape = { first: cfg.FIRST_MS, n: cfg.SEQ_N, gap: 0 };
    console.error(`warm-up: ${cfg.WARMUP} streams and ${cfg.WARMUP} calls per path`);
    await sequentialStreams(seqTargets, seqShape, cfg.WARMUP, 'warm-up streams');
    await sequentialCalls(seqTargets, callShape, cfg.WARMUP, 'warm-up calls');

    // Each Worker's process, and Sluice's local D1 as `d1` when it runs in a process of its own.
    const cpuNow = async () =>
      Object.fromEntries(
        await Promise.all(
          [...seqTargets, { name: 'd1', pids: byName('sluice').d1Pids }].map(async (t) => [
            t.name,
            await cpuWhenIdle(t.pids),
          ]),
        ),
      );
    const cpuSince = (before, after) =>
      Object.fromEntries(Object.keys(before).map((k) => [k, before[k] === null ? null : after[k] - before[k]]));
    console.error(`sequential streams: ${cfg.SEQ} per path, ${cfg.SEQ_N} chunks each, interleaved`);
    const cpu0 = await cpuNow();
    const profiling = cfg.PROFILE ? await startProfiles(host) : null;
    const seq = await sequentialStreams(seqTargets, seqShape, cfg.SEQ, 'streams');
    if (profiling) reportProfiles(await profiling.stop(), cfg.SEQ);
    const cpu1 = await cpuNow();
    console.error(`sequential non-streaming calls: ${cfg.SEQ} per path, interleaved`);
    const calls = await sequentialCalls(seqTargets, callShape, cfg.SEQ, 'calls');
    const cpu2 = await cpuNow();
    seq.cpu = cpuSince(cpu0, cpu1);
    calls.cpu = cpuSince(cpu1, cpu2);

    // Where Sluice's time goes: its cheapest routes, each on its own (no upstream involved).
    const sluice = targets.find((t) => t.name === 'sluice');
    const diag = {};
    const probes = [
      ['GET /health (routing only)', 'GET', '/health', null],
      ['GET /api/teams/{id}/credits (key auth + one D1 read batch)', 'GET', '/api/teams/bench/credits', null],
      [
        'POST /api/jobs/create (key auth + the job insert and credit hold batch)',
        'POST',
        '/api/jobs/create',
        { team_id: 'bench', job_type: 'bench' },
      ],
    ];
    console.error(`Sluice's own routes: ${cfg.DIAG} requests each`);
    for (const [label, method, path, body] of probes) {
      const ms = [];
      const before = await cpuWhenIdle(sluice.pids);
      for (let i = 0; i < cfg.DIAG; i++) {
        const r = await request(sluice.base + path, method, body, sluice.headers, sluice.agent);
        if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
        ms.push(r.ms);
      }
      const cpuMs = ((await cpuWhenIdle(sluice.pids)) - before) * 1000;
      diag[label] = {
        requests: ms.length,
        p50: pct(ms, 0.5),
        p99: pct(ms, 0.99),
        cpu_ms_per_request: cpuMs / ms.length,
      };
    }

    // CPU split: the same stream at two lengths gives the cost per chunk (slope) and per call (rest).
    const split = {};
    const sizes = [20, 220];
    console.error(`CPU split: ${cfg.SPLIT} streams of ${sizes.join(' and ')} chunks per Worker`);
    for (const t of targets.filter((x) => x.pids.length)) {
      const cpuMs = {};
      for (const n of sizes) {
        const shape = { first: 1, n, gap: 1 }; // one write per chunk, as a paced stream sends them
        const before = await cpuWhenIdle(t.pids);
        for (let i = 0; i < cfg.SPLIT; i++) {
          const r = await streamOnce(t, shape, { agent: t.agent, timeoutMs: 30_000 });
          if (!r.ok) throw new Error(`CPU split, ${t.name}: ${r.error}`);
        }
        cpuMs[n] = (((await cpuWhenIdle(t.pids)) - before) * 1000) / cfg.SPLIT;
      }
      const perChunkUs = ((cpuMs[220] - cpuMs[20]) / 200) * 1000;
      split[t.name] = {
        cpu_ms_per_stream: cpuMs,
        per_chunk_us: perChunkUs,
        per_call_ms: cpuMs[20] - (20 * perChunkUs) / 1000,
      };
    }

    const perCall = await cpuPerCall(seqTargets.filter((t) => t.pids.length));

    await sleep(1000);
    const idleRss = Object.fromEntries(targets.map((t) => [t.name, t.pids.length ? rssBytes(t.pids) : null]));

    const conc = {};
    for (const c of cfg.CONC) {
      const shape = { first: cfg.FIRST_MS, n: cfg.N, gap: concGap(c) };
      conc[c] = Object.fromEntries(targets.map((t) => [t.name, []]));
      const worked =
        c === cfg.CONC[0]
          ? cfg.WORK.map((units) => ({
              ...byName('reference'),
              name: withWork(units),
              headers: { 'x-bench-work': String(units) },
            }))
          : [];
      for (let round = 0; round < cfg.CONC_ROUNDS; round++) {
        for (const t of rotate([...targets, ...worked], round)) {
          console.error(`concurrency ${c} (${shape.n} chunks every ${shape.gap} ms), round ${round + 1}: ${t.name}`);
          (conc[c][t.name] ??= []).push(await concurrentRound(t, c, shape));
        }
      }
    }

    const recode = {};
    for (const [k, provider] of (cfg.RECODE ? Object.keys(RECODED) : []).entries()) {
      const c = cfg.RECODE;
      const shape = { first: cfg.FIRST_MS, n: cfg.N, gap: concGap(c) };
      recode[provider] = {};
      for (let round = 0; round < cfg.CONC_ROUNDS; round++) {
        for (const t of rotate(recodeTargets(provider), k + round)) {
          console.error(
            `re-encoded streams, ${provider}: ${c} concurrent (${shape.n} chunks every ${shape.gap} ms), round ${round + 1}: ${t.name}`,
          );
          (recode[provider][t.name] ??= []).push(await concurrentRound(t, c, shape));
        }
      }
    }

    const slow = {};
    for (const t of targets) {
      console.error(`slow reader: ${t.name} (${cfg.SLOW_S} s at ${cfg.SLOW_READ} bytes/s, then drained)`);
      slow[t.name] = await slowReader(t, upstream);
      await sleep(1000);
    }

    const runtimeLog = runtimeTrouble(host.log());
    const results = report({
      targets,
      seq,
      calls,
      diag,
      split,
      perCall,
      idleRss,
      conc,
      recode,
      slow,
      bundle,
      runtimeLog,
    });
    if (baselineApp) results.baseline = baselineReport(seq, calls, perCall, recode);
    writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(`\nresults written to ${outPath('results.json')}`);
    // BENCH_STRICT=1 turns a missed target into a failing exit code (for CI).
    return env.BENCH_STRICT === '1' && !results.targets.every((t) => t.met) ? 2 : 0;
  } finally {
    // Everything the Workers and workerd logged (errors and warnings included), for the run's record.
    if (host) writeFileSync(join(outDir, 'host.log'), host.log());
    await stopHost(host);
    await upstream?.close().catch(() => {});
    killGroups('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** What the rounds of one path at one concurrency add up to. */
function roundStats(rounds) {
  const all = (field) => rounds.flatMap((r) => r[field]);
  const chunks = sum(rounds.map((r) => r.chunks));
  const cpu = rounds[0].cpu_s === null ? null : sum(rounds.map((r) => r.cpu_s));
  const d1Cpu = rounds[0].d1_cpu_s === null ? null : sum(rounds.map((r) => r.d1_cpu_s));
  return {
    streams: sum(rounds.map((r) => r.started)),
    completed: sum(rounds.map((r) => r.completed)),
    errors: sum(rounds.map((r) => r.errors)),
    error_samples: [...new Set(rounds.flatMap((r) => r.error_samples))].slice(0, 3),
    ttft_p50: pct(all('ttft'), 0.5),
    ttft_p99: pct(all('ttft'), 0.99),
    chunk_p50: pct(all('delays'), 0.5),
    chunk_p99: pct(all('delays'), 0.99),
    steady_chunk_p99: pct(all('steady_delays'), 0.99),
    steady_chunks: all('steady_delays').length,
    chunks,
    cpu_s: cpu,
    d1_cpu_s: d1Cpu,
    cpu_us_per_chunk: cpu === null || !chunks ? null : (cpu * 1e6) / chunks,
    d1_cpu_us_per_chunk: d1Cpu === null || !chunks ? null : (d1Cpu * 1e6) / chunks,
    peak_rss: rounds[0].peak_rss === null ? null : Math.max(...rounds.map((r) => r.peak_rss)),
    wall_ms: rounds.map((r) => Math.round(r.wall_ms)),
  };
}

// ---------------------------------------------------------------- report
/**
 * What workerd says it did to requests behind their back: continuations it canceled because the
 * request that was to run them had already ended (cross-request promises), requests it
 * canceled as hung, and code that ran in another request's context and touched its own I/O.
 * Each is a request or a `waitUntil` task that did not finish its work.
 */
function runtimeTrouble(log) {
  const count = (re) => (log.match(re) ?? []).length;
  return {
    canceled_continuations: count(/A promise was resolved or rejected from a different request context/g),
    hung_requests: count(/detected that your Worker's code had hung/g),
    cross_request_io: count(/Cannot perform I\/O on behalf of a different request/g),
  };
}

function report({ targets, seq, calls, diag, split, perCall, idleRss, conc, recode, slow, bundle, runtimeLog }) {
  const names = targets.map((t) => t.name);
  const per = (fn) => Object.fromEntries(names.map((n) => [n, fn(n)]));
  const levels = Object.keys(conc).map(Number);
  const concStats = Object.fromEntries(levels.map((c) => [c, per((n) => roundStats(conc[c][n]))]));
  const seqStats = per((n) => ({
    requests: seq[n].ttft.length,
    errors: seq[n].errors,
    last_error: seq[n].lastError,
    ttft_p50: pct(seq[n].ttft, 0.5),
    ttft_p99: pct(seq[n].ttft, 0.99),
    reach_p50: pct(seq[n].reach, 0.5),
    reach_p99: pct(seq[n].reach, 0.99),
    chunk_p50: pct(seq[n].delays, 0.5),
    chunk_p99: pct(seq[n].delays, 0.99),
    chunks: seq[n].delays.length,
  }));
  seqStats.cpu_ms_per_request = per((n) => (seq.cpu[n] === null ? null : (seq.cpu[n] * 1000) / cfg.SEQ));
  const callStats = per((n) => ({
    requests: calls[n].ms.length,
    errors: calls[n].errors,
    last_error: calls[n].lastError,
    p50: pct(calls[n].ms, 0.5),
    p99: pct(calls[n].ms, 0.99),
  }));
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

  // ---- the table
  const MiB = 1024 * 1024;
  const f = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
  const sgn = (v, d = 2) =>
    v === null || v === undefined || Number.isNaN(v) ? '-' : (v >= 0 ? '+' : '') + v.toFixed(d);
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
  row('  CPU per chunk, all concurrency phases (us)', cpuTotal, 1);
  d1Row('  local D1 process CPU per chunk, all concurrency phases (us)', d1CpuTotal.sluice, 1);
  row(
    `  CPU split: per chunk, slope of ${cfg.SPLIT} streams of 20 vs 220 chunks (us)`,
    per((n) => split[n]?.per_chunk_us ?? null),
    1,
  );
  row(
    '  CPU split: per call, the rest (ms)',
    per((n) => split[n]?.per_call_ms ?? null),
  );
  row(
    `  CPU per short stream (${SHORT_STREAM.n} chunks), ${cfg.CALL_ROUNDS} rounds of ${cfg.CALL_STREAMS} (ms)`,
    per((n) => perCall[n]?.cpu_ms_per_stream ?? null),
    3,
  );
  row(
    '  RSS idle (MiB)',
    per((n) => (idleRss[n] === null ? null : idleRss[n] / MiB)),
    1,
  );
  const recodeStats = Object.fromEntries(
    Object.entries(recode).map(([provider, byPath]) => [
      provider,
      {
        ...per((n) => (byPath[n] ? roundStats(byPath[n]) : null)),
        [JS_FLOOR]: byPath[JS_FLOOR] ? roundStats(byPath[JS_FLOOR]) : null,
      },
    ]),
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
    per((n) => (ok(slow[n]) ? 'yes' : `NO (${slow[n].chunks_received})`)),
    0,
    false,
  );
  row(
    '  RSS peak while drained (MiB)',
    per((n) => (slow[n].rss_drain_peak === null ? null : slow[n].rss_drain_peak / MiB)),
    1,
  );
  section('production bundle (wrangler deploy --dry-run)');
  const KiB = 1024;
  rows.push(['  Worker code, gzip (KiB)', '', '', f(bundle.worker_gzip_bytes / KiB, 1), '', '']);
  rows.push(['  total upload, gzip (KiB)', '', '', f(bundle.total_gzip_bytes / KiB, 1), '', '']);
  rows.push(['  total upload, raw (KiB)', '', '', f(bundle.total_bytes / KiB, 1), '', '']);

  section(
    `Sluice's own routes, no upstream (${cfg.DIAG} sequential requests each): latency p50 / p99, CPU per request (ms)`,
  );
  for (const [label, v] of Object.entries(diag))
    rows.push([`  ${label}`, '', '', `${f(v.p50)} / ${f(v.p99)}`, `cpu ${f(v.cpu_ms_per_request)}`, '']);

  const header = ['', 'direct', 'reference', 'sluice', 'sluice-ref', 'ref-direct'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log(
    cfg.D1 === 'apart'
      ? "\nSluice's local D1 ran in a workerd process of its own (D1=apart): Sluice's runtime rows are the Worker's process, the local D1 rows that other process."
      : "\nSluice's local D1 ran inside Sluice's workerd process (D1=shared): Sluice's runtime rows include it.",
  );

  // ---- the issue's targets
  const d = (a, b) => (a === null || b === null ? null : a - b);
  const targetsOut = [];
  const target = (name, met, figure) => targetsOut.push({ target: name, met, figure });
  const ttft50 = d(seqStats.sluice.ttft_p50, seqStats.reference.ttft_p50);
  const ttft99 = d(seqStats.sluice.ttft_p99, seqStats.reference.ttft_p99);
  target('TTFT sluice-ref p50 <= 1 ms', ttft50 !== null && ttft50 <= 1, `${sgn(ttft50)} ms`);
  target('TTFT sluice-ref p99 <= 5 ms', ttft99 !== null && ttft99 <= 5, `${sgn(ttft99)} ms`);
  const ch50 = d(seqStats.sluice.chunk_p50, seqStats.reference.chunk_p50);
  const ch99 = d(seqStats.sluice.chunk_p99, seqStats.reference.chunk_p99);
  target('per-chunk sluice-ref p50 <= 0.5 ms', ch50 !== null && ch50 <= 0.5, `${sgn(ch50, 3)} ms`);
  target('per-chunk sluice-ref p99 <= 2 ms', ch99 !== null && ch99 <= 2, `${sgn(ch99, 3)} ms`);
  const d1Note = (us) => (us === null || us === undefined ? '' : `; local D1 apart: +${f(us, 1)} us`);
  const cpuRatio = cpuTotal.sluice && cpuTotal.reference ? cpuTotal.sluice / cpuTotal.reference : null;
  target(
    'CPU per chunk <= 2x reference',
    cpuRatio !== null && cpuRatio <= 2,
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
    target(
      `CPU per chunk, ${provider} re-encoded <= 3x reference`,
      ratio !== null && ratio <= 3 && s.sluice.errors === 0,
      `${f(ratio)}x (${f(s.sluice.cpu_us_per_chunk, 1)} vs ${f(s.reference.cpu_us_per_chunk, 1)} us)${d1Note(s.sluice.d1_cpu_us_per_chunk)}${floorNote}, ${s.sluice.completed}/${s.sluice.streams} completed`,
    );
  }
  // CONC= (empty) skips the concurrency phases, and with them their targets.
  if (levels.length) {
    const p99s = concStats[small].sluice.chunk_p99;
    const p99r = concStats[small].reference.chunk_p99;
    target(
      `${small}-concurrent p99 per-chunk delay <= 2x reference`,
      p99s !== null && p99r !== null && p99s <= 2 * p99r,
      `${f(p99s, 3)} vs ${f(p99r, 3)} ms (${f(p99r ? p99s / p99r : null)}x)`,
    );
    const bigS = concStats[big].sluice;
    target(
      `${big} concurrent streams, zero errors`,
      bigS.errors === 0 && bigS.completed === bigS.streams,
      `${bigS.completed}/${bigS.streams} completed, ${bigS.errors} errors${bigS.error_samples.length ? ` (${bigS.error_samples.join('; ')})` : ''}`,
    );
  }
  const sl = slow.sluice;
  const FLAT = 4 * MiB;
  target(
    'slow reader: memory flat (RSS growth while held < 4 MiB)',
    sl.rss_hold_growth !== null && sl.rss_hold_growth < FLAT,
    `${f(sl.rss_hold_growth / MiB)} MiB`,
  );
  const pressured =
    sl.upstream_writes_refused > 0 &&
    sl.upstream_blocked_at_end &&
    sl.upstream_written_at_end < cfg.SLOW_CHUNKS &&
    sl.upstream_growth_during_hold <= sl.read_growth_during_hold + 1 * MiB;
  target(
    'slow reader: upstream back-pressured, nothing dropped',
    pressured && ok(sl),
    `upstream blocked ${(sl.upstream_blocked_ms / 1000).toFixed(1)} s, ${sl.upstream_written_at_end}/${cfg.SLOW_CHUNKS} chunks written after ${cfg.SLOW_S} s, ${f(sl.in_flight_bytes / 1024, 0)} KiB in flight; ${sl.chunks_received}/${cfg.SLOW_CHUNKS} chunks received${sl.in_order ? ' in order' : ' OUT OF ORDER'}`,
  );
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
  for (const t of targetsOut) console.log(`  ${t.met ? 'MET    ' : 'NOT MET'}  ${t.target.padEnd(tw)}  ${t.figure}`);
  if (quick) console.log('\n(QUICK=1: small counts, a smoke run; the figures are not the benchmark)');

  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_at_end: loadavg() },
    sluice_rev: env.SLUICE_REV ?? 'work tree',
    config: cfg,
    sequential_streams: seqStats,
    non_streaming: {
      ...callStats,
      cpu_ms_per_request: per((n) => (calls.cpu[n] === null ? null : (calls.cpu[n] * 1000) / cfg.SEQ)),
    },
    sluice_routes: diag,
    cpu_split: split,
    cpu_per_call: perCall,
    concurrency: concStats,
    concurrency_per_call_work: workStats,
    cpu_us_per_chunk_all_concurrency: cpuTotal,
    d1_cpu_us_per_chunk_all_concurrency: d1CpuTotal.sluice,
    reencoded: recodeStats,
    rss_idle_bytes: idleRss,
    slow_reader: slow,
    bundle,
    runtime_log: runtimeLog,
    targets: targetsOut,
  };
}

/** The short stream whose CPU stands for a call's fixed cost: three chunks, 1 ms apart. */
const SHORT_STREAM = { first: 1, n: 3, gap: 1 };
/** Short streams a Worker serves at once in the CPU per call phase. */
const CALL_CONCURRENCY = 4;

/**
 * Runtime CPU per call, measured directly: many short streams, CALL_CONCURRENCY at a time, in
 * rounds in which the Workers take turns (the order rotated every round, as in the other phases),
 * so the machine's drift reaches each alike. The CPU split's per-call figure is extrapolated from two lengths and
 * coarse (its Sluice-minus-reference spans 1.5 ms over full runs); this one is fine enough to tell
 * one Sluice's per-call work from another's (BASELINE_REV). See bench/README.md for its measured
 * noise.
 */
async function cpuPerCall(targets) {
  const streams = cfg.CALL_ROUNDS * cfg.CALL_STREAMS;
  if (!streams) return {};
  console.error(`CPU per call: ${cfg.CALL_ROUNDS} rounds of ${cfg.CALL_STREAMS} short streams per Worker`);
  const cpuS = Object.fromEntries(targets.map((t) => [t.name, 0]));
  for (let round = 0; round < cfg.CALL_ROUNDS; round++) {
    for (const t of rotate(targets, round)) {
      const before = await cpuWhenIdle(t.pids);
      let started = 0;
      const worker = async () => {
        while (started++ < cfg.CALL_STREAMS) {
          const r = await streamOnce(t, SHORT_STREAM, { agent: t.agent, timeoutMs: 15_000 });
          if (!r.ok) throw new Error(`CPU per call, ${t.name}: ${r.error}`);
        }
      };
      await Promise.all(Array.from({ length: CALL_CONCURRENCY }, worker));
      cpuS[t.name] += (await cpuWhenIdle(t.pids)) - before;
    }
  }
  return Object.fromEntries(
    targets.map((t) => [t.name, { streams, cpu_ms_per_stream: (cpuS[t.name] * 1000) / streams }]),
  );
}

/** BASELINE_REV: Sluice against its baseline in the same run: the sequential and re-encoded phases. */
function baselineReport(seq, calls, perCall, recode) {
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  console.log(`\nagainst the baseline (BASELINE_REV)`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  return out;
}

function ok(s) {
  return !s.error && s.in_order && s.done && s.chunks_received === cfg.SLOW_CHUNKS;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`\nbench failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
