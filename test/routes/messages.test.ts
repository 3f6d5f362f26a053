/**
 * `/v1/messages` with the official Anthropic SDK, against each kind of upstream: an
 * OpenAI-compatible one (its chunks re-encoded as Messages events), an Anthropic one (its events
 * relayed as they are, the request sent as the client wrote it) and a Gemini one (re-encoded).
 */
import Anthropic from '@anthropic-ai/sdk';
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  type Upstream,
  books,
  callRows,
  eventually,
  setTeam,
  setupTeam,
  uniqueId,
  upstreamModel,
  upstreamRequests,
} from '../support/api';
import { COUNTED } from '../support/fake-providers';

const client = (apiKey: string, opts: { headers?: Record<string, string> } = {}) =>
  new Anthropic({
    baseURL: 'http://sluice.test',
    apiKey,
    maxRetries: 0,
    defaultHeaders: opts.headers,
    fetch: (url, init) => exports.default.fetch(new Request(url as string, init as RequestInit)),
  });

/** Each upstream's text scenario, and what it answers. */
const TEXT: Record<Upstream, { scenario: string; text: string; input: number; output: number }> = {
  openai: { scenario: 'answer', text: 'Héllo wörld 🚀', input: 11, output: 3 },
  anthropic: { scenario: 'text', text: 'Héllo wörld 🚀', input: 25, output: 12 },
  gemini: { scenario: 'text', text: 'Héllo wörld 🚀', input: 9, output: 4 },
};
/** Each upstream's tool scenario: the tool call it makes. */
const TOOL: Record<Upstream, { scenario: string; name: string; input: object }> = {
  openai: { scenario: 'tools', name: 'get_weather', input: { city: 'Paris', unit: 'c' } },
  anthropic: { scenario: 'tool', name: 'get_weather', input: { city: 'Paris', unit: '°C' } },
  gemini: { scenario: 'tool', name: 'get_weather', input: { city: 'Paris' } },
};
const ERROR: Record<Upstream, string> = { openai: 'error-event', anthropic: 'error', gemini: 'error' };

const weather = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

const settledJob = (teamId: string) =>
  eventually(async () => {
    const job = await env.DB.prepare("SELECT * FROM jobs WHERE team_id = ? AND status != 'in_progress'")
      .bind(teamId)
      .first<{ id: string; status: string; job_type: string }>();
    const held = (await books(teamId)).held;
    return job && held === 0 ? job : null;
  });

describe.each(['openai', 'anthropic', 'gemini'] as const)('the Anthropic SDK, %s upstream', (upstream) => {
  it('messages.stream: finalMessage() has the text, the stop reason and the usage; one job charged', async () => {
    const { teamId, key } = await setupTeam(5);
    const alias = await upstreamModel(upstream, TEXT[upstream].scenario);
    const texts: string[] = [];
    const stream = client(key).messages.stream({
      model: alias,
      max_tokens: 100,
      messages: [{ role: 'user', content: `hello ${uniqueId('m')}` }],
    });
    stream.on('text', (t) => texts.push(t));
    const message = await stream.finalMessage();
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: TEXT[upstream].text }],
      stop_reason: 'end_turn',
    });
    expect(message.id).toMatch(/^msg_/);
    expect(texts.join('')).toBe(TEXT[upstream].text);
    expect(message.usage.output_tokens).toBe(TEXT[upstream].output);
    expect(
      message.usage.input_tokens +
        (message.usage.cache_read_input_tokens ?? 0) +
        (message.usage.cache_creation_input_tokens ?? 0),
    ).toBe(TEXT[upstream].input);
    // Re-encoded streams name the model the client asked for.
    if (upstream !== 'anthropic') expect(message.model).toBe(alias);

    const job = await settledJob(teamId);
    expect(job).toMatchObject({ status: 'completed', job_type: 'message' });
    const [call] = await callRows(job.id);
    expect(call).toMatchObject({
      status: 'success',
      content: TEXT[upstream].text,
      prompt_tokens: TEXT[upstream].input,
      completion_tokens: TEXT[upstream].output,
    });
    expect(await books(teamId)).toEqual({ balance: 4, held: 0, ledgerSum: 4, activeHolds: 0 });
  });

  it('messages.create without stream: the whole message', async () => {
    const { key } = await setupTeam(5);
    const message = await client(key).messages.create({
      model: await upstreamModel(upstream, TEXT[upstream].scenario),
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(message).toMatchObject({
      type: 'message',
      content: [{ type: 'text', text: TEXT[upstream].text }],
      stop_reason: 'end_turn',
      usage: { output_tokens: TEXT[upstream].output },
    });
  });

  it('a tool-use round trip: the call arrives as a tool_use block, its result goes back upstream', async () => {
    const { key } = await setupTeam(5);
    const alias = await upstreamModel(upstream, TOOL[upstream].scenario);
    const first = await client(key)
      .messages.stream({
        model: alias,
        max_tokens: 200,
        tools: [weather],
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      .finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: TOOL[upstream].name, input: TOOL[upstream].input });
    expect(use!.id).toMatch(/^[\w-]+$/);

    const marker = uniqueId('result');
    await client(key).messages.create({
      model: alias,
      max_tokens: 200,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.id, content: `21 degrees ${marker}` }] },
      ],
    });
    const [sent] = await upstreamRequests(marker);
    const wire = JSON.stringify(sent!.body);
    expect(wire).toContain(`21 degrees ${marker}`);
    // Gemini matches a result to its call by the function's name, the others by the call's id.
    expect(wire).toContain(upstream === 'gemini' ? '"functionResponse":{"name":"get_weather"' : use!.id);
    if (upstream === 'openai')
      expect(sent!.body.messages).toContainEqual({
        role: 'tool',
        tool_call_id: use!.id,
        content: `21 degrees ${marker}`,
      });
  });

  it('an error after the stream started rejects finalMessage() with an APIError; nothing is charged', async () => {
    const { teamId, key } = await setupTeam(5);
    const stream = client(key).messages.stream({
      model: await upstreamModel(upstream, ERROR[upstream]),
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hello' }],
    });
    const failure = await stream.finalMessage().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    const job = await settledJob(teamId);
    expect(job.status).toBe('failed');
    expect(await books(teamId)).toMatchObject({ balance: 5, held: 0 });
  });
});

describe('Anthropic clients, whatever the upstream', () => {
  it('the key as x-api-key works, and an Anthropic upstream gets the version and betas the client sent', async () => {
    const { key } = await setupTeam(5);
    const alias = await upstreamModel('anthropic', 'text');
    const marker = uniqueId('m');
    const res = await exports.default.fetch(
      new Request('http://sluice.test/v1/messages?beta=true', {
        method: 'POST',
        headers: {
          'x-api-key': key,
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'interleaved-thinking-2025-05-14',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          model: alias,
          max_tokens: 64,
          system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
          thinking: { type: 'adaptive' },
          messages: [{ role: 'user', content: marker }],
        }),
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toBeTruthy();
    const [sent] = await upstreamRequests(marker);
    expect(sent!.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent!.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    // The request goes as the client wrote it: only the model and the stream are Sluice's.
    expect(sent!.body).toMatchObject({
      model: 'text',
      stream: true,
      max_tokens: 64,
      thinking: { type: 'adaptive' },
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    });
  });

  it('errors before the stream are in Anthropic’s shape, and the SDK raises its own classes', async () => {
    const { key } = await setupTeam(1);
    const body = { model: 'mock', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    await expect(client('sk-sluice-wrong').messages.create(body)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(client(key).messages.create({ ...body, model: 'no-such-model' })).rejects.toBeInstanceOf(
      Anthropic.NotFoundError,
    );
    await expect(client(key).messages.create({ ...body, messages: [] })).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
    const poor = await setupTeam(20);
    await setTeam(poor.teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 1 });
    const refused = await client(poor.key)
      .messages.create({ ...body, max_tokens: 5000 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.APIError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((refused as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'billing_error', message: expect.stringContaining('can only afford') },
    });
    const raw = await exports.default.fetch(
      new Request('http://sluice.test/v1/messages', {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hi' }] }),
      }),
    );
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
  });

  it('image blocks and server tools are refused with a 400 naming the field', async () => {
    const { key } = await setupTeam(5);
    const image = await client(key)
      .messages.create({
        model: 'mock',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }],
          },
        ],
      })
      .catch((e: unknown) => e);
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((image as Error).message)).toContain('messages.0.content.0.type');
  });

  it('count_tokens: an OpenAI model is counted by Sluice’s tokenizer, without calling the provider', async () => {
    const { key } = await setupTeam(5);
    const marker = uniqueId('count');
    const { data: count, response } = await client(key)
      .messages.countTokens({
        model: 'gpt-4o-mini',
        system: 'You are terse.',
        messages: [{ role: 'user', content: `How many tokens is this? ${marker}` }],
        tools: [weather],
      })
      .withResponse();
    expect(count.input_tokens).toBeGreaterThan(20);
    expect(count.input_tokens).toBeLessThan(200);
    expect(response.headers.get('x-sluice-counted-by')).toBe('sluice');
    expect(await upstreamRequests(marker)).toEqual([]);
  });

  it('count_tokens: Anthropic and Gemini models are counted by the provider’s own count endpoint', async () => {
    const { key } = await setupTeam(5);
    const marker = uniqueId('count');
    const messages = [{ role: 'user' as const, content: `Count me ${marker}` }];
    const anthropic = await client(key, { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } })
      .messages.countTokens({ model: await upstreamModel('anthropic', 'text'), messages, system: 'Be brief.' })
      .withResponse();
    expect(anthropic.data.input_tokens).toBe(COUNTED.anthropic);
    expect(anthropic.response.headers.get('x-sluice-counted-by')).toBe('provider');
    const gemini = await client(key).messages.countTokens({ model: await upstreamModel('gemini', 'text'), messages });
    expect(gemini.input_tokens).toBe(COUNTED.gemini);

    const sent = await upstreamRequests(marker);
    const toAnthropic = sent.find((r) => r.path === '/v1/messages/count_tokens');
    // The client's own count request, with the upstream's model name and the client's betas.
    expect(toAnthropic?.body).toEqual({ model: 'text', messages, system: 'Be brief.' });
    expect(toAnthropic?.headers['anthropic-beta']).toBe('token-counting-2024-11-01');
    const toGemini = sent.find((r) => r.path.endsWith(':countTokens'));
    expect(toGemini?.path).toBe('/v1beta/models/text:countTokens');
    expect(toGemini?.body).toMatchObject({
      generateContentRequest: {
        model: 'models/text',
        contents: [{ role: 'user', parts: [{ text: messages[0]!.content }] }],
      },
    });
  });

  it('count_tokens: a provider that cannot count leaves the count to Sluice’s tokenizer', async () => {
    const { key } = await setupTeam(5);
    const { data, response } = await client(key)
      .messages.countTokens({
        model: await upstreamModel('anthropic', 'status-500'),
        messages: [{ role: 'user', content: 'hello there' }],
      })
      .withResponse();
    expect(response.headers.get('x-sluice-counted-by')).toBe('sluice');
    expect(data.input_tokens).toBeGreaterThan(0);
  });

  it('count_tokens uses the key’s request allowance and its model list', async () => {
    const { teamId, key } = await setupTeam(5);
    const count = (model: string) =>
      client(key).messages.countTokens({ model, messages: [{ role: 'user', content: 'one' }] });
    await setTeam(teamId, { rpm_limit: 3, allowed_models: JSON.stringify(['gpt-4o', 'mock']) });
    await expect(count('no-such-model')).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(count('gpt-4o-mini')).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    await count('mock'); // refused counts are requests too: this is the third of three
    await expect(count('mock')).rejects.toBeInstanceOf(Anthropic.RateLimitError);
  });
});
