/**
 * `/v1/responses` with the clients that use it: the openai SDK's `responses` (raw events, the
 * `responses.stream` helper, non-streaming) and the Vercel AI SDK's default OpenAI model, against
 * each kind of upstream (OpenAI chunks, Anthropic events, Gemini events, all re-encoded).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expect, it } from 'vitest';
import {
  type Upstream,
  books,
  callRows,
  eventually,
  fakeModel,
  post,
  setupTeam,
  uniqueId,
  upstreamModel,
  upstreamRequests,
} from '../support/api';

const sluiceFetch = (url: RequestInfo | URL, init?: RequestInit) =>
  exports.default.fetch(new Request(url as string, init as RequestInit));

const openai = (apiKey: string) =>
  new OpenAI({ baseURL: 'http://sluice.test/v1', apiKey, maxRetries: 0, fetch: sluiceFetch });

const aiSdk = (apiKey: string) =>
  createOpenAI({ baseURL: 'http://sluice.test/v1', apiKey, fetch: sluiceFetch as typeof fetch });

const TEXT: Record<Upstream, { scenario: string; text: string; input: number; output: number; cached: number }> = {
  openai: { scenario: 'answer', text: 'Héllo wörld 🚀', input: 11, output: 3, cached: 0 },
  anthropic: { scenario: 'text', text: 'Héllo wörld 🚀', input: 25, output: 12, cached: 0 },
  gemini: { scenario: 'text', text: 'Héllo wörld 🚀', input: 9, output: 4, cached: 0 },
};
const TOOL: Record<Upstream, { scenario: string; text: string; args: object }> = {
  openai: { scenario: 'tools', text: '', args: { city: 'Paris', unit: 'c' } },
  anthropic: { scenario: 'tool', text: 'Let me check.', args: { city: 'Paris', unit: '°C' } },
  gemini: { scenario: 'tool', text: 'Checking.', args: { city: 'Paris', unit: '°C' } },
};
const ERROR: Record<Upstream, string> = { openai: 'error-event', anthropic: 'error', gemini: 'error' };

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

const settledJob = (teamId: string) =>
  eventually(async () => {
    const job = await env.DB.prepare(
      "SELECT * FROM jobs WHERE team_id = ? AND status NOT IN ('pending', 'in_progress')",
    )
      .bind(teamId)
      .first<{ id: string; status: string; job_type: string }>();
    const held = (await books(teamId)).held;
    return job && held === 0 ? job : null;
  });

describe.each(['openai', 'anthropic', 'gemini'] as const)('the openai SDK’s responses, %s upstream', (upstream) => {
  it('responses.stream: numbered events in OpenAI’s order; finalResponse() has the text and usage', async () => {
    const { teamId, key } = await setupTeam(5);
    const alias = await upstreamModel(upstream, TEXT[upstream].scenario);
    const stream = openai(key).responses.stream({ model: alias, input: `hello ${uniqueId('r')}` });
    const events: ResponseStreamEvent[] = [];
    stream.on('event', (e) => events.push(e));
    const response = await stream.finalResponse();

    expect(response).toMatchObject({ object: 'response', status: 'completed', model: alias });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(TEXT[upstream].text);
    expect(response.usage).toMatchObject({
      input_tokens: TEXT[upstream].input,
      output_tokens: TEXT[upstream].output,
      total_tokens: TEXT[upstream].input + TEXT[upstream].output,
      input_tokens_details: { cached_tokens: TEXT[upstream].cached },
      output_tokens_details: { reasoning_tokens: 0 },
    });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const types = events.map((e) => e.type).filter((t) => t !== 'response.output_text.delta');
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.map((d) => d.delta).join('')).toBe(TEXT[upstream].text);

    const job = await settledJob(teamId);
    expect(job).toMatchObject({ status: 'completed', job_type: 'response' });
    const [call] = await callRows(job.id);
    expect(call).toMatchObject({ status: 'success', content: TEXT[upstream].text });
    expect(await books(teamId)).toEqual({ balance: 4, held: 0, ledgerSum: 4, activeHolds: 0 });
  });

  it('responses.create without stream: the response object, output_text included', async () => {
    const { key } = await setupTeam(5);
    const response = await openai(key).responses.create({
      model: await upstreamModel(upstream, TEXT[upstream].scenario),
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello' }] }],
    });
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: TEXT[upstream].text, annotations: [] }],
        },
      ],
      usage: { input_tokens: TEXT[upstream].input, output_tokens: TEXT[upstream].output },
    });
    expect(response.output_text).toBe(TEXT[upstream].text);
  });

  it('function calling: the call streams as a function_call item; its output goes back upstream', async () => {
    const { key } = await setupTeam(5);
    const alias = await upstreamModel(upstream, TOOL[upstream].scenario);
    const first = await openai(key)
      .responses.stream({ model: alias, input: 'Weather in Paris?', tools: [weatherTool] })
      .finalResponse();
    expect(first.status).toBe('completed');
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    expect(JSON.parse(call!.type === 'function_call' ? call!.arguments : '')).toEqual(TOOL[upstream].args);
    expect(first.output_text).toBe(TOOL[upstream].text);

    const marker = uniqueId('result');
    const callId = call!.type === 'function_call' ? call!.call_id : '';
    await openai(key).responses.create({
      model: alias,
      tools: [weatherTool],
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        ...first.output.filter((o) => o.type === 'function_call'),
        { type: 'function_call_output', call_id: callId, output: `21 degrees ${marker}` },
      ],
    });
    const [sent] = await upstreamRequests(marker);
    const wire = JSON.stringify(sent!.body);
    expect(wire).toContain(`21 degrees ${marker}`);
    expect(wire).toContain(upstream === 'gemini' ? '"functionResponse":{"name":"get_weather"' : callId);
  });

  it('an upstream error after the 200 is response.failed; nothing is charged', async () => {
    const { teamId, key } = await setupTeam(5);
    const stream = await openai(key).responses.create({
      model: await upstreamModel(upstream, ERROR[upstream]),
      input: 'hello',
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const last = events.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect(last.type === 'response.failed' && last.response.error).toMatchObject({
      code: 'server_error',
      message: expect.any(String),
    });
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect((await settledJob(teamId)).status).toBe('failed');
    expect(await books(teamId)).toMatchObject({ balance: 5, held: 0 });
  });
});

describe.each(['openai', 'anthropic', 'gemini'] as const)(
  'the AI SDK’s default OpenAI model, %s upstream',
  (upstream) => {
    it('streamText: the text, the finish reason and the usage', async () => {
      const { key } = await setupTeam(5);
      const result = streamText({
        model: aiSdk(key)(await upstreamModel(upstream, TEXT[upstream].scenario)),
        prompt: 'hello',
      });
      expect(await result.text).toBe(TEXT[upstream].text);
      expect(await result.finishReason).toBe('stop');
      const usage = await result.usage;
      expect(usage.inputTokens).toBe(TEXT[upstream].input);
      expect(usage.outputTokens).toBe(TEXT[upstream].output);
    });

    it('a tool loop: the tool runs, and the next step refers to the answer Sluice streamed', async () => {
      const { key } = await setupTeam(10);
      const marker = uniqueId('sunny');
      const result = streamText({
        model: aiSdk(key)(await upstreamModel(upstream, TOOL[upstream].scenario)),
        prompt: 'Weather in Paris?',
        tools: {
          get_weather: tool({
            description: 'Weather for a city',
            inputSchema: jsonSchema<{ city: string }>({
              type: 'object',
              properties: { city: { type: 'string' } },
              required: ['city'],
            }),
            execute: async ({ city }) => `${marker} in ${city}`,
          }),
          get_time: tool({
            description: 'The time',
            inputSchema: jsonSchema<Record<string, never>>({ type: 'object', properties: {} }),
            execute: async () => 'noon',
          }),
        },
        stopWhen: stepCountIs(2),
      });
      await result.consumeStream();
      const steps = await result.steps;
      expect(steps).toHaveLength(2);
      expect(steps[0]!.finishReason).toBe('tool-calls');
      expect(steps[0]!.toolResults[0]).toMatchObject({ toolName: 'get_weather', output: `${marker} in Paris` });

      // Step 2 went upstream with the tool's result and, where step 1 said something, that text:
      // the AI SDK sent it as an item_reference, resolved from the call's row.
      const [sent] = await upstreamRequests(marker);
      const wire = JSON.stringify(sent!.body);
      expect(wire).toContain(`${marker} in Paris`);
      if (TOOL[upstream].text) expect(wire).toContain(TOOL[upstream].text);
    });

    it('generateText: the whole answer', async () => {
      const { key } = await setupTeam(5);
      const result = await generateText({
        model: aiSdk(key)(await upstreamModel(upstream, TEXT[upstream].scenario)),
        prompt: 'hello',
      });
      expect(result.text).toBe(TEXT[upstream].text);
      expect(result.finishReason).toBe('stop');
    });
  },
);

describe('/v1/responses, whatever the upstream', () => {
  it('instructions, max_output_tokens, sampling and a JSON schema reach the upstream as chat parameters', async () => {
    const { key } = await setupTeam(5);
    const marker = uniqueId('json');
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    await openai(key).responses.create({
      model: await fakeModel('answer'),
      instructions: 'Answer in JSON.',
      input: marker,
      max_output_tokens: 77,
      temperature: 0.5,
      top_p: 0.9,
      text: { format: { type: 'json_schema', name: 'reply', schema, strict: true } },
    });
    const [sent] = await upstreamRequests(marker);
    expect(sent!.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Answer in JSON.' },
        { role: 'user', content: marker },
      ],
      max_tokens: 77,
      temperature: 0.5,
      top_p: 0.9,
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } },
    });
  });

  it('an answer cut by the output limit is response.incomplete, max_output_tokens', async () => {
    const { key } = await setupTeam(5);
    const model = await upstreamModel('gemini', 'max-tokens');
    const response = await openai(key).responses.stream({ model, input: 'a story' }).finalResponse();
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(response.output_text).toBe('Once upon');
    const whole = await openai(key).responses.create({ model, input: 'a story' });
    expect(whole).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
  });

  it('stateful requests get a 400 saying the endpoint is stateless; nothing is admitted', async () => {
    const { teamId, key } = await setupTeam(5);
    for (const [extra, param] of [
      [{ previous_response_id: 'resp_123' }, 'previous_response_id'],
      [{ store: true }, 'store'],
      [{ conversation: 'conv_1' }, 'conversation'],
    ] as const) {
      const res = await post('/v1/responses', { model: 'mock', input: 'hi', ...extra }, key);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('stateless'),
          type: 'invalid_request_error',
          code: expect.any(String),
          param,
        },
      });
    }
    expect(await books(teamId)).toMatchObject({ balance: 5, held: 0 });
    const jobs = await env.DB.prepare('SELECT count(*) AS n FROM jobs WHERE team_id = ?')
      .bind(teamId)
      .first<{ n: number }>();
    expect(jobs!.n).toBe(0);
  });

  it('images, hosted tools and unknown items are refused naming the field; the SDK raises BadRequestError', async () => {
    const { key } = await setupTeam(5);
    const image = await openai(key)
      .responses.create({
        model: 'mock',
        input: [
          { role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] },
        ],
      })
      .catch((e: unknown) => e);
    expect(image).toBeInstanceOf(OpenAI.BadRequestError);
    expect((image as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input.0.content.0.type');
    const hosted = await post('/v1/responses', { model: 'mock', input: 'hi', tools: [{ type: 'web_search' }] }, key);
    expect(hosted.status).toBe(400);
    expect(((await hosted.json()) as { error: { param: string } }).error.param).toBe('tools.0.type');
  });

  it('an item_reference resolves to the answer of one of the team’s own calls, never another team’s', async () => {
    const mine = await setupTeam(5);
    const first = await openai(mine.key).responses.create({ model: 'mock', input: 'remember me' });
    const itemId = first.output[0]!.type === 'message' ? first.output[0]!.id : '';
    expect(itemId).toMatch(/^msg_/);
    const marker = uniqueId('next');
    const model = await fakeModel('answer');
    const ref = (key: string) =>
      post(
        '/v1/responses',
        {
          model,
          input: [
            { role: 'user', content: 'remember me' },
            { type: 'item_reference', id: itemId },
            { role: 'user', content: marker },
          ],
        },
        key,
      );
    const ok = await ref(mine.key);
    expect(ok.status).toBe(200);
    const [sent] = await upstreamRequests(marker);
    expect(sent!.body.messages).toEqual([
      { role: 'user', content: 'remember me' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: marker },
    ]);

    const other = await setupTeam(5);
    const refused = await ref(other.key);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: 'input.1', message: expect.stringContaining(itemId) },
    });
  });
});
