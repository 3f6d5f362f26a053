/**
 * Stream events as OpenAI's Responses events, byte by byte: OpenAI chunks, Anthropic events and
 * Gemini events re-encoded at every split of their wire bytes, and the conformance both SDKs rely
 * on (numbering, order, whole items on `done`, the fields their readers require).
 */
import { describe, expect, it } from 'vitest';
import type { Transcoder } from '../../src/streaming/pump/types';
import { anthropicDecoder } from '../../src/dialects/anthropic/decode';
import { geminiDecoder } from '../../src/dialects/gemini/decode';
import { openAIChatDecoder } from '../../src/dialects/openai-chat/decode';
import {
  type ResponseIdentity,
  callOfItem,
  echoOf,
  responseOf,
  responsesEncoder,
} from '../../src/dialects/openai-responses/encode';
import type { Decoder } from '../../src/streaming/codec';
import { transcoder } from '../../src/streaming/transcode';
import { anthropicError, anthropicText, anthropicTool } from '../providers/fixtures/anthropic';
import { geminiError, geminiMaxTokens, geminiText, geminiTool } from '../providers/fixtures/gemini';
import { namedEvents, splits, transcode } from '../providers/harness';
import { answerEvents } from '../support/fixtures';

const identity: ResponseIdentity = {
  id: 'resp_abc',
  stem: 'abc',
  createdAt: 1_800_000_000,
  model: 'my-alias',
  echo: echoOf({ model: 'my-alias', input: 'hi' }),
};
const make = (decoder: () => Decoder) => () => transcoder(decoder(), responsesEncoder(identity));

type Event = { event: string; data: Record<string, unknown> };

/** The events, with the one field that depends on the clock (`completed_at`) fixed. */
function run(make: () => Transcoder, pieces: Uint8Array[]): Event[] {
  return namedEvents(transcode(make, pieces).sse).map(({ event, data }) => {
    const response = data.response as Record<string, unknown> | undefined;
    if (response?.completed_at) response.completed_at = 'T';
    return { event, data };
  });
}

const chatWire = (events: string[]) => events.map((e) => `data: ${e}\n\n`);

const STREAMS: Record<string, { make: () => Transcoder; wire: string[] }> = {
  'openai text': { make: make(openAIChatDecoder), wire: chatWire(answerEvents('gpt-x')) },
  'anthropic text': { make: make(anthropicDecoder), wire: anthropicText('claude') },
  'anthropic tools': { make: make(anthropicDecoder), wire: anthropicTool('claude') },
  'anthropic error': { make: make(anthropicDecoder), wire: anthropicError('claude') },
  'gemini text': { make: make(geminiDecoder), wire: geminiText('gem') },
  'gemini tools': { make: make(geminiDecoder), wire: geminiTool('gem') },
  'gemini max tokens': { make: make(geminiDecoder), wire: geminiMaxTokens('gem') },
  'gemini error': { make: make(geminiDecoder), wire: geminiError('gem') },
};

describe('stream events -> Responses events', () => {
  it('OpenAI text: OpenAI’s own sequence, literally, at every split', () => {
    const R = (status: string, extra: object) => ({
      id: 'resp_abc',
      object: 'response',
      created_at: 1_800_000_000,
      status,
      completed_at: null,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      metadata: {},
      parallel_tool_calls: true,
      temperature: 1,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      model: 'my-alias',
      output: [],
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      service_tier: 'default',
      store: false,
      truncation: 'disabled',
      usage: null,
      user: null,
      ...extra,
    });
    let seq = 0;
    const ev = (event: string, data: object) => ({ event, data: { type: event, sequence_number: seq++, ...data } });
    const at = { item_id: 'msg_abc', output_index: 0, content_index: 0 };
    const part = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });
    const message = (status: string, content: object[]) => ({
      id: 'msg_abc',
      type: 'message',
      status,
      role: 'assistant',
      content,
    });
    const delta = (d: string) => ev('response.output_text.delta', { ...at, delta: d, logprobs: [] });
    const expected = [
      ev('response.created', { response: R('in_progress', {}) }),
      ev('response.in_progress', { response: R('in_progress', {}) }),
      ev('response.output_item.added', { output_index: 0, item: message('in_progress', []) }),
      ev('response.content_part.added', { ...at, part: part('') }),
      delta('Héllo'),
      delta(' wörld'),
      delta(' 🚀'),
      ev('response.output_text.done', { ...at, text: 'Héllo wörld 🚀', logprobs: [] }),
      ev('response.content_part.done', { ...at, part: part('Héllo wörld 🚀') }),
      ev('response.output_item.done', { output_index: 0, item: message('completed', [part('Héllo wörld 🚀')]) }),
      ev('response.completed', {
        response: R('completed', {
          completed_at: 'T',
          output: [message('completed', [part('Héllo wörld 🚀')])],
          usage: {
            input_tokens: 11,
            input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
            output_tokens: 3,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 14,
          },
        }),
      }),
    ];
    const { make, wire } = STREAMS['openai text']!;
    for (const [how, pieces] of splits(wire.join(''))) expect(run(make, pieces), how).toEqual(expected);
  });

  it.each(Object.keys(STREAMS))('%s: the same events however the bytes are cut', (name) => {
    const { make, wire } = STREAMS[name]!;
    const whole = run(make, [new TextEncoder().encode(wire.join(''))]);
    for (const [how, pieces] of splits(wire.join(''))) expect(run(make, pieces), how).toEqual(whole);
  });

  it('Anthropic text and two tool calls: a message item, then a function_call item each; cache usage', () => {
    const { make, wire } = STREAMS['anthropic tools']!;
    const events = run(make, [new TextEncoder().encode(wire.join(''))]);
    const items = events.filter((e) => e.event === 'response.output_item.added').map((e) => e.data.item);
    expect(items).toEqual([
      { id: 'msg_abc', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      {
        id: 'fc_abc_0',
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: 'toolu_01Weather',
        name: 'get_weather',
      },
      {
        id: 'fc_abc_1',
        type: 'function_call',
        status: 'in_progress',
        arguments: '',
        call_id: 'toolu_02Time',
        name: 'get_time',
      },
    ]);
    const completed = events.at(-1)!;
    expect(completed.event).toBe('response.completed');
    expect(completed.data.response).toMatchObject({
      status: 'completed',
      output: [
        { type: 'message', content: [{ text: 'Let me check.' }] },
        { type: 'function_call', arguments: '{"city": "Paris", "unit": "°C"}', status: 'completed' },
        { type: 'function_call', arguments: '{}', status: 'completed' },
      ],
      usage: {
        input_tokens: 150,
        input_tokens_details: { cached_tokens: 30, cache_write_tokens: 20 },
        output_tokens: 40,
      },
    });
  });

  it('an upstream error: the output so far, then response.failed carrying it; nothing after', () => {
    const { make, wire } = STREAMS['anthropic error']!;
    const events = run(make, [new TextEncoder().encode(wire.join(''))]);
    const failed = events.at(-1)!;
    expect(failed.event).toBe('response.failed');
    expect(failed.data.response).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message: 'Overloaded' },
      output: [{ type: 'message', status: 'incomplete', content: [{ text: 'Héllo' }] }],
    });
    expect(events.filter((e) => e.event === 'response.failed')).toHaveLength(1);
  });

  it('cut by the output limit: response.incomplete with the reason', () => {
    const { make, wire } = STREAMS['gemini max tokens']!;
    const last = run(make, [new TextEncoder().encode(wire.join(''))]).at(-1)!;
    expect(last.event).toBe('response.incomplete');
    expect(last.data.response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });

  it('a failure the pump reports (a stall) continues the numbering, and opens the response if nothing had', () => {
    const encoder = responsesEncoder(identity);
    const bytes = encoder.error({ message: 'Upstream sent nothing for 500 ms', code: 'upstream_idle_timeout' });
    const events = namedEvents(new TextDecoder().decode(bytes));
    expect(events.map((e) => [e.event, e.data.sequence_number])).toEqual([
      ['response.created', 0],
      ['response.in_progress', 1],
      ['response.failed', 2],
    ]);
  });
});

/**
 * What the SDKs' readers require of each event (the openai SDK's stream accumulator, the AI
 * SDK's chunk schema): the fields every event of that type must carry.
 */
const REQUIRED: Record<string, string[]> = {
  'response.created': ['response'],
  'response.in_progress': ['response'],
  'response.output_item.added': ['output_index', 'item'],
  'response.content_part.added': ['item_id', 'output_index', 'content_index', 'part'],
  'response.output_text.delta': ['item_id', 'output_index', 'content_index', 'delta', 'logprobs'],
  'response.output_text.done': ['item_id', 'output_index', 'content_index', 'text', 'logprobs'],
  'response.content_part.done': ['item_id', 'output_index', 'content_index', 'part'],
  'response.function_call_arguments.delta': ['item_id', 'output_index', 'delta'],
  'response.function_call_arguments.done': ['item_id', 'output_index', 'arguments'],
  'response.output_item.done': ['output_index', 'item'],
  'response.completed': ['response'],
  'response.incomplete': ['response'],
  'response.failed': ['response'],
};
const RESPONSE = ['id', 'object', 'created_at', 'status', 'error', 'incomplete_details', 'instructions', 'metadata'];
const RESPONSE_TOO = [
  'model',
  'output',
  'parallel_tool_calls',
  'temperature',
  'tool_choice',
  'tools',
  'top_p',
  'usage',
];

describe.each(Object.keys(STREAMS))('conformance: %s', (name) => {
  const { make, wire } = STREAMS[name]!;
  const events = run(make, [new TextEncoder().encode(wire.join(''))]);

  it('numbered from 0 without a gap; created first, then in_progress; one terminal event, last', () => {
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.slice(0, 2).map((e) => e.event)).toEqual(['response.created', 'response.in_progress']);
    const terminal = ['response.completed', 'response.incomplete', 'response.failed'];
    expect(events.filter((e) => terminal.includes(e.event))).toHaveLength(1);
    expect(terminal).toContain(events.at(-1)!.event);
  });

  it('every event is one the SDKs know, with the fields they require; every response object whole', () => {
    for (const { event, data } of events) {
      expect(data.type).toBe(event);
      expect(Object.keys(REQUIRED)).toContain(event);
      for (const field of REQUIRED[event]!) expect(data, `${event}.${field}`).toHaveProperty(field);
      if (data.response) {
        for (const field of [...RESPONSE, ...RESPONSE_TOO]) expect(data.response).toHaveProperty(field);
        expect(Array.isArray((data.response as { output: unknown }).output)).toBe(true);
      }
      // The openai SDK raises on any event with a top-level `error`.
      expect(data).not.toHaveProperty('error');
    }
  });

  it('items are added at 0, 1, 2…; each delta follows its item (and part); each done item is whole', () => {
    const added = events.filter((e) => e.event === 'response.output_item.added');
    expect(added.map((e) => e.data.output_index)).toEqual(added.map((_, i) => i));
    const open = new Map<number, { text: string; args: string; parts: number }>();
    for (const { event, data } of events) {
      const index = data.output_index as number;
      if (event === 'response.output_item.added') {
        const item = data.item as { type: string; content?: unknown[] };
        if (item.type === 'message') expect(item.content).toEqual([]);
        open.set(index, { text: '', args: '', parts: 0 });
      } else if (event === 'response.content_part.added') open.get(index)!.parts++;
      else if (event === 'response.output_text.delta') {
        expect(open.get(index)!.parts).toBe(1);
        open.get(index)!.text += data.delta as string;
      } else if (event === 'response.function_call_arguments.delta') open.get(index)!.args += data.delta as string;
      else if (event === 'response.output_item.done') {
        const item = data.item as { type: string; status: string; arguments?: string; content?: { text: string }[] };
        expect(item.status).toBe('completed');
        if (item.type === 'message') expect(item.content![0]!.text).toBe(open.get(index)!.text);
        else expect(item.arguments).toBe(open.get(index)!.args);
      }
    }
    const last = events.at(-1)!;
    if (last.event !== 'response.failed') {
      const done = events.filter((e) => e.event === 'response.output_item.done').map((e) => e.data.item);
      expect((last.data.response as { output: unknown[] }).output).toEqual(done);
    }
  });
});

describe('whole answers', () => {
  it('a response object: message first, then function calls, and the usage', () => {
    const response = responseOf(
      identity,
      {
        id: null,
        content: 'Sure.',
        toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        finishReason: 'tool_calls',
        usage: null,
        done: true,
        error: null,
      },
      { input: 100, cachedInput: 30, cacheWrite: 0, output: 9, reasoning: 4 },
    );
    expect(response).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      status: 'completed',
      incomplete_details: null,
      output: [
        {
          id: 'msg_abc',
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Sure.', annotations: [] }],
        },
        { id: 'fc_abc_0', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
      ],
      usage: {
        input_tokens: 100,
        input_tokens_details: { cached_tokens: 30 },
        output_tokens: 9,
        output_tokens_details: { reasoning_tokens: 4 },
        total_tokens: 109,
      },
    });
  });

  it('a message id names its call; ids that are not Sluice’s name none', () => {
    expect(callOfItem('msg_abc123')).toBe('call_abc123');
    expect(callOfItem('msg_abc123_2')).toBe('call_abc123');
    expect(callOfItem('rs_abc123')).toBeNull();
    expect(callOfItem('msg_../x')).toBeNull();
  });
});
