#!/usr/bin/env node
// `npm run bench`: how much does Sluice add on top of a Worker that does nothing? One run compares,
// interleaved so that machine drift hits all three alike:
//   direct     the client talks to the upstream itself
//   reference  bench/reference: a Worker that only forwards the upstream's body
//   sluice     Sluice: key auth, job checks, credit hold, call bookkeeping
//   baseline   with BASELINE_REV=<commit>, that commit's Sluice too, in the sequential, re-encoded and
//              admission phases
// A phase of its own sets Sluice's routes of other client dialects (/v1/messages, /v1/responses)
// against the reference forwarding the same upstream stream; another sets resumable streams against
// the same route's plain stream, and times reattaching to one. The last, admission throughput, sets
// the account path (Sluice) against the D1 path (BASELINE_REV=1dc1608) over many teams' keys.
// Both Workers run from their production bundles (`wrangler deploy --dry-run`) in workerd through
// Miniflare's API (bench/host.mjs), one workerd process each and no `wrangler dev` proxy in front.
// The upstream (bench/upstream.mjs) and the client share one clock. See bench/README.md.
//
// This file is the run's outline: knobs (lib/config.mjs), build (lib/build.mjs), Workers and paths
// (lib/paths.mjs), the phases in order (phases/), then the tables and targets (report/).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkers, freshD1 } from './lib/build.mjs';
import { baselineRev, cfg, env, outDir, outPath, quick, runs } from './lib/config.mjs';
import { benchPaths, checkPaths, startWorkers } from './lib/paths.mjs';
import { cleanUpOnExit, killGroups, makeScratch, runtimeTrouble, stopHost } from './lib/processes.mjs';
import { rssBytes } from './lib/proc.mjs';
import { sleep } from './lib/util.mjs';
import { admission } from './phases/admission.mjs';
import { concurrency } from './phases/concurrency.mjs';
import { cpuPerCall } from './phases/cpu-per-call.mjs';
import { cpuSplit } from './phases/cpu-split.mjs';
import { dialects } from './phases/dialects.mjs';
import { reencoded } from './phases/reencoded.mjs';
import { resumable } from './phases/resumable.mjs';
import { sequentialPhases } from './phases/sequential.mjs';
import { slowReaders } from './phases/slow-reader.mjs';
import { sluiceRoutes } from './phases/sluice-routes.mjs';
import { baselineReport } from './report/baseline.mjs';
import { report } from './report/results.mjs';
import { anyMissed } from './report/targets.mjs';
import { startUpstream } from './upstream.mjs';

cleanUpOnExit();

async function main() {
  const tmp = makeScratch();
  mkdirSync(outDir, { recursive: true });
  let upstream;
  let host;
  try {
    console.error(`Sluice bench${quick ? ' (QUICK)' : ''}: ${JSON.stringify(cfg)}`);
    upstream = await startUpstream({ first: cfg.FIRST_MS, n: cfg.N, gap: cfg.GAP_MS });
    console.error(`upstream on ${upstream.url}`);

    const build = await buildWorkers(tmp);
    const persist = join(tmp, 'state');
    await freshD1(build.app, persist, upstream.url, build.baselineApp);
    host = await startWorkers(build, persist, upstream);
    const paths = await benchPaths(host, upstream);
    await checkPaths(paths, host);
    const { targets, byName } = paths;

    // The phases, in this order; each logs what it runs to stderr. One that PHASES leaves out
    // resolves with null, and the report leaves out its rows and targets.
    const phase = (name, fn) => (runs(name) ? fn() : null);
    const { seq, calls } = (await phase('sequential', () => sequentialPhases(paths, host))) ?? {};
    const diag = await phase('routes', () => sluiceRoutes(byName('sluice')));
    const split = await phase('split', () => cpuSplit(targets.filter((t) => t.pids.length)));
    const perCall = await phase('per-call', () => cpuPerCall(paths.callTargets, host));
    await sleep(1000);
    const idleRss = Object.fromEntries(targets.map((t) => [t.name, t.pids.length ? rssBytes(t.pids) : null]));
    const conc = (await phase('concurrency', () => concurrency(paths))) ?? {};
    const recode = (await phase('reencoded', () => reencoded(paths))) ?? {};
    const dialect = (await phase('dialects', () => dialects(paths))) ?? { seq: {}, conc: {} };
    const resume = await phase('resumable', () => resumable(paths));
    const slow = await phase('slow-reader', () => slowReaders(targets, upstream));
    // Last: its hundreds of teams and their accounts stay behind, in Sluice's process among others.
    const admit = await phase('admission', () => admission(paths));
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
      dialect,
      resume,
      slow,
      admit,
      bundle: build.bundle,
      runtimeLog,
    });
    if (baselineRev && seq) results.baseline = baselineReport(seq, calls, perCall ?? {}, recode);
    writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(`\nresults written to ${outPath('results.json')}`);
    // BENCH_STRICT=1 turns a missed target into a failing exit code (for CI).
    return env.BENCH_STRICT === '1' && anyMissed(results.targets) ? 2 : 0;
  } finally {
    // Everything the Workers and workerd logged (errors and warnings included), for the run's record.
    if (host) writeFileSync(join(outDir, 'host.log'), host.log());
    await stopHost(host);
    await upstream?.close().catch(() => {});
    killGroups('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`\nbench failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
