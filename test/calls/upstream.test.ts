import { describe, expect, it } from 'vitest';
import {
  callRows,
  eventually,
  fakeModel,
  fakeModelWithFallbacks,
  post,
  readSSE,
  setupTeam,
  upstreamRequests,
  user,
} from '../support/api';

async function onlyCall(jobId: string) {
  const rows = await eventually(async () => {
    const r = await callRows(jobId);
    return r.length ? r : null;
  });
  return rows[0]!;
}

describe('retries and fallbacks before the first byte', () => {
  it('a 5xx target is retried once, then the fallback serves; the call row says who served', async () => {
    const { teamId, key } = await setupTeam(3);
    const backup = await fakeModel('answer');
    const primary = await fakeModelWithFallbacks('status-500', [backup]);
    const marker = crypto.randomUUID();
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: primary, messages: user(marker) },
      key,
    );
    expect(res.status).toBe(200);
    const { data } = await readSSE(res);
    expect(data.at(-1)).toBe('[DONE]');
    const sent = await upstreamRequests(marker);
    expect(sent.map((r) => r.body.model)).toEqual(['status-500', 'status-500', 'answer']);
    const call = await onlyCall(res.headers.get('x-job-id')!);
    expect(call).toMatchObject({
      status: 'success',
      model: primary,
      served_by: backup,
      attempts: 3,
      upstream_model: 'answer',
    });
  });

  it('a transient 503 is retried on the same target', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await fakeModel('flaky-once');
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model, messages: user(crypto.randomUUID()) },
      key,
    );
    expect(res.status).toBe(200);
    const call = await onlyCall(res.headers.get('x-job-id')!);
    expect(call).toMatchObject({ status: 'success', served_by: model, attempts: 2 });
  });

  it('a Retry-After longer than 5 s moves straight to the fallback', async () => {
    const { teamId, key } = await setupTeam(3);
    const backup = await fakeModel('answer');
    const primary = await fakeModelWithFallbacks('status-429', [backup]);
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: primary, messages: user('x') },
      key,
    );
    expect(res.status).toBe(200);
    expect(await onlyCall(res.headers.get('x-job-id')!)).toMatchObject({ served_by: backup, attempts: 2 });
  });

  it('a target that does not answer within UPSTREAM_TIMEOUT_MS times out and falls back', async () => {
    const { teamId, key } = await setupTeam(3);
    const backup = await fakeModel('answer');
    const primary = await fakeModelWithFallbacks('hang', [backup]);
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: primary, messages: user('x') },
      key,
    );
    expect(res.status).toBe(200);
    expect(await onlyCall(res.headers.get('x-job-id')!)).toMatchObject({ served_by: backup, attempts: 3 });
  });

  it('when every target fails the client gets the last error; attempts are bounded', async () => {
    const { teamId, key } = await setupTeam(3);
    const c = await fakeModel('status-500');
    const b = await fakeModelWithFallbacks('status-503', [c]);
    const a = await fakeModelWithFallbacks('status-500', [b, c]);
    const marker = crypto.randomUUID();
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: a, messages: user(marker) },
      key,
    );
    expect(res.status).toBe(502);
    expect((await upstreamRequests(marker)).length).toBe(4);
  });

  it('a 400 from the upstream is not retried and reaches the client as a 400', async () => {
    const { teamId, key } = await setupTeam(3);
    const backup = await fakeModel('answer');
    const primary = await fakeModelWithFallbacks('status-400', [backup]);
    const marker = crypto.randomUUID();
    const res = await post(
      '/api/jobs/create-and-call',
      { team_id: teamId, job_type: 'x', model: primary, messages: user(marker) },
      key,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toContain('maximum context length');
    expect((await upstreamRequests(marker)).length).toBe(1);
  });

  it('after the first byte there is no switch: a mid-stream failure is an in-band error', async () => {
    const { teamId, key } = await setupTeam(3);
    const backup = await fakeModel('answer');
    const primary = await fakeModelWithFallbacks('drop', [backup]);
    const marker = crypto.randomUUID();
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: primary, messages: user(marker) },
      key,
    );
    const { data } = await readSSE(res);
    expect(JSON.parse(data.at(-1)!).error.code).toBe('upstream_stream_error');
    expect((await upstreamRequests(marker)).map((r) => r.body.model)).toEqual(['drop']);
    expect(await onlyCall(res.headers.get('x-job-id')!)).toMatchObject({
      status: 'error',
      served_by: primary,
      attempts: 1,
    });
  });
});
