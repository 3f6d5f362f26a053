/**
 * The WebSocket transport: several calls on one socket, each frame naming its call and `seq`,
 * cancel by message, closing the socket does not cancel, and a new socket resumes after the last
 * `seq` it got; token buffering (seed 004's BufferConfig) coalesces text into fewer frames.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  api,
  books,
  callRows,
  eventually,
  setupTeam,
  uniqueId,
  upstreamModel,
  upstreamStreams,
  user,
} from '../support/api';

type Frame = {
  type: string;
  call_id?: string;
  seq?: number;
  data?: unknown;
  metadata?: Record<string, unknown>;
} & Record<string, unknown>;

/** A socket to the worker under test, and every frame it has received. */
async function connect(auth: { key?: string; token?: string }) {
  const url = `http://sluice.test/api/ws${auth.token ? `?token=${encodeURIComponent(auth.token)}` : ''}`;
  const headers: Record<string, string> = { upgrade: 'websocket' };
  if (auth.key) headers.authorization = `Bearer ${auth.key}`;
  const res = await exports.default.fetch(new Request(url, { headers }));
  expect(res.status).toBe(101);
  const socket = res.webSocket!;
  socket.accept();
  const frames: Frame[] = [];
  socket.addEventListener('message', (e) => frames.push(JSON.parse(e.data as string) as Frame));
  const send = (m: object) => socket.send(JSON.stringify(m));
  /** Waits (bounded) for a frame matching `match`. */
  const frame = (match: (f: Frame) => boolean) => eventually(async () => frames.find(match) ?? null, 8000);
  return { socket, frames, send, frame };
}

const ofCall = (frames: Frame[], callId: string) => frames.filter((f) => f.call_id === callId && f.type !== 'ping');
const textOf = (frames: Frame[]) =>
  frames
    .filter((f) => f.type === 'token')
    .map((f) => f.data)
    .join('');

describe('WebSocket calls', () => {
  it('runs several calls on one socket, every frame with its call id and seq', async () => {
    const { key, teamId } = await setupTeam(100);
    const model = await upstreamModel('openai', 'answer');
    const ws = await connect({ key });
    ws.send({ type: 'call', request_id: 'a', model, messages: user('one') });
    ws.send({ type: 'call', request_id: 'b', model, messages: user('two') });
    await ws.frame((f) => f.type === 'done');
    await eventually(async () => (ws.frames.filter((f) => f.type === 'done').length === 2 ? true : null));
    const calls = [...new Set(ws.frames.map((f) => f.call_id))];
    expect(calls).toHaveLength(2);
    for (const callId of calls) {
      const frames = ofCall(ws.frames, callId!);
      expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
      expect(frames[0]).toMatchObject({ type: 'metadata', metadata: { call_id: callId } });
      expect(textOf(frames)).toBe('Héllo wörld 🚀');
      expect(frames.at(-1)).toMatchObject({ type: 'done' });
    }
    ws.socket.close();
    // The done frame goes out before the books are written; they settle a moment later.
    const b = await eventually(async () => {
      const now = await books(teamId);
      return now.held === 0 && now.balance === 98 ? now : null;
    });
    expect(b.balance).toBe(b.ledgerSum);
  });

  it('closing the socket does not cancel; a new socket resumes after the last seq with no gap', async () => {
    const { key } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const first = await connect({ key });
    first.send({ type: 'call', model, messages: user(uniqueId('ws-resume')) });
    const meta = await first.frame((f) => f.type === 'token' && String(f.data).includes('t2'));
    const callId = meta.call_id!;
    first.socket.close();
    const seen = ofCall(first.frames, callId);
    const last = seen.at(-1)!.seq!;

    const second = await connect({ key });
    second.send({ type: 'resume', call_id: callId, after: last });
    await second.frame((f) => f.type === 'done');
    const rest = ofCall(second.frames, callId);
    const all = [...seen, ...rest];
    expect(all.map((f) => f.seq)).toEqual(all.map((_, i) => i));
    expect(textOf(all)).toContain(' t29');
    const [row] = await eventually(async () => {
      const rows = await callRows(String(all[0]!.metadata!.job_id));
      return rows.length ? rows : null;
    });
    expect(row).toMatchObject({ status: 'success' });
    second.socket.close();
  });

  it('cancel by message closes the upstream; the frames end with call_cancelled', async () => {
    const { key } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const marker = uniqueId('ws-cancel');
    const ws = await connect({ key });
    ws.send({ type: 'call', model, messages: user(marker) });
    const token = await ws.frame((f) => f.type === 'token');
    ws.send({ type: 'cancel', call_id: token.call_id });
    const cancelled = await ws.frame((f) => f.type === 'cancelled');
    expect(cancelled).toMatchObject({ call_id: token.call_id, status: 'client_aborted' });
    const frames = ofCall(ws.frames, token.call_id!).filter((f) => f.type !== 'cancelled');
    expect(frames.at(-1)).toMatchObject({ type: 'error', metadata: { code: 'call_cancelled' } });
    const stats = await eventually(async () => (await upstreamStreams(marker)).find((s) => s.closedAt) ?? null);
    expect(stats.closedEarly).toBe(true);
    ws.socket.close();
  });

  it('coalesces text by BufferConfig: fewer token frames, the same text', async () => {
    const { key } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const ws = await connect({ key });
    ws.send({
      type: 'call',
      model,
      messages: user(uniqueId('ws-buffer')),
      buffer_config: { max_chunk_size: 12, flush_interval_ms: 60_000 },
    });
    const done = await ws.frame((f) => f.type === 'done');
    const tokens = ofCall(ws.frames, done.call_id!).filter((f) => f.type === 'token');
    expect(textOf(tokens)).toBe(Array.from({ length: 30 }, (_, i) => ` t${i}`).join(''));
    // 30 tokens of 3-4 characters in pieces of at least 12: at most a third as many frames.
    expect(tokens.length).toBeLessThanOrEqual(11);
    for (const t of tokens.slice(0, -1)) expect(String(t.data).length).toBeGreaterThanOrEqual(12);
    // Between flushes the socket is quiet for longer than KEEPALIVE_MS (100 ms here): heartbeats fill it.
    expect(ws.frames.some((f) => f.type === 'ping' && f.call_id === done.call_id)).toBe(true);
    ws.socket.close();
  });

  it('refuses what it cannot do, in frames: bad messages, another team, a token that only resumes', async () => {
    const { key } = await setupTeam(100);
    const other = await setupTeam(100);
    const ws = await connect({ key });
    ws.send({ type: 'shout' });
    expect(await ws.frame((f) => f.type === 'error')).toMatchObject({
      error: { type: 'invalid_request_error' },
    });
    const start = await api('POST', '/api/jobs/create-and-call-stream', {
      key: other.key,
      headers: { accept: 'application/x-ndjson' },
      body: { team_id: other.teamId, job_type: 'ws', model: 'mock', messages: user('x'), resumable: true },
    });
    const foreign = start.headers.get('x-call-id')!;
    ws.send({ type: 'resume', call_id: foreign, after: -1 });
    expect(await ws.frame((f) => f.type === 'error' && f.call_id === foreign)).toMatchObject({
      error: { type: 'permission_error' },
    });
    await start.text();
    const token = new URL(start.headers.get('x-sluice-stream-url')!, 'http://x').searchParams.get('token')!;
    const byToken = await connect({ token });
    byToken.send({ type: 'call', model: 'mock', messages: user('y'), request_id: 'r1' });
    expect(await byToken.frame((f) => f.type === 'error')).toMatchObject({
      request_id: 'r1',
      error: { type: 'authentication_error' },
    });
    byToken.send({ type: 'resume', call_id: foreign, after: -1 });
    expect(await byToken.frame((f) => f.type === 'done')).toMatchObject({ call_id: foreign });
    // A call streamed as SSE is resumed over SSE.
    const sse = await api('POST', '/v1/chat/completions', {
      key,
      body: { model: 'mock', messages: user('z'), stream: true, resumable: true },
    });
    await sse.text();
    ws.send({ type: 'resume', call_id: sse.headers.get('x-call-id'), after: -1 });
    expect(await ws.frame((f) => f.type === 'error' && f.call_id === sse.headers.get('x-call-id'))).toMatchObject({
      error: { param: 'call_id', message: expect.stringContaining('GET /api/calls/{call_id}/stream') },
    });
    const plain = await api('GET', '/api/ws', { key });
    expect(plain.status).toBe(426);
    ws.socket.close();
    byToken.socket.close();
  });
});
