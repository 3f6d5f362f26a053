import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  books,
  callRows,
  eventually,
  fakeModel,
  post,
  readSSE,
  setTeam,
  setupTeam,
  user,
  inAccount,
} from '../support/api';

const call = (teamId: string, key: string, extra: Record<string, unknown> = {}) =>
  post(
    '/api/jobs/create-and-call',
    { team_id: teamId, job_type: 'x', model: 'mock', messages: user('x'), ...extra },
    key,
  );

async function rowCounts() {
  const q = (t: string) =>
    env.DB.prepare(`SELECT count(*) AS n FROM ${t}`)
      .first<{ n: number }>()
      .then((r) => r!.n);
  return { jobs: await q('jobs'), ledger: await q('credit_ledger'), holds: await q('credit_holds') };
}

describe('rate limits', () => {
  it('a team over its requests per minute gets 429 with Retry-After, and nothing is written', async () => {
    const { teamId, key } = await setupTeam(100);
    await setTeam(teamId, { rpm_limit: 3 });
    for (let i = 0; i < 3; i++) expect((await call(teamId, key)).status).toBe(200);
    const before = await rowCounts();
    const res = await call(teamId, key);
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await res.json()) as any).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(await rowCounts()).toEqual(before);
  });

  it("a key's own limit applies to that key only", async () => {
    const { teamId, key, keyId } = await setupTeam(100);
    await inAccount(teamId, 'UPDATE api_keys SET rpm_limit = 1 WHERE id = ?', keyId);
    expect((await call(teamId, key)).status).toBe(200);
    const limited = await call(teamId, key);
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as any).error.message).toContain('for this key');
  });

  it('tokens per minute: once a window has used its tokens, the next call waits', async () => {
    const { teamId, key } = await setupTeam(100);
    await setTeam(teamId, { tpm_limit: 10 });
    // The first call is admitted (0 tokens used so far) and uses more than 10.
    expect((await call(teamId, key)).status).toBe(200);
    const res = await call(teamId, key);
    expect(res.status).toBe(429);
    expect(((await res.json()) as any).error.message).toContain('tokens per minute');
  });
});

describe('concurrency cap', () => {
  it('a team capped at 2 concurrent calls gets 429 on the third, and a slot frees when a stream ends', async () => {
    const { teamId, key } = await setupTeam(100);
    await setTeam(teamId, { max_concurrent_streams: 2 });
    const slow = await fakeModel('slow');
    const open = async () =>
      post(
        '/api/jobs/create-and-call-stream',
        { team_id: teamId, job_type: 'x', model: slow, messages: user('x') },
        key,
      );
    const a = await open();
    const b = await open();
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await call(teamId, key);
    expect(third.status).toBe(429);
    expect(((await third.json()) as any).error.code).toBe('too_many_concurrent_streams');
    expect(third.headers.get('retry-after')).toBe('1');
    await a.body!.cancel();
    await eventually(async () => ((await callRows(a.headers.get('x-job-id')!)).length ? true : null));
    expect((await call(teamId, key)).status).toBe(200);
    await b.body!.cancel();
  });
});

describe('model allow-lists', () => {
  it('a key or team limited to some aliases gets 403 model_not_allowed for others', async () => {
    const { teamId, key, keyId } = await setupTeam(10);
    await setTeam(teamId, { allowed_models: JSON.stringify(['mock', 'gpt-4o-mini']) });
    const denied = await call(teamId, key, { model: 'gpt-4o' });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as any).error.code).toBe('model_not_allowed');
    await inAccount(
      teamId,
      'UPDATE api_keys SET allowed_models = ? WHERE id = ?',
      JSON.stringify(['gpt-4o-mini']),
      keyId,
    );
    expect((await call(teamId, key, { model: 'mock' })).status).toBe(403);
    expect(await books(teamId)).toEqual({ balance: 10, held: 0, ledgerSum: 10, activeHolds: 0 });
  });

  it('unknown models are 404 model_not_found naming only the alias asked for', async () => {
    const { teamId, key } = await setupTeam(10);
    const res = await call(teamId, key, { model: 'gpt-7' });
    expect(res.status).toBe(404);
    const { error } = (await res.json()) as any;
    expect(error.code).toBe('model_not_found');
    expect(error.message).toBe("No model 'gpt-7'");
  });
});

describe('50 concurrent streams on a team with 10 credits', () => {
  it('exactly 10 run, 40 get 402, the balance ends at 0 and never below', async () => {
    const { teamId, key } = await setupTeam(10);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        post('/api/jobs/create-and-call-stream', { team_id: teamId, job_type: 'race', messages: user('go') }, key),
      ),
    );
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(10);
    expect(responses.filter((r) => r.status === 402)).toHaveLength(40);
    for (const r of responses) if (r.status !== 200) await r.body?.cancel();
    const streams = await Promise.all(ok.map((r) => readSSE(r)));
    expect(streams.every((s) => s.data.at(-1) === '[DONE]')).toBe(true);
    const final = await eventually(async () => {
      const b = await books(teamId);
      return b.held === 0 ? b : null;
    });
    expect(final).toEqual({ balance: 0, held: 0, ledgerSum: 0, activeHolds: 0 });
  });
});
