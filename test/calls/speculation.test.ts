import { describe, expect, it } from 'vitest';
import { books, eventually, fakeModel, post, setupTeam, upstreamRequests, upstreamStreams, user } from '../support/api';

const stream = (teamId: string, key: string, model: string, content: string) =>
  post('/api/jobs/create-and-call-stream', { team_id: teamId, job_type: 'x', model, messages: user(content) }, key);

describe('opening the upstream while admission runs', () => {
  it('a warm key and model reuse the early request: one upstream request per call', async () => {
    const { teamId, key } = await setupTeam(5);
    const model = await fakeModel('answer');
    await (await stream(teamId, key, model, 'warm-up')).text();
    const marker = crypto.randomUUID();
    const res = await stream(teamId, key, model, marker);
    expect(res.status).toBe(200);
    await res.text();
    expect(await upstreamRequests(marker)).toHaveLength(1);
  });

  it('when admission refuses a warm key, the early upstream request is aborted before any chunk', async () => {
    const { teamId, key } = await setupTeam(1);
    const model = await fakeModel('slow');
    // The first call holds the only credit while it streams; the next is refused meanwhile.
    const first = await stream(teamId, key, model, 'warm-up');
    expect(first.status).toBe(200);
    const marker = crypto.randomUUID();
    const refused = await stream(teamId, key, model, marker);
    expect(refused.status).toBe(402);
    // Either the early request was aborted before it left, or the upstream saw it closed with
    // nothing written (its first chunk is due 100 ms in).
    await new Promise((r) => setTimeout(r, 300));
    for (const seen of await upstreamStreams(marker)) {
      expect(seen.written).toBe(0);
      expect(seen.closedEarly).toBe(true);
    }
    await first.body!.cancel();
    await eventually(async () => ((await books(teamId)).held === 0 ? true : null));
  });

  it('a key this isolate has not admitted never reaches the upstream', async () => {
    const { teamId, key } = await setupTeam(0);
    const model = await fakeModel('answer');
    const marker = crypto.randomUUID();
    expect((await stream(teamId, key, model, marker)).status).toBe(402);
    expect((await stream(teamId, 'sk-sluice-unknown', model, marker)).status).toBe(401);
    expect(await upstreamRequests(marker)).toHaveLength(0);
  });
});
