import { afterEach, describe, expect, it, vi } from 'vitest';
import { configOf } from '../../src/config';
import { geminiDecoder } from '../../src/dialects/gemini/decode';
import { chatEncoder } from '../../src/dialects/openai-chat/encode';
import { gemini, geminiRequestBody } from '../../src/providers/gemini';
import { transcoder } from '../../src/streaming/transcode';
import type { Target } from '../../src/providers/types';
import type { ChatParams } from '../../src/core/chat-params';
import {
  geminiBlockedPrompt,
  geminiError,
  geminiMaxTokens,
  geminiSafety,
  geminiText,
  geminiTool,
  geminiTruncated,
} from './fixtures/gemini';
import { chunk, events, expectTranscodes, transcode, usageChunk } from './harness';

const MODEL = 'gemini-test-1';
const CREATED = 1_700_000_000;
const ID = 'resp-gemini-1';
/** Gemini's events, decoded and written as OpenAI chunks. */
const make = () => transcoder(geminiDecoder(), chatEncoder({ model: MODEL, created: CREATED }));
const enc = new TextEncoder();
const c = (delta: object, finish: string | null = null) => chunk(ID, MODEL, CREATED, delta, finish);
const run = (wire: string[]) => transcode(make, [enc.encode(wire.join(''))]);

describe('Gemini stream -> OpenAI chunks, however the bytes are cut', () => {
  it('text: the role rides on the first chunk, finish on the last; usage and [DONE] at the end', () => {
    expectTranscodes(make, geminiText(MODEL), {
      events: [
        c({ role: 'assistant', content: 'Héllo' }),
        c({ content: ' wörld' }),
        c({ content: ' 🚀' }, 'stop'),
        usageChunk(ID, MODEL, CREATED, 9, 4),
        '[DONE]',
      ],
      result: {
        id: ID,
        content: 'Héllo wörld 🚀',
        toolCalls: [],
        finishReason: 'stop',
        usage: { input: 9, cachedInput: 0, cacheWrite: 0, output: 4, reasoning: 0 },
        done: true,
        error: null,
      },
    });
  });

  it('function calls: each a whole tool call with JSON arguments; STOP after tools is tool_calls', () => {
    expectTranscodes(make, geminiTool(MODEL), {
      events: [
        c({ role: 'assistant', content: 'Checking.' }),
        c(
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
        usageChunk(ID, MODEL, CREATED, 50, 42),
        '[DONE]',
      ],
      result: {
        id: ID,
        content: 'Checking.',
        toolCalls: [
          {
            id: 'call_0',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"°C"}' },
          },
          { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
        finishReason: 'tool_calls',
        usage: { input: 50, cachedInput: 0, cacheWrite: 0, output: 42, reasoning: 30 },
        done: true,
        error: null,
      },
    });
  });

  it('an error object becomes an in-band OpenAI error, no [DONE], and the result carries it', () => {
    expectTranscodes(make, geminiError(MODEL), {
      events: [
        c({ role: 'assistant', content: 'Héllo' }),
        {
          error: {
            message: 'The model is overloaded. Please try again later.',
            type: 'upstream_error',
            code: 'UNAVAILABLE',
            param: null,
          },
        },
      ],
      result: {
        id: ID,
        content: 'Héllo',
        toolCalls: [],
        finishReason: null,
        usage: null,
        done: false,
        error: {
          message: 'The model is overloaded. Please try again later.',
          type: 'upstream_error',
          code: 'UNAVAILABLE',
          sent: true,
        },
      },
    });
  });

  it('without a finish reason the stream is not done: no usage chunk, no [DONE]', () => {
    expectTranscodes(make, geminiTruncated(MODEL), {
      events: [c({ role: 'assistant', content: 'Héllo' }), c({ content: ' wörld' })],
      result: {
        id: ID,
        content: 'Héllo wörld',
        toolCalls: [],
        finishReason: null,
        usage: null,
        done: false,
        error: null,
      },
    });
  });

  it('MAX_TOKENS is length; SAFETY and a blocked prompt are content_filter', () => {
    expect(run(geminiMaxTokens(MODEL)).result).toMatchObject({
      finishReason: 'length',
      content: 'Once upon',
      done: true,
    });
    const safety = run(geminiSafety(MODEL));
    expect(events(safety.sse)).toEqual([
      c({ role: 'assistant', content: 'Well' }),
      c({}, 'content_filter'),
      usageChunk(ID, MODEL, CREATED, 5, 1),
      '[DONE]',
    ]);
    const blocked = run(geminiBlockedPrompt());
    expect(events(blocked.sse)).toEqual([
      chunk('resp-blocked', MODEL, CREATED, { role: 'assistant', content: '' }, 'content_filter'),
      usageChunk('resp-blocked', MODEL, CREATED, 7, 0),
      '[DONE]',
    ]);
    expect(blocked.result).toMatchObject({ finishReason: 'content_filter', done: true, content: '' });
  });

  it('skips thought parts and SSE comments; a last event without its blank line still counts', () => {
    const wire = [
      ': keep-alive\r\n\r\n',
      'data: {"candidates":[{"content":{"parts":[{"text":"Let me think","thought":true},{"text":"Yes"}],"role":"model"}}],"responseId":"r"}\r\n\r\n',
      'data: {"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP"}],"responseId":"r"}',
    ];
    const { sse, result } = run(wire);
    expect(events(sse)).toEqual([
      chunk('r', MODEL, CREATED, { role: 'assistant', content: 'Yes' }),
      chunk('r', MODEL, CREATED, { content: '.' }, 'stop'),
      '[DONE]',
    ]);
    expect(result).toMatchObject({ content: 'Yes.', usage: null, done: true });
  });

  it('makes up an id when the response has none', () => {
    const { result } = run(['data: {"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}]}\n\n']);
    expect(result.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
  });
});

/** The body as sent (undefined fields dropped); params are loosely typed to cover every shape. */
const body = (params: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(geminiRequestBody(params as unknown as ChatParams)));

describe('geminiRequestBody', () => {
  it('a plain chat: system instruction, user turn, no generation config when nothing is set', () => {
    expect(
      body({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: 'Answer in French.' },
          { role: 'user', content: 'Hi' },
        ],
      }),
    ).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.\n\nAnswer in French.' }] },
    });
  });

  it('generation config: temperature, topP, maxOutputTokens, stopSequences, JSON output', () => {
    expect(
      body({ messages: [{ role: 'user', content: 'Hi' }], temperature: 1.5, top_p: 0.9, max_tokens: 100, stop: 'END' })
        .generationConfig,
    ).toEqual({ temperature: 1.5, topP: 0.9, maxOutputTokens: 100, stopSequences: ['END'] });
    expect(
      body({
        messages: [{ role: 'user', content: 'Hi' }],
        stop: ['a', 'b'],
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
      }).generationConfig,
    ).toEqual({
      stopSequences: ['a', 'b'],
      responseMimeType: 'application/json',
      responseJsonSchema: { type: 'object' },
    });
  });

  it('maps tools and every tool_choice', () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
      { type: 'function', function: { name: 'get_time' } },
    ];
    const b = body({ messages: [{ role: 'user', content: 'Hi' }], tools });
    expect(b.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } } },
          },
          { name: 'get_time' },
        ],
      },
    ]);
    expect(b.toolConfig).toBeUndefined();
    const choice = (tool_choice: unknown) =>
      body({ messages: [{ role: 'user', content: 'Hi' }], tools, tool_choice }).toolConfig;
    expect(choice('auto')).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    expect(choice('required')).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(choice('none')).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(choice({ type: 'function', function: { name: 'get_time' } })).toEqual({
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] },
    });
  });

  it('assistant -> model with functionCall parts; tool results -> functionResponse by name; same-role turns merge', () => {
    const b = body({
      messages: [
        { role: 'user', content: 'Weather and time in Paris?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_b', content: '14:00' },
        { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
        { role: 'assistant', content: 'You are welcome.' },
        { role: 'assistant', content: [{ type: 'text', text: 'Anything else?' }] },
      ],
    });
    expect(b.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather and time in Paris?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Checking.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp: 21 } } },
          { functionResponse: { name: 'get_time', response: { content: '14:00' } } },
          { text: 'Thanks' },
        ],
      },
      { role: 'model', parts: [{ text: 'You are welcome.' }, { text: 'Anything else?' }] },
    ]);
  });

  it('images: data URLs inline, other URLs as file data', () => {
    const b = body({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(b.contents[0].parts).toEqual([
      { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
      { fileData: { fileUri: 'https://example.com/cat.jpg' } },
    ]);
  });
});

type Sent = [url: string, init: RequestInit];

describe('gemini.send', () => {
  afterEach(() => vi.restoreAllMocks());

  it('posts to <base>/v1beta/models/<model>:streamGenerateContent?alt=sse with the key header', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('ok'));
    const signal = new AbortController().signal;
    const target: Target = { alias: 'g', provider: 'gemini', upstreamModel: MODEL, baseUrl: null };
    const params: ChatParams = { messages: [{ role: 'user', content: 'Hi' }] };
    const env = configOf({ GEMINI_API_KEY: 'gm-test', GEMINI_BASE_URL: 'https://proxy.example/' } as never);
    await gemini.send(target, params, env, signal);
    await gemini.send({ ...target, baseUrl: 'http://own.example' }, params, env, signal);
    await gemini.send(target, params, configOf({} as never), signal);
    const [[url1, init1], [url2], [url3, init3]] = fetchSpy.mock.calls as unknown as [Sent, Sent, Sent];
    expect(url1).toBe(`https://proxy.example/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
    expect(url2).toBe(`http://own.example/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
    expect(url3).toBe(`https://generativelanguage.googleapis.com/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
    expect(init1).toMatchObject({ method: 'POST', signal });
    expect(init1.headers).toMatchObject({ 'x-goog-api-key': 'gm-test', 'content-type': 'application/json' });
    expect(JSON.parse(init1.body as string)).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    expect(init3.headers).not.toHaveProperty('x-goog-api-key');
  });
});
