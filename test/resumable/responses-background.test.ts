/**
 * OpenAI's background mode with the official SDK: a background response runs on without its
 * client, is retrieved by id (as it stands, or as a stream resumed with `starting_after`), and
 * is cancelled by id; billed once however it is read.
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import {
  books,
  callRows,
  eventually,
  setTeam,
  setupTeam,
  upstreamModel,
  uniqueId,
  upstreamStreams,
} from '../support/api';

const sluiceFetch = (url: RequestInfo | URL, init?: RequestInit) =>
  exports.default.fetch(new Request(url as string, init as RequestInit));

const openai = (apiKey: string) =>
  new OpenAI({ baseURL: 'http://sluice.test/v1', apiKey, maxRetries: 0, fetch: sluiceFetch });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Responses background mode', () => {
  it('a background response runs without its client and is retrieved whole by id', async () => {
    const { key, teamId } = await setupTeam(100);
    const model = await upstreamModel('openai', 'answer');
    const client = openai(key);
    const started = await client.responses.create({ model, input: 'hi', background: true });
    expect(started).toMatchObject({ object: 'response', background: true, status: 'in_progress' });

    let done = started;
    for (let i = 0; i < 100 && done.status === 'in_progress'; i++) {
      await sleep(20);
      done = await client.responses.retrieve(started.id);
    }
    expect(done.status).toBe('completed');
    expect(done.id).toBe(started.id);
    expect(done.output_text).toBe('Héllo wörld 🚀');
    expect(done.usage).toMatchObject({ input_tokens: 11, output_tokens: 3 });
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
  });

  it('a background stream dropped mid-answer resumes with starting_after: every event once, in order', async () => {
    const { key } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const client = openai(key);
    const stream = await client.responses.create({
      model,
      input: [{ role: 'user', content: uniqueId('bg') }],
      background: true,
      stream: true,
    });
    const first: ResponseStreamEvent[] = [];
    for await (const event of stream) {
      first.push(event);
      if (first.length >= 6) break; // the client goes away; the response goes on
    }
    const id = (first[0] as { response: { id: string } }).response.id;
    const last = first.at(-1)!.sequence_number;
    const rest: ResponseStreamEvent[] = [];
    for await (const event of await client.responses.retrieve(id, { stream: true, starting_after: last }))
      rest.push(event);

    const all = [...first, ...rest];
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
    expect(all.at(-1)!.type).toBe('response.completed');
    const text = all
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => (e as { delta: string }).delta)
      .join('');
    expect(text).toContain(' t0 t1');
    expect(text).toContain(' t29');
    const whole = await client.responses.retrieve(id);
    expect(whole.status).toBe('completed');
    expect(whole.output_text).toBe(text);
  });

  it('cancel stops a background response: the upstream closes, the response says cancelled, what ran is charged', async () => {
    const { key, teamId } = await setupTeam(100);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 1 });
    const model = await upstreamModel('openai', 'slow');
    const marker = uniqueId('bg-cancel');
    const client = openai(key);
    const started = await client.responses.create({ model, input: marker, background: true });
    await sleep(250);
    const cancelled = await client.responses.cancel(started.id);
    expect(cancelled.status).toBe('cancelled');
    // What ran before the cancel is the response's output, as far as it got.
    const [message] = cancelled.output as { type: string; status: string; content: { text: string }[] }[];
    expect(message).toMatchObject({ type: 'message', status: 'incomplete' });
    expect(message!.content[0]!.text).toContain(' t0');
    const stats = await eventually(async () => (await upstreamStreams(marker)).find((s) => s.closedAt) ?? null);
    expect(stats.closedEarly).toBe(true);
    expect((await client.responses.retrieve(started.id)).status).toBe('cancelled');
    const [row] = await callRows((await rowsJob(started.id))!);
    expect(row).toMatchObject({ status: 'client_aborted' });
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.balance).toBeLessThan(100);
    expect(b.held).toBe(0);
  });

  it('only background responses are kept: another id is 404, another team 403', async () => {
    const { key } = await setupTeam(100);
    const other = await setupTeam(100);
    const client = openai(key);
    const plain = await client.responses.create({ model: 'mock', input: 'hi' });
    await expect(client.responses.retrieve(plain.id)).rejects.toMatchObject({ status: 404 });
    await expect(client.responses.retrieve('resp_nope')).rejects.toMatchObject({ status: 404 });
    const bg = await client.responses.create({ model: 'mock', input: 'hi', background: true });
    await expect(openai(other.key).responses.retrieve(bg.id)).rejects.toMatchObject({ status: 403 });
    await expect(openai(other.key).responses.cancel(bg.id)).rejects.toMatchObject({ status: 403 });
  });
});

/** The job of the call behind a response id. */
async function rowsJob(responseId: string) {
  const row = await env.DB.prepare('SELECT job_id FROM llm_calls WHERE id = ?')
    .bind(responseId.replace(/^resp_/, 'call_'))
    .first<{ job_id: string }>();
  return row?.job_id;
}
