import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TOKENS } from '../../src/providers/anthropic';
import { books, callRows, eventually, post, readSSE, setupTeam, uniqueId, upstreamRequests } from '../support/api';

/**
 * Anthropic and Gemini models through the whole worker: the fake upstream answers in each
 * provider's own wire format (test/support/fake-providers.ts, fixtures in ./fixtures), and the
 * client must see OpenAI's format and the books the provider's usage.
 */

type ProviderName = 'anthropic' | 'gemini';

/** A catalog row for `provider` whose upstream model names the fake upstream's scenario. */
async function catalogModel(provider: ProviderName, scenario: string) {
  const alias = uniqueId(`${provider}-${scenario}`);
  await env.DB.prepare(
    `INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok)
     VALUES (?, ?, ?, ?, 1, 2)`,
  )
    .bind(alias, provider, scenario, env.UPSTREAM_URL)
    .run();
  return alias;
}

/** A user message unique to the test, to find the request the upstream received. */
const marker = () => uniqueId('marker');

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

async function streamJob(provider: ProviderName, scenario: string, extra: Record<string, unknown> = {}) {
  const { teamId, key } = await setupTeam(3);
  const model = await catalogModel(provider, scenario);
  const text = marker();
  const res = await post(
    '/api/jobs/create-and-call-stream',
    { team_id: teamId, job_type: 'x', model, messages: [{ role: 'user', content: text }], ...extra },
    key,
  );
  expect(res.status).toBe(200);
  const { data } = await readSSE(res);
  const jobId = res.headers.get('x-job-id')!;
  const [call] = await eventually(async () => {
    const rows = await callRows(jobId);
    return rows.length ? rows : null;
  });
  const [sent] = await upstreamRequests(text);
  return {
    teamId,
    jobId,
    data,
    call: call!,
    sent: sent!,
    events: data.map((d) => (d === '[DONE]' ? d : JSON.parse(d))),
  };
}

const chunk = (id: string, model: string, delta: object, finish_reason: string | null = null) => ({
  id,
  object: 'chat.completion.chunk',
  created: expect.any(Number),
  model,
  choices: [{ index: 0, delta, finish_reason }],
});
/**
 * The usage chunk Sluice writes, priced at the catalog row's 1 and 2 USD per 1M input and output
 * tokens; the team is job_based, so the call itself is charged no credits (the job is).
 */
const usage = (id: string, model: string, prompt: number, completion: number) => ({
  id,
  object: 'chat.completion.chunk',
  created: expect.any(Number),
  model,
  choices: [],
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    cost_usd: (prompt + 2 * completion) / 1e6,
    credits: 0,
  },
});

describe('Anthropic through the worker', () => {
  it('streams text as OpenAI chunks; the call row has the provider usage; the request is a Messages API call', async () => {
    const { events, call, sent, teamId } = await streamJob('anthropic', 'text', { stop: 'END', temperature: 0.5 });
    const id = 'msg_01TextAnswer';
    expect(events).toEqual([
      chunk(id, 'text', { role: 'assistant', content: '' }),
      chunk(id, 'text', { content: 'Héllo' }),
      chunk(id, 'text', { content: ' wörld' }),
      chunk(id, 'text', { content: ' 🚀' }),
      chunk(id, 'text', {}, 'stop'),
      usage(id, 'text', 25, 12),
      '[DONE]',
    ]);
    expect(call).toMatchObject({
      status: 'success',
      provider: 'anthropic',
      upstream_model: 'text',
      content: 'Héllo wörld 🚀',
      finish_reason: 'stop',
      prompt_tokens: 25,
      completion_tokens: 12,
      usage_source: 'provider',
      error: null,
    });
    expect(await books(teamId)).toEqual({ balance: 2, held: 0, ledgerSum: 2, activeHolds: 0 });

    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['content-type']).toBe('application/json');
    // The test worker binds no ANTHROPIC_API_KEY unless .dev.vars or the config does.
    expect(sent.headers['x-api-key']).toBe(env.ANTHROPIC_API_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      model: 'text',
      messages: [{ role: 'user', content: [{ type: 'text', text: expect.stringMatching(/^marker-/) }] }],
      max_tokens: DEFAULT_MAX_TOKENS,
      temperature: 0.5,
      stop_sequences: ['END'],
      stream: true,
    });
  });

  it('streams a tool call: the id and name first, then argument fragments', async () => {
    const { events, call } = await streamJob('anthropic', 'tool', { tools });
    const toolDeltas = events.flatMap((e: any) => e.choices?.[0]?.delta?.tool_calls ?? []);
    expect(toolDeltas[0]).toEqual({
      index: 0,
      id: 'toolu_01Weather',
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(toolDeltas.filter((t: any) => t.index === 0).map((t: any) => t.function.arguments)).toEqual([
      '',
      '{"city": "Pa',
      'ris", "unit',
      '": "°C"}',
    ]);
    expect(events.at(-3)).toEqual(chunk('msg_01ToolAnswer', 'tool', {}, 'tool_calls'));
    expect(call.tool_calls && JSON.parse(call.tool_calls as string)).toEqual([
      {
        id: 'toolu_01Weather',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "°C"}' },
      },
      { id: 'toolu_02Time', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
    expect(call).toMatchObject({ finish_reason: 'tool_calls', prompt_tokens: 150, completion_tokens: 40 });
  });

  it('create-and-call returns the whole answer: tool calls with valid JSON arguments, finish reason, usage', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await catalogModel('anthropic', 'tool');
    const text = marker();
    const res = await post(
      '/api/jobs/create-and-call',
      {
        team_id: teamId,
        job_type: 'x',
        model,
        tools,
        tool_choice: 'required',
        messages: [
          { role: 'system', content: 'Use tools.' },
          { role: 'user', content: text },
        ],
      },
      key,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.status).toBe('completed');
    expect(body.response).toEqual({
      content: 'Let me check.',
      finish_reason: 'tool_calls',
      tool_calls: [
        {
          id: 'toolu_01Weather',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "°C"}' },
        },
        { id: 'toolu_02Time', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    });
    expect(body.response.tool_calls.map((t: any) => JSON.parse(t.function.arguments))).toEqual([
      { city: 'Paris', unit: '°C' },
      {},
    ]);
    expect(body.metadata).toMatchObject({ prompt_tokens: 150, completion_tokens: 40, tokens_used: 190 });

    const [sent] = await upstreamRequests(text);
    expect(sent!.body).toMatchObject({
      system: 'Use tools.',
      tools: [
        {
          name: 'get_weather',
          description: 'Weather for a city',
          input_schema: tools[0]!.function.parameters,
        },
      ],
      tool_choice: { type: 'any' },
    });
  });

  it('an error event mid-stream: the partial answer, the in-band error, no [DONE]; the call failed, nothing charged', async () => {
    const { events, data, call, jobId, teamId } = await streamJob('anthropic', 'error');
    expect(events.at(-1)).toEqual({
      error: { message: 'Overloaded', type: 'upstream_error', code: 'overloaded_error', param: null },
    });
    expect(data).not.toContain('[DONE]');
    expect(events.at(-2)).toEqual(chunk('msg_01Overloaded', 'error', { content: 'Héllo' }));
    // Exactly one error event: the pump adds none of its own on top of the provider's.
    expect(events.filter((e: any) => e.error)).toHaveLength(1);
    expect(call).toMatchObject({ status: 'error', content: 'Héllo', error: 'Overloaded' });
    const job = await env.DB.prepare('SELECT status, credits_charged FROM jobs WHERE id = ?').bind(jobId).first();
    expect(job).toEqual({ status: 'failed', credits_charged: 0 });
    expect(await books(teamId)).toEqual({ balance: 3, held: 0, ledgerSum: 3, activeHolds: 0 });
  });

  it('HTTP errors before the body: 429 stays 429 with Retry-After and the provider message; 500 is 502', async () => {
    const { teamId, key } = await setupTeam(5);
    const limited = await post(
      '/api/jobs/create-and-call-stream',
      {
        team_id: teamId,
        job_type: 'x',
        model: await catalogModel('anthropic', 'status-429'),
        messages: [{ role: 'user', content: 'x' }],
      },
      key,
    );
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(((await limited.json()) as any).error).toMatchObject({
      code: 'upstream_rate_limited',
      message: expect.stringContaining('per-minute rate limit'),
    });
    const failed = await post(
      '/api/jobs/create-and-call',
      {
        team_id: teamId,
        job_type: 'x',
        model: await catalogModel('anthropic', 'status-500'),
        messages: [{ role: 'user', content: 'x' }],
      },
      key,
    );
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as any).error).toMatchObject({
      code: 'upstream_error',
      message: expect.stringContaining('Internal server error'),
    });
  });
});

describe('Gemini through the worker', () => {
  it('streams text as OpenAI chunks; the call row has the provider usage; the request is streamGenerateContent', async () => {
    const { events, call, sent, teamId } = await streamJob('gemini', 'text', { max_tokens: 64, top_p: 0.5 });
    const id = 'resp-gemini-1';
    expect(events).toEqual([
      chunk(id, 'text', { role: 'assistant', content: 'Héllo' }),
      chunk(id, 'text', { content: ' wörld' }),
      chunk(id, 'text', { content: ' 🚀' }, 'stop'),
      usage(id, 'text', 9, 4),
      '[DONE]',
    ]);
    expect(call).toMatchObject({
      status: 'success',
      provider: 'gemini',
      content: 'Héllo wörld 🚀',
      finish_reason: 'stop',
      prompt_tokens: 9,
      completion_tokens: 4,
      usage_source: 'provider',
      error: null,
    });
    expect(await books(teamId)).toEqual({ balance: 2, held: 0, ledgerSum: 2, activeHolds: 0 });

    expect(sent.path).toBe('/v1beta/models/text:streamGenerateContent?alt=sse');
    // The test worker binds no GEMINI_API_KEY unless .dev.vars or the config does.
    expect(sent.headers['x-goog-api-key']).toBe(env.GEMINI_API_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: expect.stringMatching(/^marker-/) }] }],
      generationConfig: { maxOutputTokens: 64, topP: 0.5 },
    });
  });

  it('create-and-call returns function calls as tool calls with JSON arguments; thought tokens are completion tokens', async () => {
    const { teamId, key } = await setupTeam(3);
    const model = await catalogModel('gemini', 'tool');
    const text = marker();
    const res = await post(
      '/api/jobs/create-and-call',
      {
        team_id: teamId,
        job_type: 'x',
        model,
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        messages: [
          { role: 'developer', content: 'Use tools.' },
          { role: 'user', content: text },
        ],
      },
      key,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.response).toEqual({
      content: 'Checking.',
      finish_reason: 'tool_calls',
      tool_calls: [
        {
          id: 'call_0',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"°C"}' },
        },
        { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    });
    expect(JSON.parse(body.response.tool_calls[0].function.arguments)).toEqual({ city: 'Paris', unit: '°C' });
    expect(body.metadata).toMatchObject({ prompt_tokens: 50, completion_tokens: 42, tokens_used: 92 });
    const [call] = await callRows(body.job_id);
    expect(call).toMatchObject({
      status: 'success',
      finish_reason: 'tool_calls',
      prompt_tokens: 50,
      completion_tokens: 42,
    });

    const [sent] = await upstreamRequests(text);
    expect(sent!.body).toMatchObject({
      systemInstruction: { parts: [{ text: 'Use tools.' }] },
      tools: [
        {
          functionDeclarations: [
            { name: 'get_weather', description: 'Weather for a city', parameters: tools[0]!.function.parameters },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    });
  });

  it('streams the whole tool calls with finish_reason tool_calls', async () => {
    const { events } = await streamJob('gemini', 'tool', { tools });
    expect(events.at(-3)).toEqual(
      chunk(
        'resp-gemini-1',
        'tool',
        {
          tool_calls: [
            {
              index: 0,
              id: 'call_0',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"°C"}' },
            },
            { index: 1, id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        'tool_calls',
      ),
    );
    expect(events.at(-2)).toEqual(usage('resp-gemini-1', 'tool', 50, 42));
  });

  it('an error object mid-stream: the partial answer, the in-band error, no [DONE]; the call failed', async () => {
    const { events, data, call, jobId } = await streamJob('gemini', 'error');
    expect(events.at(-1)).toEqual({
      error: {
        message: 'The model is overloaded. Please try again later.',
        type: 'upstream_error',
        code: 'UNAVAILABLE',
        param: null,
      },
    });
    expect(events.filter((e: any) => e.error)).toHaveLength(1);
    expect(data).not.toContain('[DONE]');
    expect(call).toMatchObject({
      status: 'error',
      content: 'Héllo',
      error: 'The model is overloaded. Please try again later.',
    });
    const job = await env.DB.prepare('SELECT status FROM jobs WHERE id = ?').bind(jobId).first();
    expect(job).toEqual({ status: 'failed' });
  });

  it('HTTP errors before the body: 429 stays 429; 500 is 502', async () => {
    const { teamId, key } = await setupTeam(5);
    const call = async (path: string, scenario: string) =>
      post(
        path,
        {
          team_id: teamId,
          job_type: 'x',
          model: await catalogModel('gemini', scenario),
          messages: [{ role: 'user', content: 'x' }],
        },
        key,
      );
    const limited = await call('/api/jobs/create-and-call-stream', 'status-429');
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as any).error.message).toContain('Resource has been exhausted');
    const failed = await call('/api/jobs/create-and-call', 'status-500');
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as any).error.message).toContain('An internal error has occurred');
  });
});

describe('the official OpenAI SDK over /v1 with provider models', () => {
  const client = (apiKey: string) =>
    new OpenAI({
      baseURL: 'http://sluice.test/v1',
      apiKey,
      maxRetries: 0,
      fetch: (url, init) => exports.default.fetch(new Request(url as string, init as RequestInit)),
    });

  it.each(['anthropic', 'gemini'] as const)(
    '%s: a streamed tool call assembles into the SDK final completion',
    async (provider) => {
      const { key } = await setupTeam(3);
      const model = await catalogModel(provider, 'tool');
      const runner = client(key).chat.completions.stream({
        model,
        messages: [{ role: 'user', content: 'weather?' }],
        tools: tools as OpenAI.ChatCompletionTool[],
      });
      const final = await runner.finalChatCompletion();
      const message = final.choices[0]!.message;
      expect(final.choices[0]!.finish_reason).toBe('tool_calls');
      expect(message.tool_calls?.map((t) => t.type === 'function' && JSON.parse(t.function.arguments))).toEqual([
        { city: 'Paris', unit: '°C' },
        {},
      ]);
    },
  );

  it.each(['anthropic', 'gemini'] as const)(
    '%s: a provider error event raises an APIError mid-stream',
    async (provider) => {
      const { key } = await setupTeam(3);
      const model = await catalogModel(provider, 'error');
      const stream = await client(key).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
        })(),
      ).rejects.toThrow(/Overloaded|overloaded/);
      expect(seen.join('')).toBe('Héllo');
    },
  );
});
