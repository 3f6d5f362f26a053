// The resumable streams phase: Sluice's /v1/chat/completions with `resumable: true` (the call run by
// an object of its own, every event numbered and stored before it is sent) against the same route
// without it (plain) and the reference forwarding the same upstream stream. First WARMUP streams per
// path and WARMUP reattaching reads, not counted; then RESUME_SEQ short sequential streams per path,
// the paths taking turns (TTFT); RESUME_SEQ reattaching reads, mid-answer and after the end,
// interleaved with as many authenticated D1 reads (the least any keyed request waits); then
// CONC_ROUNDS rounds of RESUME_CONC streams at once per path (CPU per chunk, errors). The baseline
// does not join it: a commit from before resumable calls would answer a plain stream.
import http from 'node:http';
import { STAMP } from '../lib/client.mjs';
import { cfg, concGap, RESUME } from '../lib/config.mjs';
import { progress, rotate } from '../lib/util.mjs';
import { clock } from '../upstream.mjs';
import { concurrentRound } from './concurrency.mjs';
import { sequentialStreams } from './sequential.mjs';

/** The sequential streams' shape: a few chunks, for TTFT. The stamps ride in the text (see RESUME). */
export const RESUME_SEQ_SHAPE = { first: cfg.FIRST_MS, n: 5, gap: cfg.GAP_MS, stamp: 'text' };

/**
 * A reattaching read's stream: the reader drops once chunk DROP_AT has arrived, while the answer
 * still has chunks to go, and attaches again after the event that carried chunk FROM, so that the
 * object has stored events to replay (FROM+1 to DROP_AT at least) before any live one.
 */
export const REATTACH_SHAPE = { first: cfg.FIRST_MS, n: 20, gap: cfg.GAP_MS, stamp: 'text' };
export const REATTACH_FROM = 6;
const DROP_AT = 13;

/** Where a keyed request's time goes when it reaches D1 and nothing else: reattaching's floor. */
export const AUTH_READ = 'GET /api/teams/{id}/credits';
const AUTH_READ_PATH = '/api/teams/bench/credits';

const TIMEOUT_MS = 15_000;

/**
 * The SSE events of `text` (complete ones), each with its `id:` and the stamps in its text. A
 * resumable call's events are numbered from 0 and the chunks' stamps count from 0 too, but not in
 * step: the encoder's first event carries the role, its last ones the finish, the usage and [DONE].
 */
function events(text) {
  const out = [];
  for (const block of text.split('\n\n')) {
    if (!block) continue;
    const id = /^id: (\d+)$/m.exec(block);
    STAMP.lastIndex = 0;
    const stamps = [];
    for (let m; (m = STAMP.exec(block));) stamps.push(Number(m[1] ?? m[3]));
    out.push({ id: id ? Number(id[1]) : null, stamps, done: block.includes('data: [DONE]') });
  }
  return out;
}

/**
 * Starts a resumable stream and reads it until chunk DROP_AT has arrived, then drops it (the
 * socket destroyed, as a client that lost its connection). Resolves with the call's id and the
 * id of the event that carried chunk REATTACH_FROM, or with an error.
 */
function startAndDrop(t) {
  return new Promise((resolve) => {
    const data = t.body(REATTACH_SHAPE, true);
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = http.request(t.base + t.streamPath, {
      method: 'POST',
      agent: t.agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...t.headers },
    });
    const timer = setTimeout(() => finish({ error: `start: timeout after ${TIMEOUT_MS} ms` }), TIMEOUT_MS);
    req.on('error', (e) => finish({ error: `start: ${e.message}` }));
    req.on('response', (res) => {
      res.setEncoding('utf8');
      const callId = res.headers['x-call-id'];
      if (res.statusCode !== 200 || !callId) {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => finish({ error: `start: HTTP ${res.statusCode}, no x-call-id? ${text.slice(0, 200)}` }));
        return;
      }
      let buf = '';
      let fromId = null;
      res.on('data', (s) => {
        buf += s;
        const cut = buf.lastIndexOf('\n\n');
        if (cut < 0) return;
        const text = buf.slice(0, cut + 2);
        buf = buf.slice(cut + 2);
        for (const e of events(text)) {
          if (e.stamps.includes(REATTACH_FROM)) fromId = e.id;
          if (e.stamps.includes(DROP_AT))
            return fromId === null
              ? finish({ error: `start: no event id for chunk ${REATTACH_FROM}` })
              : finish({ callId, fromId });
        }
      });
      res.on('end', () => finish({ error: `start: the stream ended before chunk ${DROP_AT}` }));
      res.on('error', (e) => finish({ error: `start: ${e.message}` }));
    });
    req.end(data);
  });
}

/**
 * A GET read to its end: status, the time from sending it to its first body byte (`ttfb`), and
 * the body's text.
 */
function getOnce(url, headers, agent) {
  return new Promise((resolve) => {
    const r = { status: null, ttfb: null, text: '', error: null };
    let settled = false;
    const finish = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error && !r.error) r.error = error;
      resolve(r);
    };
    const t0 = clock();
    const req = http.request(url, { method: 'GET', agent, headers });
    const timer = setTimeout(() => {
      finish(`timeout after ${TIMEOUT_MS} ms`);
      req.destroy();
    }, TIMEOUT_MS);
    req.on('error', (e) => finish(e.message));
    req.on('response', (res) => {
      r.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (s) => {
        r.ttfb ??= clock() - t0;
        r.text += s;
      });
      res.on('end', () => finish(res.statusCode === 200 ? null : `HTTP ${res.statusCode}: ${r.text.slice(0, 200)}`));
      res.on('error', (e) => finish(e.message));
    });
    req.end();
  });
}

/**
 * Whether a replay after event `fromId` is whole: numbered on from the next event without a gap,
 * every chunk after REATTACH_FROM in order, then [DONE]. Resolves with an error text or null.
 */
function replayError(text, fromId) {
  const evs = events(text);
  let nextId = fromId + 1;
  let nextChunk = REATTACH_FROM + 1;
  for (const e of evs) {
    if (e.id !== nextId) return `event id ${e.id} where ${nextId} was due`;
    nextId++;
    for (const s of e.stamps) {
      if (s !== nextChunk) return `chunk ${s} where ${nextChunk} was due`;
      nextChunk++;
    }
  }
  if (nextChunk !== REATTACH_SHAPE.n) return `chunks ${REATTACH_FROM + 1} to ${nextChunk - 1} of ${REATTACH_SHAPE.n}`;
  if (!evs.at(-1)?.done) return 'no [DONE]';
  return null;
}

/**
 * One reattaching sample: a resumable stream dropped mid-answer, a reader attached again after
 * event `fromId` at once (the answer still streaming) and read to the call's end, then another
 * after the end. Each reattaching GET's figure is its time to the first replayed byte.
 */
async function reattachOnce(t) {
  const started = await startAndDrop(t);
  if (started.error) return { error: started.error };
  const url = `${t.base}/api/calls/${encodeURIComponent(started.callId)}/stream`;
  const headers = { ...t.headers, 'last-event-id': String(started.fromId) };
  const out = {};
  for (const when of ['mid', 'ended']) {
    const r = await getOnce(url, headers, t.agent);
    const error = r.error ?? replayError(r.text, started.fromId);
    if (error) return { error: `${when === 'mid' ? 'mid-answer' : 'after the end'}: ${error}` };
    out[when] = r.ttfb;
  }
  return out;
}

/**
 * RESUME_SEQ reattaching samples, each beside an authenticated D1 read (which goes first turns
 * about), all on the resumable path's agent. Resolves with {mid, ended, auth_read: {ms, errors,
 * lastError}}: first-byte times in ms.
 */
async function reattaching(t, count, label) {
  const acc = Object.fromEntries(['mid', 'ended', 'auth_read'].map((k) => [k, { ms: [], errors: 0, lastError: null }]));
  const fail = (keys, error) => {
    for (const k of keys) {
      acc[k].errors++;
      acc[k].lastError = error;
    }
  };
  const authRead = async () => {
    const r = await getOnce(t.base + AUTH_READ_PATH, t.headers, t.agent);
    if (r.error) fail(['auth_read'], r.error);
    else acc.auth_read.ms.push(r.ttfb);
  };
  const reattach = async () => {
    const r = await reattachOnce(t);
    if (r.error) return fail(['mid', 'ended'], r.error);
    acc.mid.ms.push(r.mid);
    acc.ended.ms.push(r.ended);
  };
  for (let i = 0; i < count; i++) {
    for (const step of rotate([reattach, authRead], i)) await step();
    progress(label, i + 1, count);
  }
  return acc;
}

/**
 * Resolves with {seq: {path: samples}, reattach: {mid, ended, auth_read}, conc: {path: [round, ...]}};
 * each is {} when its knob is 0, and the whole is null when both are.
 */
export async function resumable({ resumeTargets }) {
  if (!cfg.RESUME_SEQ && !cfg.RESUME_CONC) return null;
  const out = { seq: {}, reattach: {}, conc: {} };
  const resumablePath = resumeTargets.find((t) => t.name === RESUME.resumable);
  if (cfg.RESUME_SEQ) {
    // The object's first calls, and the reattaching route's, run code no other phase has run yet.
    console.error(`resumable streams, warm-up: ${cfg.WARMUP} streams per path, ${cfg.WARMUP} reattaching reads`);
    await sequentialStreams(resumeTargets, RESUME_SEQ_SHAPE, cfg.WARMUP, 'resumable warm-up');
    await reattaching(resumablePath, cfg.WARMUP, 'reattaching warm-up');
    console.error(
      `resumable streams, sequential: ${cfg.RESUME_SEQ} per path, ${RESUME_SEQ_SHAPE.n} chunks each, interleaved`,
    );
    out.seq = await sequentialStreams(resumeTargets, RESUME_SEQ_SHAPE, cfg.RESUME_SEQ, 'resumable streams');
    console.error(
      `resumable streams, reattaching: ${cfg.RESUME_SEQ} streams of ${REATTACH_SHAPE.n} chunks dropped at chunk ${DROP_AT}, attached again after chunk ${REATTACH_FROM} mid-answer and after the end, beside as many ${AUTH_READ}`,
    );
    out.reattach = await reattaching(resumablePath, cfg.RESUME_SEQ, 'reattaching');
  }
  const c = cfg.RESUME_CONC;
  if (!c) return out;
  const shape = { first: cfg.FIRST_MS, n: cfg.N, gap: concGap(c), stamp: 'text' };
  for (let round = 0; round < cfg.CONC_ROUNDS; round++) {
    for (const t of rotate(resumeTargets, round)) {
      console.error(
        `resumable streams: ${c} concurrent (${shape.n} chunks every ${shape.gap} ms), round ${round + 1}: ${t.name}`,
      );
      (out.conc[t.name] ??= []).push(await concurrentRound(t, c, shape));
    }
  }
  return out;
}
