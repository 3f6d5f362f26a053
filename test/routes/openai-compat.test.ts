import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { books, callRows, eventually, fakeModel, setupTeam, inAccount } from '../support/api';

/** The official SDK, pointed at the worker under test. */
const client = (apiKey: string) =>
  new OpenAI({
    baseURL: 'http://sluice.test/v1',
    apiKey,
    maxRetries: 0,
    fetch: (url, init) => exports.default.fetch(new Request(url as string, init as RequestInit)),
  });

async function jobOf(teamId: string) {
  return eventually(() =>
    env.DB.prepare("SELECT * FROM jobs WHERE team_id = ? AND status IN ('completed', 'failed')")
      .bind(teamId)
      .first<{ id: string; status: string; credits_charged: number; job_type: string }>(),
  );
}

describe('/v1 with the official OpenAI SDK', () => {
  it('streams text; no usage chunk unless include_usage is asked for; one job charged', async () => {
    const { teamId, key } = await setupTeam(5);
    const stream = await client(key).chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: 'Hello SDK' }],
      stream: true,
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toContain('You said: "Hello SDK"');
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices.length === 1)).toBe(true);

    const job = await jobOf(teamId);
    expect(job).toMatchObject({ status: 'completed', credits_charged: 1, job_type: 'chat.completion' });
    expect(await books(teamId)).toEqual({ balance: 4, held: 0, ledgerSum: 4, activeHolds: 0 });
    const [call] = await eventually(async () => {
      const rows = await callRows(job.id);
      return rows.length ? rows : null;
    });
    expect(call!.prompt_tokens).toBeGreaterThan(0);
  });

  it('stream_options.include_usage adds the final usage chunk', async () => {
    const { key } = await setupTeam(5);
    const stream = await client(key).chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: 'count me' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
  });

  it('streams tool calls whose argument fragments add up to valid JSON', async () => {
    const { key } = await setupTeam(5);
    const model = await fakeModel('tools');
    const stream = await client(key).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
      stream: true,
    });
    let args = '';
    let name = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const tc = chunk.choices[0]?.delta.tool_calls?.[0];
      if (tc?.function?.name) name = tc.function.name;
      args += tc?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'c' });
    expect(finish).toBe('tool_calls');
  });

  it('non-streaming: a chat.completion with usage, and tool calls', async () => {
    const { key } = await setupTeam(5);
    const completion: ChatCompletion = await client(key).chat.completions.create({
      model: await fakeModel('answer'),
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'answer',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Héllo wörld 🚀' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
    });

    const withTools = await client(key).chat.completions.create({
      model: await fakeModel('tools'),
      messages: [{ role: 'user', content: 'weather' }],
    });
    const call = withTools.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', unit: 'c' });
    expect(withTools.choices[0]!.message.content).toBeNull();
    expect(withTools.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('lists models', async () => {
    const { key } = await setupTeam(1);
    const ids: string[] = [];
    for await (const m of client(key).models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['mock', 'gpt-4o-mini', 'gpt-4o']));
  });

  it('lists only the models the key may call: its team’s list, then its own', async () => {
    const { teamId, keyId, key } = await setupTeam(1, { allowed_models: ['mock', 'gpt-4o-mini', 'gpt-4o'] });
    const list = async () => {
      const ids: string[] = [];
      for await (const m of client(key).models.list()) ids.push(m.id);
      return ids;
    };
    expect(await list()).toEqual(['gpt-4o', 'gpt-4o-mini', 'mock']);
    await inAccount(
      teamId,
      'UPDATE api_keys SET allowed_models = ? WHERE id = ?',
      JSON.stringify(['mock', 'claude-sonnet-4']),
      keyId,
    );
    expect(await list()).toEqual(['mock']);
    await env.DB.prepare("UPDATE models SET enabled = 0 WHERE alias = 'mock'").run();
    try {
      expect(await list()).toEqual([]);
    } finally {
      await env.DB.prepare("UPDATE models SET enabled = 1 WHERE alias = 'mock'").run();
    }
  });

  it('raises the SDK error class that matches each failure', async () => {
    const { teamId, key } = await setupTeam(1);
    const messages = [{ role: 'user' as const, content: 'x' }];
    await expect(client('sk-sluice-wrong').chat.completions.create({ model: 'mock', messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    await expect(client(key).chat.completions.create({ model: 'no-such-model', messages })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await expect(
      client(key).chat.completions.create({ model: await fakeModel('status-429'), messages }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);

    // The one credit is now spent... on nothing: the failed calls release their holds (their
    // books are written after the error response, under waitUntil).
    await eventually(async () => ((await books(teamId)).held === 0 ? true : null));
    expect(await books(teamId)).toEqual({ balance: 1, held: 0, ledgerSum: 1, activeHolds: 0 });
    await client(key).chat.completions.create({ model: 'mock', messages });
    const broke = client(key).chat.completions.create({ model: 'mock', messages });
    await expect(broke).rejects.toBeInstanceOf(OpenAI.APIError);
    await expect(broke).rejects.toMatchObject({ status: 402, code: 'insufficient_credits' });

    await inAccount(teamId, "UPDATE teams SET status = 'suspended' WHERE id = ?", teamId);
    await expect(client(key).chat.completions.create({ model: 'mock', messages })).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    await expect(client(key).chat.completions.create({ model: 'mock', messages, n: 2 })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });

  it('a failure mid-stream arrives as an error event that the SDK raises', async () => {
    const { key } = await setupTeam(2);
    const stream = await client(key).chat.completions.create({
      model: await fakeModel('error-event'),
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const seen: string[] = [];
    const run = async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    };
    await expect(run()).rejects.toThrow('Model overloaded');
    expect(seen).toEqual(['Héllo']);
  });
});
