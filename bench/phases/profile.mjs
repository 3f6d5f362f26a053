// PROFILE=1: V8 CPU profiles of every isolate of every workerd process, taken during the sequential
// streams, and of the processes of the Sluice whose objects run apart during its first round of the
// per-call phase (bench/lib/profile.mjs talks to the inspector), reported per request and written to
// BENCH_OUT.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outDir, outPath } from '../lib/config.mjs';
import { isolates, startProfile, summarize } from '../lib/profile.mjs';

/** Starts sampling every isolate of the named Workers' processes (all of them by default). */
export async function startProfiles(host, names = Object.keys(host.workers)) {
  const sessions = [];
  for (const name of names.filter((n) => host.workers[n]?.inspector))
    for (const isolate of await isolates(host.workers[name].inspector))
      sessions.push({ name, isolate: isolate.id, session: await startProfile(isolate.url) });
  return {
    stop: () =>
      Promise.all(sessions.map(async (s) => ({ name: s.name, isolate: s.isolate, profile: await s.session.stop() }))),
  };
}

/**
 * CPU per request of every isolate, each busy isolate's profile written to BENCH_OUT
 * (`sluice.cpuprofile` for Sluice's own, `sluice.d1-db.cpuprofile` for its D1 simulator...), and
 * the functions `worker`'s own isolate spends most on.
 */
export function reportProfiles(profiles, requests, { per = 'sequential stream', worker = 'sluice' } = {}) {
  const perRequest = (ms) => (ms / requests).toFixed(2).padStart(7);
  let top = [];
  console.error(`\nisolate CPU per ${per} (inspector; runtime-native work inside an isolate included):`);
  for (const { name, isolate, profile } of profiles) {
    const summary = summarize(profile, { limit: 30 });
    if (summary.busy_ms / requests < 0.005) continue; // idle all along
    console.error(`  ${perRequest(summary.busy_ms)} ms  ${name.padEnd(9)} ${isolate}`);
    const own = isolate === `core:user:${name}`;
    const file = own ? `${name}.cpuprofile` : `${name}.${isolate.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`;
    writeFileSync(join(outDir, file), JSON.stringify(profile));
    if (own && name === worker) top = summary.top;
  }
  console.error(`${worker}, top functions by self time (${outPath(`${worker}.cpuprofile`)}):`);
  for (const t of top) console.error(`  ${perRequest(t.ms)} ms ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.fn}`);
}
