// The benchmark's upstream: an OpenAI-compatible server on 127.0.0.1. It runs in a worker thread
// of the measuring process, so it never queues behind the client's own work, and it stamps every
// chunk with `process.hrtime` (CLOCK_MONOTONIC, the same clock in every thread of the process):
// the client subtracts that stamp from its own arrival time.
//
// The user message carries the stream's shape as JSON, so one request body works for all three
// paths (Sluice forwards `messages` unchanged):
//   {"first": ms, "n": chunks, "gap": ms}                 paced: chunk i is sent at first + i*gap
//   {"first": ms, "n": chunks, "pad": bytes, "id": name}  firehose: as fast as the socket drains
// Each content chunk is a real `chat.completion.chunk` plus two fields: `x_seq` (its index) and
// `x_sent` (send time, ms); the first also carries `x_recv` (when the request arrived). Then a finish chunk, a usage chunk (`choices: []`) and `data: [DONE]`.
// `stream: false` gets a chat.completion once the last chunk would have been sent.
//
// It also speaks Anthropic's Messages API (POST .../v1/messages) and Gemini's streamGenerateContent
// (POST ...:streamGenerateContent), paced the same way, for the phase that measures streams Sluice
// must re-encode. Their events are the providers' own; the stamp rides in each chunk's text as
// `<seq@sent>`, which survives re-encoding and reads the same in every format. A paced OpenAI
// stream whose shape has `"stamp": "text"` carries it the same way, in `content` instead of the
// extra fields (which a re-encoding drops), for the client dialects Sluice re-encodes it into.
import { createServer } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { anthropicEvent, anthropicMessageStart } from '../test/providers/fixtures/anthropic.ts';

/** Milliseconds on the process-wide monotonic clock (shared by all threads). */
export const clock = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Starts the upstream in a worker thread.
 * @param {{first: number, n: number, gap: number}} defaults
 */
export async function startUpstream(defaults) {
  const worker = new Worker(new URL(import.meta.url), { workerData: defaults });
  const pending = new Map();
  let nextId = 0;
  worker.on('message', (m) => {
    pending.get(m.reply)?.(m.value);
    pending.delete(m.reply);
  });
  const ask = (type, arg) =>
    new Promise((resolve, reject) => {
      const reply = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(reply);
        reject(new Error(`upstream thread did not answer '${type}'`));
      }, 10_000);
      pending.set(reply, (v) => (clearTimeout(timer), resolve(v)));
      worker.postMessage({ type, arg, reply });
    });
  const failed = new Promise((_, reject) => worker.once('error', reject));
  const port = await Promise.race([ask('port'), failed]);
  return {
    url: `http://127.0.0.1:${port}`,
    /** What the server saw of one firehose stream's socket (null before it started). */
    firehose: (id) => ask('firehose', id),
    requests: () => ask('requests'),
    close: async () => {
      await ask('close').catch(() => {});
      await worker.terminate();
    },
  };
}

if (!isMainThread) serve(workerData);

function serve(defaults) {
  // A time already reached costs no timer: Node's shortest timer is about 1 ms, so twenty chunks
  // due at once would otherwise trickle out over 20 ms.
  const sleepUntil = async (t) => {
    const ms = t - performance.now();
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
  const firehose = new Map();
  let served = 0;
  let seq = 0;

  const head = (id, model) =>
    `"id":"${id}","object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":"${model}"`;
  /**
   * `recv`: when the request reached this server (stamped on the first chunk only). `inText`: the
   * stamp is the text itself, and the chunk has no `x_seq` or `x_sent` for a client to count twice.
   */
  const contentEvent = (id, model, i, text, recv, inText = false) => {
    const content = inText ? stampedText(i) : text;
    const delta = i === 0 ? `{"role":"assistant","content":"${content}"}` : `{"content":"${content}"}`;
    const stamp = inText ? '' : `,"x_seq":${i},"x_sent":${clock().toFixed(4)}`;
    const received = i === 0 ? `,"x_recv":${recv.toFixed(4)}` : '';
    return `data: {${head(id, model)},"choices":[{"index":0,"delta":${delta},"finish_reason":null}]${stamp}${received}}\n\n`;
  };
  const tailEvents = (id, model, n) =>
    `data: {${head(id, model)},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n` +
    `data: {${head(id, model)},"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":${n},"total_tokens":${n + 8}}}\n\n` +
    'data: [DONE]\n\n';

  /** Anthropic's and Gemini's streams: the same pacing, each in its provider's own events. */
  const stampedText = (i) => `<${i}@${clock().toFixed(4)}>`;
  const geminiEvent = (model, text, n, finish) =>
    `data: ${JSON.stringify({
      candidates: [
        { content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 },
      ],
      usageMetadata: { promptTokenCount: 8, candidatesTokenCount: n, totalTokenCount: n + 8 },
      modelVersion: model,
    })}\r\n\r\n`;
  const PROVIDERS = {
    anthropic: {
      start: (id, model) =>
        anthropicMessageStart(id, model, { input_tokens: 8, output_tokens: 1 }) +
        anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      content: (model, i) =>
        anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: stampedText(i) } }),
      end: (model, n) =>
        anthropicEvent('content_block_stop', { index: 0 }) +
        anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: n } }) +
        anthropicEvent('message_stop', {}),
    },
    gemini: {
      start: () => '',
      content: (model, i) => geminiEvent(model, stampedText(i), i + 1, false),
      end: (model, n) => geminiEvent(model, '', n, true),
    },
  };
  const providerOf = (url) =>
    url.endsWith('/v1/messages') ? 'anthropic' : url.includes(':streamGenerateContent') ? 'gemini' : null;

  /** The stream's shape, from the last message: OpenAI's or Anthropic's `messages`, or Gemini's `contents`. */
  const shapeOf = (body) => {
    const last = body.messages?.at?.(-1)?.content ?? body.contents?.at?.(-1)?.parts?.[0]?.text ?? '{}';
    const text = Array.isArray(last) ? last.map((p) => p.text ?? '').join('') : String(last);
    try {
      return JSON.parse(text);
    } catch {
      return {};
    }
  };

  /** Writes `n` padded chunks as fast as the socket takes them, noting every wait. */
  async function fire(res, id, model, shape, recv) {
    const stats = {
      total: shape.n,
      written: 0,
      bytes: 0,
      writesRefused: 0,
      /** performance.now() when the current wait for 'drain' began; null while writing. */
      blockedSince: null,
      blockedMs: 0,
      maxQueued: 0,
      done: false,
    };
    firehose.set(String(shape.id ?? id), stats);
    const filler = 'x'.repeat(shape.pad);
    await sleepUntil(performance.now() + (shape.first ?? 0));
    for (let i = 0; i < shape.n; i++) {
      if (res.destroyed) return;
      const event = contentEvent(id, model, i, filler, recv);
      const ok = res.write(event);
      stats.written = i + 1;
      stats.bytes += Buffer.byteLength(event);
      stats.maxQueued = Math.max(stats.maxQueued, res.writableLength);
      if (!ok) {
        stats.writesRefused++;
        stats.blockedSince = performance.now();
        await new Promise((resolve) => {
          const go = () => {
            res.off('drain', go);
            res.off('close', go);
            resolve();
          };
          res.on('drain', go);
          res.on('close', go);
        });
        stats.blockedMs += performance.now() - stats.blockedSince;
        stats.blockedSince = null;
      }
    }
    res.end(tailEvents(id, model, shape.n));
    stats.done = true;
  }

  const server = createServer(async (req, res) => {
    const recv = clock();
    res.on('error', () => {});
    const parts = [];
    for await (const c of req) parts.push(c);
    const provider = providerOf(req.url ?? '');
    if (req.method !== 'POST' || (!provider && !req.url?.endsWith('/chat/completions'))) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"not found"}}');
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end('{"error":{"message":"bad json"}}');
    }
    served++;
    const shape = { ...defaults, ...shapeOf(body) };
    const model = String(body.model ?? 'bench');
    const id = `chatcmpl-bench${++seq}`;
    const t0 = performance.now();

    if (provider) {
      const p = PROVIDERS[provider];
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(p.start(id, model));
      for (let i = 0; i < shape.n; i++) {
        await sleepUntil(t0 + shape.first + i * shape.gap);
        if (res.destroyed) return;
        res.write(p.content(model, i));
      }
      return res.end(p.end(model, shape.n));
    }

    if (body.stream !== true) {
      await sleepUntil(t0 + shape.first + Math.max(0, shape.n - 1) * shape.gap);
      const content = Array.from({ length: shape.n }, (_, i) => `t${i} `).join('');
      const json = JSON.stringify({
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 8, completion_tokens: shape.n, total_tokens: shape.n + 8 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      return res.end(json);
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (shape.pad) return fire(res, id, model, shape, recv);
    for (let i = 0; i < shape.n; i++) {
      await sleepUntil(t0 + shape.first + i * shape.gap);
      if (res.destroyed) return;
      res.write(contentEvent(id, model, i, `t${i} `, recv, shape.stamp === 'text'));
    }
    res.end(tailEvents(id, model, shape.n));
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;
  server.on('clientError', (_err, socket) => socket.destroy());
  const listening = new Promise((resolve) => server.listen(0, '127.0.0.1', 4096, resolve));

  parentPort.on('message', async ({ type, arg, reply }) => {
    let value = null;
    if (type === 'port') value = (await listening, server.address().port);
    else if (type === 'firehose') {
      const s = firehose.get(arg);
      // Blocked time so far includes a wait still under way.
      if (s)
        value = {
          ...s,
          blocked: s.blockedSince !== null,
          blockedMs: s.blockedMs + (s.blockedSince === null ? 0 : performance.now() - s.blockedSince),
        };
    } else if (type === 'requests') value = served;
    else if (type === 'close') {
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r()));
    }
    parentPort.postMessage({ reply, value });
  });
}
