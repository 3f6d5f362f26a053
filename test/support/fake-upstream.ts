/**
 * A local OpenAI-compatible upstream for tests: a real HTTP server on 127.0.0.1 that the
 * worker reaches through a catalog row's `base_url`. The upstream model name picks the
 * behaviour, so each test names a scenario without touching Sluice's code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HUGE_ARGUMENTS, HUGE_CHUNKS, HUGE_PIECE, answerEvents } from './fixtures';
import { providerScenario } from './fake-providers';

export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sse = (events: string[], eol = '\n') => events.map((e) => `data: ${e}${eol}${eol}`).join('');

export type Scenario = (req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) => Promise<void>;

const streamHead = (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });

/** Writes `chat.completion.chunk` events of one stream: its choices, plus any extra fields. */
const chunkEvents =
  (id: string, model: string) =>
  (choices: unknown[], extra: object = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1700000000, model, choices, ...extra })}\n\n`;

const seen = new Set<string>();

/** What a slow stream saw of its client, for the disconnect tests. */
export interface StreamStats {
  marker: string;
  written: number;
  total: number;
  closedEarly: boolean;
  lastWriteAt: number;
  closedAt: number | null;
  gapMs: number;
}
const streamStats: StreamStats[] = [];

/** Starts the record of a stream that writes `total` chunks `gapMs` apart, and notes when its connection closes. */
function watchStream(res: ServerResponse, body: Record<string, unknown>, total: number, gapMs: number): StreamStats {
  const stats: StreamStats = {
    marker: JSON.stringify(body.messages),
    written: 0,
    total,
    closedEarly: false,
    lastWriteAt: Date.now(),
    closedAt: null,
    gapMs,
  };
  streamStats.push(stats);
  res.on('close', () => {
    stats.closedAt = Date.now();
    stats.closedEarly = stats.written < stats.total;
  });
  return stats;
}

const scenarios: Record<string, Scenario> = {
  /** A well-behaved stream, each event in its own write. */
  async answer(_req, res, body) {
    streamHead(res);
    for (const e of answerEvents(String(body.model))) {
      res.write(`data: ${e}\n\n`);
      await sleep(2);
    }
    res.end();
  },
  /** The same stream cut at awkward byte offsets: inside `data:`, inside JSON, inside UTF-8, between \r and \n. */
  async split(_req, res, body) {
    streamHead(res);
    const bytes = Buffer.from(`: keep-alive comment\r\n\r\n${sse(answerEvents(String(body.model)), '\r\n')}`);
    const cuts = [3, 10, 27, 31, 60, 95, 140, 171, 172, 173, 240, 301, 302, 420, 555, 700, 701, 860];
    let at = 0;
    for (const cut of cuts.filter((c) => c < bytes.length)) {
      res.write(bytes.subarray(at, cut));
      at = cut;
      await sleep(3);
    }
    res.end(bytes.subarray(at));
  },
  async 'status-429'(_req, res) {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests' } }));
  },
  async 'status-500'(_req, res) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'The server had an error' } }));
  },
  /** Two tokens, then the connection dies. */
  async drop(_req, res, body) {
    streamHead(res);
    const events = answerEvents(String(body.model));
    res.write(`data: ${events[0]}\n\ndata: ${events[1]}\n\n`);
    await sleep(5);
    res.socket?.destroy();
  },
  /** A token, then a provider error event. */
  async 'error-event'(_req, res, body) {
    streamHead(res);
    const events = answerEvents(String(body.model));
    res.write(`data: ${events[1]}\n\n`);
    await sleep(2);
    res.end(
      `data: ${JSON.stringify({ error: { message: 'Model overloaded', type: 'server_error', code: 'overloaded' } })}\n\n`,
    );
  },
  /** A tool call whose arguments arrive in fragments, as OpenAI streams them. */
  async tools(_req, res, body) {
    streamHead(res);
    const ev = chunkEvents('chatcmpl-tools', String(body.model));
    const tc = (delta: object) => [{ index: 0, delta: { tool_calls: [{ index: 0, ...delta }] }, finish_reason: null }];
    res.write(ev([{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }]));
    res.write(ev(tc({ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '' } })));
    for (const part of ['{"ci', 'ty": "Par', 'is", "unit"', ': "c"}']) {
      res.write(ev(tc({ function: { arguments: part } })));
      await sleep(1);
    }
    res.write(ev([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]));
    res.write(ev([], { usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } }));
    res.end('data: [DONE]\n\n');
  },
  /** An answer whose usage details a cached prompt (1,536 of 2,000 tokens) and reasoning (256 of 300). */
  async 'cached-reasoning'(_req, res, body) {
    streamHead(res);
    const ev = chunkEvents('chatcmpl-cached', String(body.model));
    res.write(ev([{ index: 0, delta: { role: 'assistant', content: 'Thought it through.' }, finish_reason: null }]));
    res.write(ev([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    const usage = {
      prompt_tokens: 2000,
      completion_tokens: 300,
      total_tokens: 2300,
      prompt_tokens_details: { cached_tokens: 1536, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0 },
    };
    res.write(ev([], { usage }));
    res.end('data: [DONE]\n\n');
  },
  /** 30 tokens 100 ms apart; notes when the connection closes under it. */
  async slow(_req, res, body) {
    streamHead(res);
    const model = String(body.model);
    const stats = watchStream(res, body, 30, 100);
    res.write(`data: ${answerEvents(model)[0]}\n\n`);
    for (let i = 0; i < stats.total && !res.destroyed; i++) {
      await sleep(stats.gapMs);
      if (res.destroyed) break;
      res.write(
        `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta: { content: ` t${i}` }, finish_reason: null }] })}\n\n`,
      );
      stats.written++;
      stats.lastWriteAt = Date.now();
    }
    if (!res.destroyed) res.end(`data: ${answerEvents(model).slice(4).join('\n\ndata: ')}\n\n`);
  },
  /** Headers at once, the first token only after 350 ms. */
  async 'slow-first'(_req, res, body) {
    streamHead(res);
    res.flushHeaders();
    await sleep(350);
    for (const e of answerEvents(String(body.model))) res.write(`data: ${e}\n\n`);
    res.end();
  },
  /** Headers at once, then 2 s of thinking before the answer; notes when the connection closes under it. */
  async thinking(_req, res, body) {
    streamHead(res);
    res.flushHeaders();
    const stats = watchStream(res, body, 1, 2000);
    for (let waited = 0; waited < stats.gapMs && !res.destroyed; waited += 50) await sleep(50);
    if (res.destroyed) return;
    stats.written++;
    res.end(sse(answerEvents(String(body.model))));
  },
  /** A whole answer with [DONE], but the connection stays open another 500 ms. */
  /** The whole answer, then the connection held open past the idle timeout (500 ms in tests) before it ends. */
  async 'linger-long'(_req, res, body) {
    streamHead(res);
    res.write(
      answerEvents(String(body.model))
        .map((e) => `data: ${e}\n\n`)
        .join(''),
    );
    await sleep(1200);
    res.end();
  },
  async linger(_req, res, body) {
    streamHead(res);
    res.write(
      answerEvents(String(body.model))
        .map((e) => `data: ${e}\n\n`)
        .join(''),
    );
    await sleep(500);
    res.end();
  },
  /** Every event 300 ms after the last: slower than nothing but never silent for 500 ms. */
  async 'steady-slow'(_req, res, body) {
    streamHead(res);
    for (const e of answerEvents(String(body.model))) {
      res.write(`data: ${e}\n\n`);
      await sleep(300);
    }
    res.end();
  },
  /** One token, then silence for 3 s. */
  async stall(_req, res, body) {
    streamHead(res);
    res.write(`data: ${answerEvents(String(body.model))[1]}\n\n`);
    await sleep(3000);
    res.end();
  },
  /** A normal answer without any usage chunk (some OpenAI-compatible servers). */
  async 'no-usage'(_req, res, body) {
    streamHead(res);
    const events = answerEvents(String(body.model));
    res.end(
      events
        .filter((e) => !e.includes('"usage"'))
        .map((e) => `data: ${e}\n\n`)
        .join(''),
    );
  },
  /** Usage explicitly zero (a cached answer, say): kept as zero, not re-counted. */
  async 'zero-usage'(_req, res, body) {
    streamHead(res);
    const events = answerEvents(String(body.model)).map((e) =>
      e.includes('"usage"')
        ? e.replace(/"usage":\{[^}]*\}/, '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}')
        : e,
    );
    res.end(events.map((e) => `data: ${e}\n\n`).join(''));
  },
  async 'status-503'(_req, res) {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
    res.end(JSON.stringify({ error: { message: 'Service unavailable' } }));
  },
  async 'status-400'(_req, res) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens" } }));
  },
  /** 503 the first time a conversation is seen, then a normal answer. */
  async 'flaky-once'(req, res, body) {
    const key = JSON.stringify(body.messages);
    if (!seen.has(key)) {
      seen.add(key);
      return scenarios['status-503']!(req, res, body);
    }
    return scenarios.answer!(req, res, body);
  },
  /** Sends its headers only after 1.5 s (longer than the tests' UPSTREAM_TIMEOUT_MS). */
  async hang(req, res, body) {
    await sleep(1500);
    if (!res.destroyed) return scenarios.answer!(req, res, body);
  },
  /** A token, then a line of garbage where JSON should be. */
  async garbage(_req, res, body) {
    streamHead(res);
    res.write(`data: ${answerEvents(String(body.model))[1]}\n\n`);
    await sleep(2);
    res.end('data: {"id": "chatcmpl-fake", "choices": [{\n\n');
  },
  /**
   * An answer far larger than one D1 row may hold: HUGE_CHUNKS content chunks of multi-byte
   * text, then a tool call whose arguments alone pass the row limit, then usage.
   */
  async huge(_req, res, body) {
    streamHead(res);
    const ev = chunkEvents('chatcmpl-huge', String(body.model));
    for (let i = 0; i < HUGE_CHUNKS; i++) {
      res.write(ev([{ index: 0, delta: { content: HUGE_PIECE }, finish_reason: null }]));
      if (i % 20 === 0) await sleep(1);
    }
    const tool = { index: 0, id: 'call_huge', type: 'function', function: { name: 'save', arguments: HUGE_ARGUMENTS } };
    res.write(ev([{ index: 0, delta: { tool_calls: [tool] }, finish_reason: null }]));
    res.write(ev([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]));
    res.write(ev([], { usage: { prompt_tokens: 20, completion_tokens: 900_000, total_tokens: 900_020 } }));
    res.end('data: [DONE]\n\n');
  },
  /** Ends cleanly but without [DONE]. */
  async truncated(_req, res, body) {
    streamHead(res);
    res.end(`data: ${answerEvents(String(body.model))[1]}\n\n`);
  },
};

export interface FakeUpstream {
  url: string;
  close(): Promise<void>;
}

export async function startFakeUpstream(port = 0): Promise<FakeUpstream> {
  const recorded: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (req.method === 'GET' && req.url?.startsWith('/_requests')) {
      const needle = new URL(req.url, 'http://x').searchParams.get('contains') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(recorded.filter((r) => JSON.stringify(r.body).includes(needle))));
    }
    if (req.method === 'GET' && req.url?.startsWith('/_streams')) {
      const needle = new URL(req.url, 'http://x').searchParams.get('contains') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(streamStats.filter((st) => st.marker.includes(needle))));
    }
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    recorded.push({ path: req.url ?? '', headers: req.headers, body });
    // Anthropic- and Gemini-format requests are answered in their own wire formats.
    const scenario = providerScenario(req.url ?? '', body) ?? scenarios[String(body.model)] ?? scenarios.answer!;
    try {
      await scenario(req, res, body);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
