import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, books, callRows, eventually, fakeModel, post, readSSE, setupTeam, user } from '../support/api';

async function expectError(res: Response, status: number, code: string, param?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const body = (await res.json()) as { error: { message: string; type: string; code: string; param: string | null } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

async function rowCounts() {
  const q = (t: string) =>
    env.DB.prepare(`SELECT count(*) AS n FROM ${t}`)
      .first<{ n: number }>()
      .then((r) => r!.n);
  return {
    jobs: await q('jobs'),
    calls: await q('llm_calls'),
    ledger: await q('credit_ledger'),
    holds: await q('credit_holds'),
  };
}

describe('400: bad bodies name the field and write nothing', () => {
  it.each([
    ['missing job_type', { team_id: 't' }, 'job_type'],
    ['wrong type', { team_id: 't', job_type: 42 }, 'job_type'],
    ['metadata not an object', { team_id: 't', job_type: 'x', metadata: 'nope' }, 'metadata'],
  ])('create: %s', async (_name, body, param) => {
    const { key } = await setupTeam(5);
    const before = await rowCounts();
    await expectError(await post('/api/jobs/create', body, key), 400, 'invalid_request', param);
    expect(await rowCounts()).toEqual(before);
  });

  it.each([
    ['empty messages', { messages: [] }, 'messages'],
    ['unknown role', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
    ['temperature out of range', { messages: user('x'), temperature: 7 }, 'temperature'],
    ['absurd max_tokens', { messages: user('x'), max_tokens: 10_000_000 }, 'max_tokens'],
    ['stop not strings', { messages: user('x'), stop: [1] }, 'stop'],
  ])('call: %s', async (_name, body, param) => {
    const { teamId, key } = await setupTeam(5);
    const { job_id } = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    const before = await rowCounts();
    await expectError(await post(`/api/jobs/${job_id}/llm-call-stream`, body, key), 400, 'invalid_request', param);
    expect(await rowCounts()).toEqual(before);
  });

  it('malformed JSON is a 400 in the same shape', async () => {
    const { key } = await setupTeam(5);
    await expectError(await api('POST', '/api/jobs/create', { body: '{"team_id": ', key }), 400, 'invalid_request');
  });

  it('a body over 1 MiB is 413', async () => {
    const { teamId, key } = await setupTeam(5);
    const big = 'x'.repeat(1024 * 1024 + 10);
    await expectError(
      await post('/api/jobs/create-and-call', { team_id: teamId, job_type: 'x', messages: user(big) }, key),
      413,
      'payload_too_large',
    );
  });
});

describe('401 / 403 / 404 / 409 / 402', () => {
  it('401 for a missing, unknown or revoked key', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    await expectError(await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }), 401, 'missing_api_key');
    await expectError(
      await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, 'sk-sluice-nope'),
      401,
      'invalid_api_key',
    );
    expect((await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).status).toBe(200);
    expect((await api('DELETE', `/admin/keys/${keyId}`, { admin: true })).status).toBe(200);
    await expectError(await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key), 401, 'key_revoked');
  });

  it("403 for another team's job or team; nothing of theirs is revealed", async () => {
    const a = await setupTeam(5);
    const b = await setupTeam(5);
    const { job_id } = (await (
      await post('/api/jobs/create', { team_id: a.teamId, job_type: 'x' }, a.key)
    ).json()) as any;
    await expectError(
      await post('/api/jobs/create', { team_id: a.teamId, job_type: 'x' }, b.key),
      403,
      'team_mismatch',
    );
    await expectError(await post(`/api/jobs/${job_id}/llm-call`, { messages: user('x') }, b.key), 403, 'team_mismatch');
    await expectError(await post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, b.key), 403, 'team_mismatch');
    await expectError(await api('GET', `/api/jobs/${job_id}`, { key: b.key }), 403, 'team_mismatch');
    await expectError(await api('GET', `/api/teams/${a.teamId}/credits`, { key: b.key }), 403, 'team_mismatch');
    expect(await books(a.teamId)).toEqual({ balance: 5, held: 1, ledgerSum: 5, activeHolds: 1 });
  });

  it('404 for an unknown job or model', async () => {
    const { teamId, key } = await setupTeam(5);
    await expectError(await post('/api/jobs/job_missing/llm-call', { messages: user('x') }, key), 404, 'job_not_found');
    await expectError(await api('GET', '/api/jobs/job_missing', { key }), 404, 'job_not_found');
    const before = await rowCounts();
    await expectError(
      await post(
        '/api/jobs/create-and-call-stream',
        { team_id: teamId, job_type: 'x', model: 'gpt-9', messages: user('x') },
        key,
      ),
      404,
      'model_not_found',
    );
    expect(await rowCounts()).toEqual(before);
  });

  it('409 for a call on a finished job', async () => {
    const { teamId, key } = await setupTeam(5);
    const { job_id } = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    await post(`/api/jobs/${job_id}/complete`, { status: 'completed' }, key);
    await expectError(
      await post(`/api/jobs/${job_id}/llm-call-stream`, { messages: user('x') }, key),
      409,
      'job_not_active',
    );
  });

  it('402 when no credit is available', async () => {
    const { teamId, key } = await setupTeam(1);
    expect((await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).status).toBe(200);
    const before = await rowCounts();
    const err = await expectError(
      await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key),
      402,
      'insufficient_credits',
    );
    expect(err.type).toBe('insufficient_credits');
    expect(await rowCounts()).toEqual(before);
  });
});

describe('upstream failures', () => {
  it('before the first byte: 429 keeps Retry-After, the call is an error, the job fails, nothing is charged', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('status-429');
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model, messages: user('x') },
      key,
    );
    const err = await expectError(res, 429, 'upstream_rate_limited');
    expect(res.headers.get('retry-after')).toBe('7');
    expect(err.message).toContain('Rate limit reached');
    const job = await eventually(() =>
      env.DB.prepare("SELECT id FROM jobs WHERE team_id = ? AND status = 'failed'")
        .bind(teamId)
        .first<{ id: string }>(),
    );
    expect((await callRows(job.id))[0]).toMatchObject({ status: 'error' });
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
  });

  it('a 500 upstream is a 502 for the client', async () => {
    const { teamId, key } = await setupTeam(3);
    const { job_id } = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    await expectError(
      await post(`/api/jobs/${job_id}/llm-call`, { messages: user('x'), model: await fakeModel('status-500') }, key),
      502,
      'upstream_error',
    );
  });

  it('an unreachable upstream is a 502', async () => {
    const { teamId, key } = await setupTeam(3);
    await env.DB.prepare(
      "INSERT INTO models (alias, provider, upstream_model, base_url) VALUES ('dead', 'openai', 'x', 'http://127.0.0.1:9/v1')",
    ).run();
    await expectError(
      await post(
        '/api/jobs/create-and-call',
        { team_id: teamId, job_type: 'x', model: 'dead', messages: user('x') },
        key,
      ),
      502,
      'upstream_unreachable',
    );
  });

  it.each([
    ['drop', 'upstream_stream_error'],
    ['error-event', 'overloaded'],
    ['truncated', 'upstream_truncated'],
    ['garbage', 'upstream_malformed'],
  ])(
    'mid-stream %s: the partial answer, then an in-band error event, then the end; job failed, not charged',
    async (scenario, code) => {
      const { teamId, key } = await setupTeam(3);
      const model = await fakeModel(scenario);
      const res = await post(
        '/api/jobs/create-and-call-stream',
        { team_id: teamId, job_type: 'x', model, messages: user('x') },
        key,
      );
      expect(res.status).toBe(200);
      const { data } = await readSSE(res);
      const last = JSON.parse(data.at(-1)!);
      expect(last.error.code).toBe(code);
      expect(data).not.toContain('[DONE]');
      const text = data
        .map((d) => {
          try {
            return JSON.parse(d).choices?.[0]?.delta?.content ?? '';
          } catch {
            return ''; // the garbage line itself, forwarded as it came
          }
        })
        .join('');
      expect(text).toBe('Héllo');

      const jobId = res.headers.get('x-job-id')!;
      await eventually(async () => ((await callRows(jobId)).length ? true : null));
      const [call] = await callRows(jobId);
      expect(call).toMatchObject({ status: 'error', content: 'Héllo' });
      const job = await env.DB.prepare('SELECT status, credits_charged FROM jobs WHERE id = ?').bind(jobId).first();
      expect(job).toEqual({ status: 'failed', credits_charged: 0 });
      expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
    },
  );
});
