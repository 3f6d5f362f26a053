/**
 * The typed client on resumable calls: a stream whose connection drops (a read that fails, a
 * body that ends mid-event) attaches again by itself and yields what an undisturbed read of the
 * same call yields, once each; `resume()` reads a call from any event; `cancel()` ends it. Then
 * the reattach rules alone, against a fake `fetch`: bounded attempts, a refusal thrown at once,
 * the caller's abort, and a stream that is not resumable left as it was. Last, the standard
 * EventSource (what a browser, or a Node client with the `eventsource` package, uses) on the
 * stream URL a call's start names: it reconnects by itself, and the gateway gives it the rest.
 */
import { exports } from 'cloudflare:workers';
import { EventSource, type EventSourceFetchInit } from 'eventsource';
import { describe, expect, it } from 'vitest';
import {
  APIConnectionError,
  APIUserAbortError,
  type ChatCompletionChunk,
  type FetchLike,
  NotFoundError,
  SluiceClient,
  StreamError,
} from '../../src/client';
import { api, books, callRows, eventually, setupTeam, uniqueId, upstreamModel, user } from '../support/api';

const utf8 = new TextDecoder();
const enc = new TextEncoder();

/** Where each numbered event of a body ends: an SSE block with an `id:` (at its blank line), an NDJSON line with a `seq`. */
function eventEnds(text: string, ndjson: boolean): number[] {
  const ends: number[] = [];
  const sep = ndjson ? '\n' : '\n\n';
  const numbered = ndjson ? /"seq":\d+\}$/ : /^id: \d+$/m;
  for (let start = 0, at = text.indexOf(sep); at !== -1; start = at + sep.length, at = text.indexOf(sep, start))
    if (numbered.test(text.slice(start, at))) ends.push(at + sep.length);
  return ends;
}

/**
 * A body that passes `events` numbered events through, then half of the next one, and then
 * fails (`error`: the read rejects, as on a reset connection) or just ends (`close`). The
 * gateway's side of it is cancelled, as a real disconnect would.
 */
function cutBody(body: ReadableStream<Uint8Array>, ndjson: boolean, events: number, how: 'error' | 'close') {
  const reader = body.getReader();
  let text = '';
  let passed = 0;
  let cut = false;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      // An error discards what is still queued, so the half event goes out on its own first.
      if (cut) return how === 'error' ? c.error(new TypeError('network connection lost')) : c.close();
      for (let reads = 0; reads < 10_000; reads++) {
        const { done, value } = await reader.read();
        if (done) return c.close();
        text += utf8.decode(value, { stream: true });
        const ends = eventEnds(text, ndjson);
        if (ends.length > events) {
          const from = events === 0 ? 0 : ends[events - 1]!;
          const at = from + Math.floor((ends[events]! - from) / 2);
          c.enqueue(enc.encode(text.slice(passed, at)));
          cut = true;
          await reader.cancel();
          return;
        }
        if (text.length > passed) {
          c.enqueue(enc.encode(text.slice(passed)));
          passed = text.length;
          return;
        }
      }
    },
    cancel: () => reader.cancel(),
  });
}

interface Sent {
  method: string;
  url: URL;
  lastEventId: string | null;
  body: unknown;
}

/** The worker's fetch, with the first streamed response cut after `events` events; records every request. */
function droppingFetch(events: number, how: 'error' | 'close') {
  const requests: Sent[] = [];
  let cut = false;
  const fetch: FetchLike = async (url, init) => {
    const req = new Request(url, init);
    const sent = req.method === 'POST' ? await req.clone().text() : '';
    requests.push({
      method: req.method,
      url: new URL(req.url),
      lastEventId: req.headers.get('last-event-id'),
      body: sent ? JSON.parse(sent) : null,
    });
    const res = await exports.default.fetch(req);
    const type = res.headers.get('content-type') ?? '';
    const streamed = type.includes('event-stream') || type.includes('ndjson');
    if (cut || !res.ok || !res.body || !streamed) return res;
    cut = true;
    const body = cutBody(res.body, type.includes('ndjson'), events, how);
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch, requests };
}

const workerFetch: FetchLike = (url, init) => exports.default.fetch(new Request(url, init));

const clientFor = (apiKey: string, teamId: string, fetch: FetchLike = workerFetch) =>
  new SluiceClient({ baseUrl: 'http://sluice.test', apiKey, teamId, fetch });

async function collect<T>(stream: AsyncIterable<T>, max = 1_000): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) {
    out.push(item);
    if (out.length > max) throw new Error('more items than any answer here has');
  }
  return out;
}

const contentOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '');
const SLOW_TOKENS = Array.from({ length: 30 }, (_, i) => ` t${i}`);

/** The job's one call row, once its books are written. */
const oneRow = (jobId: string) =>
  eventually(async () => {
    const rows = await callRows(jobId);
    return rows.length ? rows : null;
  });

describe('resumable streams against the gateway', () => {
  it('sse: a read that fails mid-event attaches again with Last-Event-ID; every chunk arrives once', async () => {
    const { teamId, key } = await setupTeam(100);
    const slow = await upstreamModel('openai', 'slow');
    const dropping = droppingFetch(4, 'error');
    const client = clientFor(key, teamId, dropping.fetch);
    const jobId = await client.createJob('chat');
    const stream = await client.chatStream(jobId, { model: slow, messages: user('drop me'), resumable: true });
    expect(stream.resumable).toBe(true);
    expect(dropping.requests[1]!.body).toMatchObject({ resumable: true });
    const chunks = await collect(stream);

    // The start, then one attach: after event 3, the last whole one before the cut.
    const attaches = dropping.requests.filter((r) => r.method === 'GET');
    expect(attaches).toHaveLength(1);
    expect(attaches[0]!.url.pathname).toBe(`/api/calls/${stream.callId}/stream`);
    expect(attaches[0]!.lastEventId).toBe('3');

    const undisturbed = await collect(await clientFor(key, teamId).resume(stream.callId!));
    expect(undisturbed.length).toBeGreaterThan(SLOW_TOKENS.length);
    expect(chunks).toEqual(undisturbed);
    const tokens = contentOf(chunks).filter((t) => /^ t\d+$/.test(t));
    expect(tokens).toEqual(SLOW_TOKENS);
    expect(await stream.text()).toBe(contentOf(undisturbed).join(''));
    // Every event but [DONE] is a chunk, numbered from 0.
    expect(stream.lastEventId).toBe(undisturbed.length);

    const result = await client.completeJob(jobId, 'completed');
    expect(result.calls).toHaveLength(1);
    expect(result.calls[0]).toMatchObject({ status: 'success' });
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.balance).toBe(99);
    expect(b.held).toBe(0);
  });

  it('ndjson: a body that ends mid-line attaches again with ?after=; every event arrives once', async () => {
    const { teamId, key } = await setupTeam(100);
    const slow = await upstreamModel('openai', 'slow');
    const dropping = droppingFetch(5, 'close');
    const client = clientFor(key, teamId, dropping.fetch);
    const stream = await client.createAndCallStream({
      jobType: 'resume',
      model: slow,
      messages: user('drop me too'),
      format: 'ndjson',
      resumable: true,
    });
    expect(dropping.requests[0]!.body).toMatchObject({ resumable: true });
    const events = await collect(stream);

    const attaches = dropping.requests.filter((r) => r.method === 'GET');
    expect(attaches).toHaveLength(1);
    expect(attaches[0]!.url.searchParams.get('after')).toBe('4');
    expect(attaches[0]!.lastEventId).toBeNull();

    const undisturbed = await collect(await clientFor(key, teamId).resume(stream.callId!, { format: 'ndjson' }));
    expect(events).toEqual(undisturbed);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ type: 'metadata', metadata: { call_id: stream.callId, job_id: stream.jobId } });
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    // Token lines may carry more than one upstream token each; the text has every one, once.
    const text = await stream.text();
    expect(text).toBe(events.flatMap((e) => (e.type === 'token' ? [e.data] : [])).join(''));
    expect(text.split(SLOW_TOKENS.join(''))).toHaveLength(2);
    expect(stream.lastEventId).toBe(events.length - 1);

    const rows = await oneRow(stream.jobId!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'success' });
    await eventually(async () => ((await client.getJob(stream.jobId!)).status === 'completed' ? true : null));
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.balance).toBe(99);
    expect(b.held).toBe(0);
  });

  it('resume(callId, { after }) yields exactly the rest, live or ended; leaving a resumable stream does not end its call', async () => {
    const { teamId, key } = await setupTeam(100);
    const client = clientFor(key, teamId);
    const slow = await upstreamModel('openai', 'slow');
    const first = await client.createAndCallStream({
      jobType: 'resume',
      model: slow,
      messages: user('leave and come back'),
      resumable: true,
    });
    const head: ChatCompletionChunk[] = [];
    for await (const chunk of first) if (head.push(chunk) === 3) break;
    expect(first.lastEventId).toBe(2);

    // The call goes on without a reader; this one picks it up live.
    const rest = await collect(await client.resume(first.callId!, { after: first.lastEventId! }));
    const whole = await collect(await client.resume(first.callId!));
    expect(whole.length).toBeGreaterThan(SLOW_TOKENS.length);
    expect([...head, ...rest]).toEqual(whole);
    for (const after of [0, 7, whole.length - 2])
      expect(await collect(await client.resume(first.callId!, { after })), `after ${after}`).toEqual(
        whole.slice(after + 1),
      );
    // After the last event ([DONE], numbered after the last chunk) of an ended call: nothing, at once.
    const asked = Date.now();
    const past = await client.resume(first.callId!, { after: whole.length });
    expect(await collect(past)).toEqual([]);
    expect(Date.now() - asked).toBeLessThan(1000);
    expect(past.jobId).toBe(first.jobId);

    // The call streams SSE: asking for NDJSON is refused before anything is read.
    const wrong = await client.resume(first.callId!, { format: 'ndjson' }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'format_mismatch' });
    const [row] = await oneRow(first.jobId!);
    expect(row).toMatchObject({ status: 'success' });
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
  });

  it('resume in ndjson from a seq: exactly the lines after it', async () => {
    const { teamId, key } = await setupTeam(100);
    const client = clientFor(key, teamId);
    const tools = await upstreamModel('openai', 'tools');
    const stream = await client.createAndCallStream({
      jobType: 'resume',
      model: tools,
      messages: user('w'),
      format: 'ndjson',
      resumable: true,
    });
    const whole = await collect(stream);
    expect(whole.length).toBeGreaterThan(3);
    for (const after of [0, 1, whole.length - 2]) {
      const rest = await collect(await client.resume(stream.callId!, { format: 'ndjson', after }));
      expect(rest, `after ${after}`).toEqual(whole.slice(after + 1));
      expect(rest[0]?.seq).toBe(after + 1);
    }
  });

  it('cancel ends the call: client_aborted, its readers get call_cancelled, the books balance', async () => {
    const { teamId, key } = await setupTeam(100);
    // Never cut (no answer here has that many events): it only records the requests.
    const dropping = droppingFetch(1_000, 'error');
    const client = clientFor(key, teamId, dropping.fetch);
    const slow = await upstreamModel('openai', 'slow');
    const stream = await client.createAndCallStream({
      jobType: 'cancel',
      model: slow,
      messages: user('stop me'),
      resumable: true,
    });
    const chunks = stream[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) expect((await chunks.next()).done).toBe(false);

    expect(await client.cancel(stream.callId!)).toEqual({ call_id: stream.callId, status: 'client_aborted' });
    let err: unknown;
    for (let i = 0; i < 100 && !err; i++) {
      try {
        if ((await chunks.next()).done) break;
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(StreamError);
    expect(err).toMatchObject({ code: 'call_cancelled' });
    // An in-band error ends the stream: no attempt to attach again.
    expect(dropping.requests.filter((r) => r.method === 'GET')).toHaveLength(0);

    const [row] = await oneRow(stream.jobId!);
    expect(row).toMatchObject({ status: 'client_aborted' });
    // Cancelling again tells the status as recorded.
    expect(await client.cancel(stream.callId!)).toEqual({ call_id: stream.callId, status: 'client_aborted' });
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
  });
});

// The reattach rules alone, against a fake gateway.

type Step = (req: Request) => Response | Promise<Response>;

function fakeFetch(...steps: Step[]) {
  const requests: Request[] = [];
  const fetch: FetchLike = async (url, init) => {
    const req = new Request(url, init);
    requests.push(req);
    return steps[Math.min(requests.length - 1, steps.length - 1)]!(req);
  };
  return { fetch, requests };
}

const chunkEvent = (id: number, content: string) =>
  `id: ${id}\ndata: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/** A 200 SSE answer: `text`, then an error (a dropped connection) or its end. */
function answer(text: string, then: 'drop' | 'end', headers: Record<string, string> = {}): Step {
  return () => {
    let sent = false;
    return new Response(
      new ReadableStream<Uint8Array>({
        // The error comes on a later read: erroring discards what is still queued.
        pull(c) {
          if (!sent) (c.enqueue(enc.encode(text)), (sent = true));
          else if (then === 'drop') c.error(new TypeError('connection reset'));
          else c.close();
        },
      }),
      {
        headers: {
          'content-type': 'text/event-stream',
          'x-call-id': 'call_1',
          'x-job-id': 'job_1',
          'x-sluice-resumable': 'true',
          ...headers,
        },
      },
    );
  };
}

const networkError: Step = () => {
  throw new TypeError('fetch failed');
};

const fakeClient = (fetch: FetchLike) =>
  new SluiceClient({ baseUrl: 'http://sluice.test', apiKey: 'sk-sluice-test', teamId: 'acme', fetch });

const quick = { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 4 };

describe('reattaching, against a fake gateway', () => {
  it('goes on across drops; gives up after maxAttempts in a row with no new event, with APIConnectionError', async () => {
    const f = fakeFetch(
      answer(chunkEvent(0, 'a') + chunkEvent(1, 'b'), 'drop'),
      // One attempt fails, the next brings event 2 (and replays 1, which is skipped), then drops.
      networkError,
      answer(chunkEvent(1, 'b') + chunkEvent(2, 'c') + 'id: 3\ndata: {"id":', 'drop'),
      networkError,
    );
    const stream = await fakeClient(f.fetch).chatStream('job_1', { messages: user('x'), resumable: quick });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]!.delta.content!);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect((err as Error).message).toContain('5 attempts');
    // The start, two attempts (the second brought news, so the count started again), then five.
    expect(f.requests).toHaveLength(1 + 2 + 5);
    const ids = f.requests.slice(1).map((r) => r.headers.get('last-event-id'));
    expect(ids).toEqual(['1', '1', '2', '2', '2', '2', '2']);
    expect(f.requests[1]!.method).toBe('GET');
    expect(new URL(f.requests[1]!.url).pathname).toBe('/api/calls/call_1/stream');
    expect(f.requests[1]!.headers.get('authorization')).toBe('Bearer sk-sluice-test');
    expect(stream.lastEventId).toBe(2);
  });

  it('a refusal while attaching again (404: the events expired) is thrown at once', async () => {
    const gone = () =>
      new Response(
        JSON.stringify({ error: { message: 'gone', type: 'not_found_error', code: 'call_not_resumable' } }),
        {
          status: 404,
          headers: { 'content-type': 'application/json' },
        },
      );
    const f = fakeFetch(answer(chunkEvent(0, 'a'), 'end'), gone);
    const stream = await fakeClient(f.fetch).chatStream('job_1', { messages: user('x'), resumable: quick });
    const err = await stream.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ code: 'call_not_resumable' });
    expect(f.requests).toHaveLength(2);
  });

  it('the caller’s abort ends a wait between attempts at once', async () => {
    const controller = new AbortController();
    const f = fakeFetch(answer(chunkEvent(0, 'a'), 'drop'), networkError);
    const stream = await fakeClient(f.fetch).chatStream('job_1', {
      messages: user('x'),
      signal: controller.signal,
      resumable: { maxAttempts: 5, initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const reading = stream.text().catch((e: unknown) => e);
    await eventually(async () => (stream.lastEventId === 0 ? true : null));
    const at = Date.now();
    controller.abort();
    expect(await reading).toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - at).toBeLessThan(1_000);
    expect(f.requests).toHaveLength(1);
  });

  it('a stream the gateway did not take as resumable is read as before: a drop throws, nothing is retried', async () => {
    const f = fakeFetch(answer(chunkEvent(0, 'a'), 'drop', { 'x-sluice-resumable': 'false' }));
    const stream = await fakeClient(f.fetch).chatStream('job_1', { messages: user('x'), resumable: quick });
    expect(stream.resumable).toBe(false);
    expect(await stream.text().catch((e: unknown) => e)).toBeInstanceOf(APIConnectionError);
    expect(f.requests).toHaveLength(1);

    const plain = fakeFetch(answer(chunkEvent(0, 'a'), 'end'));
    const unasked = await fakeClient(plain.fetch).chatStream('job_1', { messages: user('x') });
    expect(await plain.requests[0]!.clone().json()).not.toHaveProperty('resumable');
    expect(unasked.resumable).toBe(false);
    expect(await unasked.text().catch((e: unknown) => e)).toMatchObject({ code: 'stream_truncated' });
    expect(unasked.lastEventId).toBeNull();
  });
});

describe('the standard EventSource on a call’s stream URL', () => {
  // EventSource waits 3 s before it reconnects (the gateway sends no `retry:`), hence the time.
  it(
    'reconnects by itself with Last-Event-ID after a cut, and gets the whole answer once',
    { timeout: 15_000 },
    async () => {
      const { key, teamId } = await setupTeam(100);
      const slow = await upstreamModel('openai', 'slow');
      const start = await api('POST', '/v1/chat/completions', {
        key,
        body: { model: slow, messages: user(uniqueId('eventsource')), stream: true, resumable: true },
      });
      expect(start.status).toBe(200);
      const callId = start.headers.get('x-call-id')!;
      const streamUrl = new URL(start.headers.get('x-sluice-stream-url')!, 'http://sluice.test');
      // The call goes on without the reader that started it.
      await start.body!.cancel();

      const requests: { url: URL; lastEventId: string | null; authorization: string | null }[] = [];
      const fetch = async (url: string | URL, init: EventSourceFetchInit) => {
        const req = new Request(url, init);
        requests.push({
          url: new URL(req.url),
          lastEventId: req.headers.get('last-event-id'),
          authorization: req.headers.get('authorization'),
        });
        const res = await exports.default.fetch(req);
        if (requests.length > 1 || !res.body) return res;
        return new Response(cutBody(res.body, false, 4, 'error'), { status: res.status, headers: res.headers });
      };

      const source = new EventSource(streamUrl, { fetch });
      const messages: { id: string; data: string }[] = [];
      let errors = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const giveUp = setTimeout(() => reject(new Error(`no [DONE] after ${messages.length} messages`)), 12_000);
          // Listeners, not `onmessage`: the Workers runtime's EventTarget also calls an `on…`
          // property itself, so a handler set that way would run twice per event.
          source.addEventListener('message', (e) => {
            messages.push({ id: e.lastEventId, data: String(e.data) });
            if (e.data !== '[DONE]') return;
            // At once: the gateway ends the stream after [DONE], which EventSource takes for a drop.
            source.close();
            clearTimeout(giveUp);
            resolve();
          });
          source.addEventListener('error', () => {
            errors++;
            if (source.readyState === source.CLOSED) (clearTimeout(giveUp), reject(new Error('EventSource failed')));
          });
        });
      } finally {
        source.close();
      }

      // One cut, one reconnect: after event 3, the last whole one, by the token alone.
      expect(errors).toBe(1);
      expect(requests).toHaveLength(2);
      expect(requests.map((r) => r.lastEventId)).toEqual([null, '3']);
      for (const r of requests) {
        expect(r.authorization).toBeNull();
        expect(r.url.pathname).toBe(`/api/calls/${callId}/stream`);
        expect(r.url.searchParams.get('token')).toBeTruthy();
      }

      expect(messages.map((m) => m.id)).toEqual(messages.map((_, i) => String(i)));
      expect(messages.at(-1)!.data).toBe('[DONE]');
      const undisturbed = await (await api('GET', `/api/calls/${callId}/stream`, { key })).text();
      const data = undisturbed.split('\n\n').flatMap((block) => /^data: (.*)$/m.exec(block)?.[1] ?? []);
      expect(data.length).toBeGreaterThan(SLOW_TOKENS.length);
      expect(messages.map((m) => m.data)).toEqual(data);
      const tokens = messages.flatMap((m) => {
        if (m.data === '[DONE]') return [];
        const content = (JSON.parse(m.data) as ChatCompletionChunk).choices[0]?.delta.content ?? '';
        return /^ t\d+$/.test(content) ? [content] : [];
      });
      expect(tokens).toEqual(SLOW_TOKENS);

      const [row] = await oneRow(start.headers.get('x-job-id')!);
      expect(row).toMatchObject({ status: 'success' });
      const b = await books(teamId);
      expect(b.balance).toBe(b.ledgerSum);
      expect(b.held).toBe(0);
    },
  );
});
