import { afterEach, describe, expect, it, vi } from 'vitest';
import { configOf } from '../../src/config';
import { anthropicDecoder } from '../../src/dialects/anthropic/decode';
import { chatEncoder } from '../../src/dialects/openai-chat/encode';
import { anthropic, anthropicRequestBody, DEFAULT_MAX_TOKENS } from '../../src/providers/anthropic';
import { transcoder } from '../../src/streaming/transcode';
import type { Target } from '../../src/providers/types';
import type { ChatParams } from '../../src/core/chat-params';
import { anthropicError, anthropicMaxTokens, anthropicText, anthropicTool } from './fixtures/anthropic';
import { chunk, events, expectTranscodes, transcode, usageChunk } from './harness';

const MODEL = 'claude-test-1';
const CREATED = 1_700_000_000;
/** Anthropic's events, decoded and written as OpenAI chunks. */
const createAnthropicTranscoder = (model: string, created: number, opts: { includeUsage?: boolean } = {}) =>
  transcoder(anthropicDecoder(), chatEncoder({ model, created, ...opts }));
const make = () => createAnthropicTranscoder(MODEL, CREATED);
const enc = new TextEncoder();

describe('Anthropic stream -> OpenAI chunks, however the bytes are cut', () => {
  it('without include_usage the client gets no usage chunk, and the books still get the usage', () => {
    const bytes = [enc.encode(anthropicText(MODEL).join(''))];
    const { sse, result } = transcode(() => createAnthropicTranscoder(MODEL, CREATED, { includeUsage: false }), bytes);
    const out = events(sse) as { choices?: unknown[] }[];
    expect(out.some((e) => Array.isArray(e.choices) && e.choices.length === 0)).toBe(false);
    expect(out.at(-1)).toBe('[DONE]');
    expect(result.usage).toEqual({ input: 25, cachedInput: 0, cacheWrite: 0, output: 12, reasoning: 0 });
  });

  it('text: role chunk, deltas, finish, usage, [DONE]; pings dropped', () => {
    const c = (delta: object, finish: string | null = null) => chunk('msg_01TextAnswer', MODEL, CREATED, delta, finish);
    expectTranscodes(make, anthropicText(MODEL), {
      events: [
        c({ role: 'assistant', content: '' }),
        c({ content: 'Héllo' }),
        c({ content: ' wörld' }),
        c({ content: ' 🚀' }),
        c({}, 'stop'),
        usageChunk('msg_01TextAnswer', MODEL, CREATED, 25, 12),
        '[DONE]',
      ],
      result: {
        id: 'msg_01TextAnswer',
        content: 'Héllo wörld 🚀',
        toolCalls: [],
        finishReason: 'stop',
        usage: { input: 25, cachedInput: 0, cacheWrite: 0, output: 12, reasoning: 0 },
        done: true,
        error: null,
      },
    });
  });

  it('tool calls: numbered from 0 apart from text blocks, arguments streamed, a no-input call gets {}', () => {
    const c = (delta: object, finish: string | null = null) => chunk('msg_01ToolAnswer', MODEL, CREATED, delta, finish);
    const args = (index: number, a: string) => c({ tool_calls: [{ index, function: { arguments: a } }] });
    expectTranscodes(make, anthropicTool(MODEL), {
      events: [
        c({ role: 'assistant', content: '' }),
        c({ content: 'Let me check.' }),
        c({
          tool_calls: [
            { index: 0, id: 'toolu_01Weather', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        }),
        args(0, '{"city": "Pa'),
        args(0, 'ris", "unit'),
        args(0, '": "°C"}'),
        c({
          tool_calls: [
            { index: 1, id: 'toolu_02Time', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        }),
        args(1, '{}'),
        c({}, 'tool_calls'),
        usageChunk('msg_01ToolAnswer', MODEL, CREATED, 150, 40),
        '[DONE]',
      ],
      result: {
        id: 'msg_01ToolAnswer',
        content: 'Let me check.',
        toolCalls: [
          {
            id: 'toolu_01Weather',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "°C"}' },
          },
          { id: 'toolu_02Time', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
        finishReason: 'tool_calls',
        usage: { input: 150, cachedInput: 30, cacheWrite: 20, output: 40, reasoning: 0 },
        done: true,
        error: null,
      },
    });
  });

  it('an error event becomes an in-band OpenAI error, no [DONE], and the result carries it', () => {
    const c = (delta: object) => chunk('msg_01Overloaded', MODEL, CREATED, delta);
    expectTranscodes(make, anthropicError(MODEL), {
      events: [
        c({ role: 'assistant', content: '' }),
        c({ content: 'Héllo' }),
        { error: { message: 'Overloaded', type: 'upstream_error', code: 'overloaded_error', param: null } },
      ],
      result: {
        id: 'msg_01Overloaded',
        content: 'Héllo',
        toolCalls: [],
        finishReason: null,
        usage: null,
        done: false,
        error: { message: 'Overloaded', type: 'upstream_error', code: 'overloaded_error', sent: true },
      },
    });
  });

  it('max_tokens maps to length', () => {
    const { result } = transcode(make, [enc.encode(anthropicMaxTokens(MODEL).join(''))]);
    expect(result).toMatchObject({ finishReason: 'length', content: 'Once upon', done: true });
    expect(result.usage).toEqual({ input: 5, cachedInput: 0, cacheWrite: 0, output: 2, reasoning: 0 });
  });

  it('a stream cut before message_stop is not done, and nothing after an error is emitted', () => {
    const cut = anthropicText(MODEL).slice(0, 5).join('');
    const partial = transcode(make, [enc.encode(cut)]);
    expect(partial.result).toMatchObject({ content: 'Héllo wörld', done: false, error: null, usage: null });
    expect(events(partial.sse)).not.toContain('[DONE]');

    const afterError = [...anthropicError(MODEL), ...anthropicText(MODEL).slice(3)].join('');
    const { sse, result } = transcode(make, [enc.encode(afterError)]);
    expect(events(sse).at(-1)).toMatchObject({ error: { code: 'overloaded_error' } });
    expect(result).toMatchObject({ content: 'Héllo', done: false, finishReason: null });
  });

  it('malformed JSON is an in-band upstream_malformed error', () => {
    const { sse, result } = transcode(make, [enc.encode('event: message_start\ndata: {"type": nope\n\n')]);
    expect(events(sse)).toEqual([
      {
        error: {
          message: 'Upstream sent malformed JSON in its stream',
          type: 'upstream_error',
          code: 'upstream_malformed',
          param: null,
        },
      },
    ]);
    expect(result.error?.code).toBe('upstream_malformed');
  });

  it('ignores thinking blocks and event types it does not know', () => {
    const wire = [
      anthropicText(MODEL)[0],
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: brand_new\ndata: {"type":"brand_new"}\n\n',
      ...anthropicText(MODEL)
        .slice(3)
        .map((e) => e.replaceAll('"index":0', '"index":1')),
    ].join('');
    const { result } = transcode(make, [enc.encode(wire)]);
    expect(result).toMatchObject({ content: 'Héllo wörld 🚀', toolCalls: [], done: true, error: null });
  });
});

const target: Target = { alias: 'claude', provider: 'anthropic', upstreamModel: MODEL, baseUrl: null };
/** The body as sent (undefined fields dropped); params are loosely typed to cover every shape. */
const body = (params: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(anthropicRequestBody(target, params as unknown as ChatParams)));

describe('anthropicRequestBody', () => {
  it('a plain chat: system and developer joined, max_tokens defaulted, stream on', () => {
    expect(
      body({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
        ],
      }),
    ).toEqual({
      model: MODEL,
      system: 'Be brief.\n\nAnswer in French.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      max_tokens: DEFAULT_MAX_TOKENS,
      stream: true,
    });
  });

  it('passes sampling settings, caps temperature at 1, turns stop into stop_sequences', () => {
    const b = body({
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 50,
      temperature: 1.5,
      top_p: 0.9,
      stop: 'END',
    });
    expect(b).toMatchObject({ max_tokens: 50, temperature: 1, top_p: 0.9, stop_sequences: ['END'] });
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], temperature: 0.2, stop: ['a', 'b'] })).toMatchObject({
      temperature: 0.2,
      stop_sequences: ['a', 'b'],
    });
  });

  it('maps tools and every tool_choice', () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
      { type: 'function', function: { name: 'get_time' } },
    ];
    const b = body({ messages: [{ role: 'user', content: 'Hi' }], tools });
    expect(b.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
      { name: 'get_time', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(b.tool_choice).toBeUndefined();
    const choice = (tool_choice: unknown) =>
      body({ messages: [{ role: 'user', content: 'Hi' }], tools, tool_choice }).tool_choice;
    expect(choice('auto')).toEqual({ type: 'auto' });
    expect(choice('required')).toEqual({ type: 'any' });
    expect(choice('none')).toEqual({ type: 'none' });
    expect(choice({ type: 'function', function: { name: 'get_time' } })).toEqual({ type: 'tool', name: 'get_time' });
    // No tools, no tool_choice: Anthropic rejects one without the other.
    expect(body({ messages: [{ role: 'user', content: 'Hi' }], tool_choice: 'auto' }).tool_choice).toBeUndefined();
  });

  it('tool calls become tool_use blocks; tool results one user message; same-role turns merge', () => {
    const b = body({
      messages: [
        { role: 'user', content: 'Weather and time in Paris?' },
        { role: 'user', content: [{ type: 'text', text: 'Quickly.' }] },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: 'not json' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '14:00' }] },
        { role: 'user', content: 'Thanks' },
        { role: 'assistant', content: null },
        { role: 'assistant', content: '' },
      ],
    });
    expect(b.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather and time in Paris?' },
          { type: 'text', text: 'Quickly.' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp":21}' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '14:00' },
          { type: 'text', text: 'Thanks' },
        ],
      },
      { role: 'assistant', content: [] },
    ]);
  });

  it('images: data URLs inline as base64, other URLs by reference', () => {
    const b = body({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(b.messages[0].content).toEqual([
      { type: 'text', text: 'Compare' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });
});

type Sent = [url: string, init: RequestInit];

describe('anthropic.send', () => {
  afterEach(() => vi.restoreAllMocks());

  it('posts to <base>/v1/messages with the key and API version; base_url beats ANTHROPIC_BASE_URL', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('ok'));
    const signal = new AbortController().signal;
    const env = configOf({ ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: 'https://proxy.example/' } as never);
    await anthropic.send(target, { messages: [{ role: 'user', content: 'Hi' }] }, env, signal);
    await anthropic.send(
      { ...target, baseUrl: 'http://own.example' },
      { messages: [{ role: 'user', content: 'Hi' }] },
      env,
      signal,
    );
    await anthropic.send(target, { messages: [{ role: 'user', content: 'Hi' }] }, configOf({} as never), signal);
    const [[url1, init1], [url2], [url3, init3]] = fetchSpy.mock.calls as unknown as [Sent, Sent, Sent];
    expect(url1).toBe('https://proxy.example/v1/messages');
    expect(url2).toBe('http://own.example/v1/messages');
    expect(url3).toBe('https://api.anthropic.com/v1/messages');
    expect(init1.method).toBe('POST');
    expect(init1.signal).toBe(signal);
    expect(init1.headers).toMatchObject({
      'x-api-key': 'sk-ant-test',
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    });
    expect(JSON.parse(init1.body as string)).toMatchObject({
      model: MODEL,
      stream: true,
      max_tokens: DEFAULT_MAX_TOKENS,
    });
    expect(init3.headers).not.toHaveProperty('x-api-key');
  });
});
