// The measuring client: plain node:http requests against one path, timed on the upstream's clock.
// `streamOnce` reads the stamps the upstream puts in every chunk (its index and send time), so a
// chunk's delay is its arrival minus its send time, whatever the path re-encoded on the way.
import http from 'node:http';
import { clock } from '../upstream.mjs';

/** A small request with a timeout; resolves with status, text and milliseconds. */
export function request(url, method, body, headers = {}, agent = undefined) {
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
export const STAMP = /"x_seq":(\d+),"x_sent":([\d.]+)|<(\d+)@([\d.]+)>/g;
const RECEIVED = /"x_recv":([\d.]+)/;

/**
 * The text of the events named `events.delta` in a complete run of SSE events, joined: where a
 * named-event dialect's stamps are, one per delta. The rest of its events are left out, since
 * some repeat the text so far (the Responses API's `done` and `completed` events).
 */
function deltaTexts(text, events) {
  let out = '';
  for (const block of text.split('\n\n')) {
    if (!block.startsWith(`event: ${events.delta}\n`)) continue;
    const data = block.slice(block.indexOf('\ndata: ') + 7);
    out += events.text(JSON.parse(data)) ?? '';
  }
  return out;
}

/** The `data` of the first in-band error in `text`, or null: a chat error chunk, or one of the `events.errors`. */
function errorIn(text, events) {
  const e = text.indexOf('data: {"error"');
  if (e >= 0) return text.slice(e + 6, e + 206);
  for (const name of events?.errors ?? []) {
    const at = text.indexOf(`event: ${name}\ndata: `);
    if (at >= 0) return text.slice(at + name.length + 14, at + name.length + 214);
  }
  return null;
}

/**
 * One streamed request. TTFT: request start to the arrival of the first content chunk.
 * Per-chunk delay: each chunk's arrival minus the upstream's send stamp.
 */
export function streamOnce(target, shape, { agent, timeoutMs }) {
  return new Promise((resolve) => {
    // reach: request start to its arrival at the upstream (the Worker's work before it asks)
    // head, firstByte: request start to the response's headers, and to its first body byte
    // sent: each chunk's stamp (when the upstream sent it), beside its delay
    const r = {
      ok: false,
      error: null,
      ttft: null,
      reach: null,
      head: null,
      firstByte: null,
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
      r.head = clock() - t0;
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
        r.firstByte ??= now - t0;
        buf += s.includes('\r') ? s.replace(/\r\n/g, '\n') : s; // Gemini's own events end lines with CRLF
        const cut = buf.lastIndexOf('\n\n');
        if (cut < 0) return;
        const text = buf.slice(0, cut + 2);
        buf = buf.slice(cut + 2);
        // Chat chunks and the providers' own events: the stamps are wherever they are in the bytes.
        let stamped = text;
        if (target.events)
          try {
            stamped = deltaTexts(text, target.events);
          } catch (e) {
            finish(`unreadable event: ${e.message}`);
            return req.destroy();
          }
        STAMP.lastIndex = 0;
        for (let m; (m = STAMP.exec(stamped));) {
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
        const e = errorIn(text, target.events);
        if (e !== null) r.error = `error event: ${e}`;
      });
      res.on('end', () => finish());
    });
    req.end(data);
  });
}

/** One non-streaming request: start to the last byte of a 200 answer carrying the content. */
export function callOnce(target, shape, { agent, timeoutMs }) {
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
