// PROFILE=1: V8 CPU profiles of every isolate in a Worker's workerd process, taken through
// workerd's inspector (the Chrome DevTools protocol over WebSockets). Besides the Worker itself
// (`core:user:<name>`), Miniflare runs its own isolates in that process: the entry that routes
// requests, the asset router and, for a local D1, the database simulator (`d1:db`). Profiling
// them all shows where the process's CPU goes, and how much of it production would not bill.

/** The isolates the inspector at `base` (http://127.0.0.1:port) can profile: [{id, url}]. */
export async function isolates(base) {
  const res = await fetch(new URL('/json/list', base));
  return (await res.json()).map((t) => ({ id: t.id, url: t.webSocketDebuggerUrl }));
}

/** Starts sampling one isolate. Resolves with `stop()`, which resolves with its profile. */
export async function startProfile(wsUrl, { intervalUs = 200 } = {}) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`inspector at ${wsUrl}: no connection`)), { once: true });
  });
  let nextId = 0;
  const pending = new Map();
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(String(e.data));
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`inspector: no answer to ${method}`));
      }, 30_000);
      const done = (fn) => (v) => (clearTimeout(timer), fn(v));
      pending.set(id, { method, resolve: done(resolve), reject: done(reject) });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: intervalUs });
  await send('Profiler.start');
  return {
    async stop() {
      const { profile } = await send('Profiler.stop');
      ws.close();
      return profile;
    },
  };
}

/** Where a sampled frame belongs: a runtime built-in or a line of a script. */
function place(frame) {
  if (!frame.url) return '(runtime)';
  return frame.url.replace(/^.*\//, '') + ':' + (frame.lineNumber + 1);
}

/**
 * Self time per function (top `limit`) and the isolate's busy time. workerd samples only while
 * the isolate runs (long gaps in `timeDeltas` are idle time), so each sample stands for one
 * typical interval: the median of the short gaps (`intervalUs` when there are none). Nodes like `(garbage collector)` and `(program)` are kept: they are
 * part of what a request costs.
 */
export function summarize(profile, { limit = 25, intervalUs = 200 } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Gaps over a millisecond are the isolate waiting; the rest show the sampling period.
  const gaps = Float64Array.from(profile.timeDeltas.filter((d) => d > 0 && d < 1000)).sort();
  const usPerSample = gaps.length ? gaps[gaps.length >> 1] : intervalUs;
  const self = new Map();
  for (const id of profile.samples) {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${place(f)}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, n]) => ({ fn, ms: (n * usPerSample) / 1000, share: n / total }));
  return { busy_ms: (total * usPerSample) / 1000, us_per_sample: usPerSample, top };
}
