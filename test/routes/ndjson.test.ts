/**
 * The job API's streams as NDJSON (`Accept: application/x-ndjson`), against the worker and the
 * fake upstreams: the exact lines, the headers, the gateway's own failures, and books that are
 * the same as the same call streamed as SSE.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  type Upstream,
  api,
  books,
  callRows,
  eventually,
  fakeModel,
  ledger,
  post,
  setupTeam,
  upstreamModel,
  user,
} from '../support/api';

const NDJSON = 'application/x-ndjson';

const stream = (path: string, body: unknown, key: string, accept: string | null = NDJSON) =>
  api('POST', path, { body, key, headers: accept === null ? {} : { accept } });

/** The body as UTF-8 (workerd's `text()` warns about a content type it does not know as text). */
const text = async (res: Response) => new TextDecoder().decode(await res.arrayBuffer());

/** The body as its lines, parsed; blank lines (keep-alives) left out but kept in `raw`. */
async function readLines(res: Response) {
  const raw = await text(res);
  expect(raw.endsWith('\n')).toBe(true);
  const lines = raw
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; data: unknown; metadata: Record<string, unknown> });
  return { raw, lines };
}

const token = (data: string) => ({ type: 'token', data, metadata: {} });
const chunk = (data: object) => ({ type: 'chunk', data, metadata: {} });
const done = (finish_reason: string, usage: object | null) => ({
  type: 'done',
  data: '',
  metadata: { finish_reason, usage },
});
/**
 * The done line's usage, priced as the fake upstreams' catalog rows are (1 and 2 USD per 1M
 * input and output tokens, no cache prices: every prompt token at the input price; the mock is
 * free). Every team here is job_based, so the call itself is charged no credits: the job is.
 */
const usage = (prompt: number, completion: number, cached = 0, reasoning = 0, free = false) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  cached_tokens: cached,
  reasoning_tokens: reasoning,
  total_tokens: prompt + completion,
  cost_usd: free ? 0 : Math.round(prompt + 2 * completion) / 1e6,
  credits: 0,
});
const error = (data: string, code: string) => ({ type: 'error', data, metadata: { type: 'upstream_error', code } });
const metadataOf = (res: Response, model: string, upstreamModel: string) => ({
  type: 'metadata',
  data: '',
  metadata: {
    job_id: res.headers.get('x-job-id'),
    call_id: res.headers.get('x-call-id'),
    model,
    upstream_model: upstreamModel,
  },
});

/** A create-and-call-stream job, once it has settled: its call row and the team's ledger and books. */
async function settled(teamId: string, jobId: string) {
  const job = await eventually(async () => {
    const row = await env.DB.prepare('SELECT status, credits_charged FROM jobs WHERE id = ?')
      .bind(jobId)
      .first<{ status: string; credits_charged: number }>();
    return row && row.status !== 'in_progress' && (await books(teamId)).held === 0 ? row : null;
  });
  const calls = await eventually(async () => {
    const rows = await callRows(jobId);
    return rows.length ? rows : null;
  });
  // What identifies this run or depends on its timing is left out; everything else must match.
  const call = calls.map(({ id, job_id, team_id, created_at, latency_ms, ttft_ms, ...rest }) => rest);
  const entries = (await ledger(teamId)).map(({ job_id, call_id, ...rest }) => rest);
  return { job, call, ledger: entries, books: await books(teamId) };
}

describe('NDJSON on create-and-call-stream', () => {
  it('the mock: the headers, then metadata, a token per piece, done with the usage; the job is charged', async () => {
    const { teamId, key } = await setupTeam(2);
    const res = await stream(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'chat', model: 'mock', messages: user('Hi'), max_tokens: 4 },
      key,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(NDJSON);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const jobId = res.headers.get('x-job-id')!;
    expect(jobId).toMatch(/^job_/);
    expect(res.headers.get('x-call-id')).toMatch(/^call_/);

    const { raw, lines } = await readLines(res);
    expect(lines).toEqual([
      metadataOf(res, 'mock', 'mock-1'),
      token('Hello'),
      token(' from'),
      token(" Sluice's"),
      token(' mock'),
      done('length', usage(4, 4, 0, 0, true)),
    ]);
    // One compact JSON object a line, nothing else.
    expect(raw).toBe(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));

    const { job, call, books: after } = await settled(teamId, jobId);
    expect(job).toEqual({ status: 'completed', credits_charged: 1 });
    expect(call[0]).toMatchObject({
      status: 'success',
      stream: 1,
      content: "Hello from Sluice's mock",
      finish_reason: 'length',
      prompt_tokens: 4,
      completion_tokens: 4,
    });
    expect(after).toEqual({ balance: 1, held: 0, ledgerSum: 1, activeHolds: 0 });
  });

  it('Accept negotiation: only a request that names NDJSON gets it; the rest keep SSE', async () => {
    const { teamId, key } = await setupTeam(10);
    const body = { team_id: teamId, job_type: 'chat', model: 'mock', messages: user('Hi'), max_tokens: 1 };
    for (const accept of [null, 'text/event-stream', '*/*', 'application/json, text/plain, */*']) {
      const res = await stream('/api/jobs/create-and-call-stream', body, key, accept);
      expect(res.headers.get('content-type'), String(accept)).toBe('text/event-stream; charset=utf-8');
      expect(await res.text()).toMatch(/^data: \{"id":"chatcmpl-/);
    }
    const res = await stream(
      '/api/jobs/create-and-call-stream',
      body,
      key,
      'text/event-stream;q=0.5, application/x-ndjson',
    );
    expect(res.headers.get('content-type')).toBe(NDJSON);
    expect((await readLines(res)).lines[0]!.type).toBe('metadata');
  });

  it('an error before the stream is the usual JSON error, whatever the Accept', async () => {
    const { teamId, key } = await setupTeam(0);
    const res = await stream(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'chat', model: 'mock', messages: user('Hi') },
      key,
    );
    expect(res.status).toBe(402);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error: { type: 'insufficient_credits' } });
  });
});

/** What each upstream's scenarios stream after the metadata line, as NDJSON. */
const SCENARIOS: Record<Upstream, Record<'text' | 'tool' | 'error', { scenario: string; lines: object[] }>> = {
  openai: {
    text: { scenario: 'answer', lines: [token('Héllo'), token(' wörld'), token(' 🚀'), done('stop', usage(11, 3))] },
    tool: {
      scenario: 'tools',
      lines: [
        chunk({ tool_call: { index: 0, id: 'call_abc', name: 'get_weather' } }),
        chunk({ tool_args: { index: 0, args: '{"ci' } }),
        chunk({ tool_args: { index: 0, args: 'ty": "Par' } }),
        chunk({ tool_args: { index: 0, args: 'is", "unit"' } }),
        chunk({ tool_args: { index: 0, args: ': "c"}' } }),
        done('tool_calls', usage(20, 9)),
      ],
    },
    error: { scenario: 'error-event', lines: [token('Héllo'), error('Model overloaded', 'overloaded')] },
  },
  anthropic: {
    text: { scenario: 'text', lines: [token('Héllo'), token(' wörld'), token(' 🚀'), done('stop', usage(25, 12))] },
    tool: {
      scenario: 'tool',
      lines: [
        token('Let me check.'),
        chunk({ tool_call: { index: 0, id: 'toolu_01Weather', name: 'get_weather' } }),
        chunk({ tool_args: { index: 0, args: '{"city": "Pa' } }),
        chunk({ tool_args: { index: 0, args: 'ris", "unit' } }),
        chunk({ tool_args: { index: 0, args: '": "°C"}' } }),
        chunk({ tool_call: { index: 1, id: 'toolu_02Time', name: 'get_time' } }),
        chunk({ tool_args: { index: 1, args: '{}' } }),
        done('tool_calls', usage(150, 40, 30)),
      ],
    },
    error: { scenario: 'error', lines: [token('Héllo'), error('Overloaded', 'overloaded_error')] },
  },
  gemini: {
    text: { scenario: 'text', lines: [token('Héllo'), token(' wörld'), token(' 🚀'), done('stop', usage(9, 4))] },
    tool: {
      scenario: 'tool',
      lines: [
        token('Checking.'),
        chunk({ tool_call: { index: 0, id: 'call_0', name: 'get_weather' } }),
        chunk({ tool_args: { index: 0, args: '{"city":"Paris","unit":"°C"}' } }),
        chunk({ tool_call: { index: 1, id: 'call_1', name: 'get_time' } }),
        chunk({ tool_args: { index: 1, args: '{}' } }),
        done('tool_calls', usage(50, 42, 0, 30)),
      ],
    },
    error: {
      scenario: 'error',
      lines: [token('Héllo'), error('The model is overloaded. Please try again later.', 'UNAVAILABLE')],
    },
  },
};

describe.each(['openai', 'anthropic', 'gemini'] as const)('NDJSON from a %s upstream', (upstream) => {
  it.each(['text', 'tool', 'error'] as const)('%s: the exact lines, and the same books as SSE', async (kind) => {
    const { scenario, lines: expected } = SCENARIOS[upstream][kind];
    const alias = await upstreamModel(upstream, scenario);
    const run = async (accept: string) => {
      const { teamId, key } = await setupTeam(5);
      const res = await stream(
        '/api/jobs/create-and-call-stream',
        { team_id: teamId, job_type: 'chat', model: alias, messages: user('weather in Paris?') },
        key,
        accept,
      );
      expect(res.status).toBe(200);
      const body = await text(res);
      return { res, body, ...(await settled(teamId, res.headers.get('x-job-id')!)) };
    };
    const sse = await run('text/event-stream');
    const ndjson = await run(NDJSON);

    const lines = ndjson.body
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([metadataOf(ndjson.res, alias, scenario), ...expected]);
    expect(lines.filter((l) => (l as { type: string }).type === 'done')).toHaveLength(kind === 'error' ? 0 : 1);

    expect(ndjson.job).toEqual(sse.job);
    expect(ndjson.call).toEqual(sse.call);
    expect(ndjson.ledger).toEqual(sse.ledger);
    expect(ndjson.books).toEqual(sse.books);
    expect(ndjson.job.status).toBe(kind === 'error' ? 'failed' : 'completed');
  });
});

describe('NDJSON on llm-call-stream', () => {
  it('a call inside a job: the job and call ids in the metadata line; the job completes as usual', async () => {
    const { teamId, key } = await setupTeam(3);
    const created = await post('/api/jobs/create', { team_id: teamId, job_type: 'agent' }, key);
    const { job_id } = (await created.json()) as { job_id: string };
    const res = await stream(
      `/api/jobs/${job_id}/llm-call-stream`,
      { model: 'mock', messages: user('one two'), max_tokens: 2 },
      key,
    );
    expect(res.headers.get('content-type')).toBe(NDJSON);
    expect(res.headers.get('x-job-id')).toBe(job_id);
    const { lines } = await readLines(res);
    expect(lines).toEqual([
      metadataOf(res, 'mock', 'mock-1'),
      token('Hello'),
      token(' from'),
      done('length', usage(5, 2, 0, 0, true)),
    ]);

    const [call] = await eventually(async () => {
      const rows = await callRows(job_id);
      return rows.length ? rows : null;
    });
    expect(call).toMatchObject({ id: res.headers.get('x-call-id'), status: 'success', content: 'Hello from' });
    const complete = await post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key);
    expect(((await complete.json()) as any).costs).toMatchObject({ credits_charged: 1, credits_remaining: 2 });
  });

  it('keep-alives before the first byte are blank lines, ahead of the metadata line', async () => {
    const { teamId, key } = await setupTeam(3);
    const { job_id } = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    const alias = await fakeModel('slow-first');
    const res = await stream(`/api/jobs/${job_id}/llm-call-stream`, { model: alias, messages: user('x') }, key);
    const { raw, lines } = await readLines(res);
    expect(raw).toMatch(/^\n+\{"type":"metadata"/);
    expect(lines).toEqual([
      metadataOf(res, alias, 'slow-first'),
      token('Héllo'),
      token(' wörld'),
      token(' 🚀'),
      done('stop', usage(11, 3)),
    ]);
  });

  it('an upstream that stalls mid-stream: the gateway’s own error line, no done; the call is an error', async () => {
    const { teamId, key } = await setupTeam(3);
    const { job_id } = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    const alias = await fakeModel('stall');
    const res = await stream(`/api/jobs/${job_id}/llm-call-stream`, { model: alias, messages: user('x') }, key);
    const { lines } = await readLines(res);
    expect(lines).toEqual([
      metadataOf(res, alias, 'stall'),
      token('Héllo'),
      error(`Upstream sent nothing for ${env.STREAM_IDLE_TIMEOUT_MS} ms`, 'upstream_idle_timeout'),
    ]);
    const [call] = await eventually(async () => {
      const rows = await callRows(job_id);
      return rows.length ? rows : null;
    });
    expect(call).toMatchObject({ status: 'error', content: 'Héllo' });
  });
});
