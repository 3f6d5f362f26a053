// The slow reader: one stream per path read far slower than the upstream can write it, to show
// that back-pressure reaches the upstream and the Worker's memory stays flat, then drained at full
// speed to check that every chunk arrives, in order.
import http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { STAMP } from '../lib/client.mjs';
import { cfg } from '../lib/config.mjs';
import { rssBytes } from '../lib/proc.mjs';
import { sleep } from '../lib/util.mjs';

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

/** The slow reader's stream arrived whole: every chunk, in order, then [DONE], with no error. */
export function wholeAndInOrder(s) {
  return !s.error && s.in_order && s.done && s.chunks_received === cfg.SLOW_CHUNKS;
}

/** One slow reader per path, a second apart. Resolves with {path: slowReader's result}. */
export async function slowReaders(targets, upstream) {
  const slow = {};
  for (const t of targets) {
    console.error(`slow reader: ${t.name} (${cfg.SLOW_S} s at ${cfg.SLOW_READ} bytes/s, then drained)`);
    slow[t.name] = await slowReader(t, upstream);
    await sleep(1000);
  }
  return slow;
}
