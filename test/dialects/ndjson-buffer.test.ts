/**
 * Seed 004's token buffering on NDJSON streams: the flush rules one by one (on a clock the test
 * moves), and over HTTP, where the same text arrives in fewer `token` lines.
 */
import { describe, expect, it } from 'vitest';
import { BUFFER_DEFAULTS, tokenBuffer } from '../../src/dialects/ndjson/coalesce';
import { api, setupTeam, upstreamModel, user } from '../support/api';

const clock = () => {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

describe('token buffering rules', () => {
  it('flushes at max_chunk_size', () => {
    const c = clock();
    const b = tokenBuffer({ ...BUFFER_DEFAULTS, max_chunk_size: 5, flush_interval_ms: 1000 }, c.now);
    expect(b.push('ab')).toBeNull();
    expect(b.push('cd')).toBeNull();
    expect(b.push('ef')).toBe('abcdef');
    expect(b.push('g')).toBeNull();
    expect(b.drain()).toBe('g');
    expect(b.drain()).toBeNull();
  });

  it('flushes at the end of a word or a sentence when asked', () => {
    const c = clock();
    const words = tokenBuffer({ ...BUFFER_DEFAULTS, buffer_by_word: true, flush_interval_ms: 1000 }, c.now);
    expect(words.push('Hel')).toBeNull();
    expect(words.push('lo ')).toBe('Hello ');
    const sentences = tokenBuffer({ ...BUFFER_DEFAULTS, buffer_by_sentence: true, flush_interval_ms: 1000 }, c.now);
    expect(sentences.push('One two ')).toBeNull();
    expect(sentences.push('three.')).toBe('One two three.');
    expect(sentences.push(' Four?')).toBe(' Four?');
  });

  it('flushes once flush_interval_ms has passed, if min_chunk_size is held', () => {
    const c = clock();
    const b = tokenBuffer({ ...BUFFER_DEFAULTS, min_chunk_size: 3, flush_interval_ms: 50 }, c.now);
    expect(b.push('a')).toBeNull();
    c.advance(60);
    expect(b.push('b')).toBeNull(); // due by time, but only 2 characters held
    expect(b.push('c')).toBe('abc');
    expect(b.push('d')).toBeNull(); // the interval starts again at the flush
  });
});

describe('buffer_config on the job API', () => {
  const call = (key: string, teamId: string, model: string, extra: object, accept = 'application/x-ndjson') =>
    api('POST', '/api/jobs/create-and-call-stream', {
      key,
      headers: { accept },
      body: { team_id: teamId, job_type: 'buffered', model, messages: user('b'), ...extra },
    });
  const tokens = async (res: Response) =>
    (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; data: string })
      .filter((e) => e.type === 'token')
      .map((e) => e.data);

  it('coalesces the same text into fewer token lines', async () => {
    const { key, teamId } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const [plain, buffered] = await Promise.all([
      call(key, teamId, model, {}).then(tokens),
      call(key, teamId, model, { buffer_config: { max_chunk_size: 10, flush_interval_ms: 60_000 } }).then(tokens),
    ]);
    expect(buffered.join('')).toBe(plain.join(''));
    expect(plain).toHaveLength(30);
    expect(buffered.length).toBeLessThanOrEqual(11);
  });

  it('is refused on an SSE stream, with the reason', async () => {
    const { key, teamId } = await setupTeam(100);
    const res = await call(key, teamId, 'mock', { buffer_config: { max_chunk_size: 10 } }, 'text/event-stream');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'buffer_config', type: 'invalid_request_error' } });
  });
});
