import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  books,
  callRows,
  eventually,
  fakeModel,
  post,
  readSSE,
  setupTeam,
  upstreamStreams,
  user,
} from '../support/api';

const firstCall = (jobId: string) =>
  eventually(async () => {
    const rows = await callRows(jobId);
    return rows[0] ?? null;
  });

/** What the fake upstream saw of the stream for `marker`, once that stream has closed. */
const closedUpstream = (marker: string) =>
  eventually(async () => {
    const [seen] = await upstreamStreams(marker);
    return seen?.closedAt ? seen : null;
  });

type Open = (teamId: string, key: string, model: string, content: string) => Promise<Response>;

/**
 * Both ways a stream reaches the client: OpenAI bytes piped by the runtime (relay.ts), and the
 * JavaScript stage that changes them on their way (transform-pump.ts; a /v1 client that did not
 * ask for the usage chunk gets it left out, exactly as Anthropic and Gemini streams are re-encoded).
 */
const PATHS: [string, Open][] = [
  [
    'relayed as they are',
    (teamId, key, model, content) =>
      post('/api/jobs/create-and-call-stream', { team_id: teamId, job_type: 'x', model, messages: user(content) }, key),
  ],
  [
    'through the transform stage',
    (_teamId, key, model, content) =>
      post('/v1/chat/completions', { model, messages: user(content), stream: true }, key),
  ],
];

describe.each(PATHS)('faults around a stream, %s', (_path, open) => {
  it('client disconnects mid-stream: the upstream is closed before its next chunk, the books keep the partial call', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('slow');
    const marker = crypto.randomUUID();
    const res = await open(teamId, key, model, marker);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (let i = 0; i < 100 && !text.includes(' t2'); i++) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();

    const seen = await closedUpstream(marker);
    expect(seen.closedEarly).toBe(true);
    expect(seen.written).toBeLessThan(seen.total);
    // Closed before the next chunk was due.
    expect(seen.closedAt! - seen.lastWriteAt).toBeLessThan(seen.gapMs);

    const jobId = res.headers.get('x-job-id')!;
    const call = await firstCall(jobId);
    expect(call.status).toBe('client_aborted');
    expect(String(call.content)).toMatch(/^ t0 t1 t2/);
    const job = await eventually(() =>
      env.DB.prepare("SELECT status, credits_charged FROM jobs WHERE id = ? AND status != 'pending'")
        .bind(jobId)
        .first(),
    );
    expect(job).toEqual({ status: 'cancelled', credits_charged: 0 });
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
  });

  it('client disconnects while the model is still thinking: the upstream is closed at once, nothing is charged', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('thinking');
    const marker = crypto.randomUUID();
    const res = await open(teamId, key, model, marker);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe(': ping\n\n');
    await reader.cancel();
    const cancelledAt = Date.now();

    const seen = await closedUpstream(marker);
    expect(seen.closedEarly).toBe(true);
    // Closed within a few keep-alive periods, long before the 2 s the model would have taken.
    expect(seen.closedAt! - cancelledAt).toBeLessThan(1000);

    const jobId = res.headers.get('x-job-id')!;
    const call = await firstCall(jobId);
    expect(call).toMatchObject({ status: 'client_aborted', content: '', ttft_ms: null });
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
  });

  it('a slow first token gets SSE comment keep-alives until it arrives', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('slow-first');
    const res = await open(teamId, key, model, 'x');
    const { raw, data } = await readSSE(res);
    const pings = raw.slice(0, raw.indexOf('data: ')).match(/: ping\n\n/g) ?? [];
    expect(pings.length).toBeGreaterThanOrEqual(2);
    // None after the first byte.
    expect(raw.slice(raw.indexOf('data: '))).not.toContain(': ping');
    expect(data.at(-1)).toBe('[DONE]');
  });

  it('an upstream silent for STREAM_IDLE_TIMEOUT_MS ends with an in-band error; the call is an error, nothing charged', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('stall');
    const res = await open(teamId, key, model, 'x');
    const { data } = await readSSE(res);
    expect(JSON.parse(data[0]!).choices[0].delta.content).toBe('Héllo');
    expect(JSON.parse(data.at(-1)!).error.code).toBe('upstream_idle_timeout');
    const call = await firstCall(res.headers.get('x-job-id')!);
    expect(call).toMatchObject({ status: 'error', content: 'Héllo' });
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
  });

  it('an upstream slower than the idle limit allows in total, but never silent that long, is not stalled', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('steady-slow');
    const res = await open(teamId, key, model, 'x');
    const { data } = await readSSE(res);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.join('\n')).not.toContain('upstream_idle_timeout');
    const call = await firstCall(res.headers.get('x-job-id')!);
    // Spread over several reads of the books' copy (one every 250 ms at most), all kept whole.
    expect(call).toMatchObject({ status: 'success', content: 'Héllo wörld 🚀' });
  });

  it.each([
    ['relayed', '/v1/chat/completions', { stream: true }],
    ['re-encoded', '/v1/responses', { stream: true }],
  ])(
    'an upstream that holds its connection open after its terminal event (%s): a whole answer, no error',
    async (_how, path, extra) => {
      const { key } = await setupTeam(3);
      const model = await fakeModel('linger-long');
      const marker = crypto.randomUUID();
      const body = path === '/v1/responses' ? { model, input: marker } : { model, messages: user(marker) };
      const res = await post(path, { ...body, ...extra }, key);
      const text = await res.text();
      expect(text).not.toContain('upstream_idle_timeout');
      expect(text).not.toContain('response.failed');
      const call = await firstCall(res.headers.get('x-job-id')!);
      expect(call).toMatchObject({ status: 'success', content: 'Héllo wörld 🚀' });
    },
  );

  it('a client that hangs up right after [DONE] got the whole answer: a success, charged', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('linger');
    const res = await open(teamId, key, model, 'x');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (let i = 0; i < 100 && !text.includes('[DONE]'); i++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain('data: [DONE]');
    await reader.cancel();
    const call = await firstCall(res.headers.get('x-job-id')!);
    expect(call).toMatchObject({ status: 'success', content: 'Héllo wörld 🚀' });
    const job = await eventually(() =>
      env.DB.prepare("SELECT status, credits_charged FROM jobs WHERE id = ? AND status != 'in_progress'")
        .bind(res.headers.get('x-job-id')!)
        .first(),
    );
    expect(job).toEqual({ status: 'completed', credits_charged: 1 });
  });
});

describe('a client that stops reading without hanging up', () => {
  it("through the transform stage: after STREAM_IDLE_TIMEOUT_MS the call ends as the client's and the upstream is closed", async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('slow');
    const marker = crypto.randomUUID();
    const res = await post('/v1/chat/completions', { model, messages: user(marker), stream: true }, key);
    const reader = res.body!.getReader();
    await reader.read(); // one chunk, then nothing: the writes behind it wait on this client
    const call = await firstCall(res.headers.get('x-job-id')!);
    // Not blamed on the upstream, which was sending all along.
    expect(call).toMatchObject({ status: 'client_aborted' });
    expect(String(call.content)).toMatch(/^ t0/);
    const seen = await closedUpstream(marker);
    expect(seen.closedEarly).toBe(true);
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
    await reader.cancel();
  });
});
