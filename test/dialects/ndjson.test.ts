/**
 * Stream events as NDJSON lines, byte by byte: OpenAI, Anthropic and Gemini upstream bytes
 * re-encoded at every split of their wire, the exact lines out (key order included), and the
 * books (the transcoder's result) unchanged by the dialect.
 */
import { describe, expect, it } from 'vitest';
import type { PriceOf, TokenUsage } from '../../src/core/completion';
import { anthropicDecoder } from '../../src/dialects/anthropic/decode';
import { geminiDecoder } from '../../src/dialects/gemini/decode';
import { NDJSON_HEADERS, ndjsonEvents, prefersNdjson } from '../../src/dialects/ndjson/dialect';
import { KEEPALIVE, ndjsonEncoder } from '../../src/dialects/ndjson/encode';
import { openAIChatDecoder } from '../../src/dialects/openai-chat/decode';
import type { Decoder } from '../../src/streaming/codec';
import { transcoder } from '../../src/streaming/transcode';
import {
  anthropicError,
  anthropicEvent,
  anthropicMessageStart,
  anthropicText,
  anthropicTool,
} from '../providers/fixtures/anthropic';
import { geminiError, geminiText, geminiTool } from '../providers/fixtures/gemini';
import { chunk as chatChunk, splits, transcode, usageChunk } from '../providers/harness';
import { answerEvents } from '../support/fixtures';

const opts = { jobId: 'job_1', callId: 'call_1', model: 'my-alias', upstreamModel: 'up-model' };
const make = (decoder: () => Decoder, cost?: PriceOf) => () => transcoder(decoder(), ndjsonEncoder({ ...opts, cost }));

const metadata = {
  type: 'metadata',
  data: '',
  metadata: { job_id: 'job_1', call_id: 'call_1', model: 'my-alias', upstream_model: 'up-model' },
};
const token = (data: string) => ({ type: 'token', data, metadata: {} });
const chunk = (data: object) => ({ type: 'chunk', data, metadata: {} });
const done = (finish_reason: string | null, usage: object | null) => ({
  type: 'done',
  data: '',
  metadata: { finish_reason, usage },
});
const usage = (prompt: number, completion: number, cached = 0, reasoning = 0) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  cached_tokens: cached,
  reasoning_tokens: reasoning,
  total_tokens: prompt + completion,
});
const error = (data: string, code: string | null, type = 'upstream_error') => ({
  type: 'error',
  data,
  metadata: { type, code },
});

/** The lines as the wire carries them: one JSON object each, `\n` after each. */
const ndjson = (lines: object[]) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

/** The exact NDJSON out, however the upstream's bytes arrive; and the books' result, when given. */
function expectLines(make: () => ReturnType<typeof transcoder>, wire: string[], lines: object[], result?: object) {
  const expected = ndjson(lines);
  for (const [how, pieces] of splits(wire.join(''))) {
    const out = transcode(make, pieces);
    expect(out.sse, how).toBe(expected);
    if (result) expect(out.result, how).toEqual(result);
  }
}

const openAIWire = (events: string[]) => events.map((e) => `data: ${e}\n\n`);

describe('OpenAI chunks -> NDJSON', () => {
  it('text: metadata, a token per piece, done with the finish reason and the usage', () => {
    expectLines(
      make(openAIChatDecoder),
      openAIWire(answerEvents('gpt-x')),
      [metadata, token('Héllo'), token(' wörld'), token(' 🚀'), done('stop', usage(11, 3))],
      {
        id: 'chatcmpl-fake',
        content: 'Héllo wörld 🚀',
        toolCalls: [],
        finishReason: 'stop',
        usage: { input: 11, cachedInput: 0, cacheWrite: 0, output: 3, reasoning: 0 },
        done: true,
        error: null,
      },
    );
  });

  it('cached and reasoning tokens are reported apart, inside the prompt and completion totals', () => {
    const wire = [
      JSON.stringify(chatChunk('c', 'o', 1, { role: 'assistant', content: 'Hi' }, 'stop')),
      JSON.stringify({
        ...usageChunk('c', 'o', 1, 100, 40),
        usage: {
          prompt_tokens: 100,
          completion_tokens: 40,
          total_tokens: 140,
          prompt_tokens_details: { cached_tokens: 64 },
          completion_tokens_details: { reasoning_tokens: 30 },
        },
      }),
      '[DONE]',
    ];
    expectLines(make(openAIChatDecoder), openAIWire(wire), [
      metadata,
      token('Hi'),
      done('stop', usage(100, 40, 64, 30)),
    ]);
  });

  it('a tool call: a tool_call chunk where it starts, then its argument fragments as they came', () => {
    const c = (delta: object, finish: string | null = null) => JSON.stringify(chatChunk('c', 'o', 1, delta, finish));
    const args = (a: string) => c({ tool_calls: [{ index: 0, function: { arguments: a } }] });
    const wire = [
      c({ role: 'assistant', content: null }),
      c({
        tool_calls: [{ index: 0, id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '' } }],
      }),
      args('{"ci'),
      args('ty": "Par'),
      args('is"}'),
      c({}, 'tool_calls'),
      JSON.stringify(usageChunk('c', 'o', 1, 20, 9)),
      '[DONE]',
    ];
    expectLines(
      make(openAIChatDecoder),
      openAIWire(wire),
      [
        metadata,
        chunk({ tool_call: { index: 0, id: 'call_abc', name: 'get_weather' } }),
        chunk({ tool_args: { index: 0, args: '{"ci' } }),
        chunk({ tool_args: { index: 0, args: 'ty": "Par' } }),
        chunk({ tool_args: { index: 0, args: 'is"}' } }),
        done('tool_calls', usage(20, 9)),
      ],
      {
        id: 'c',
        content: '',
        toolCalls: [
          { id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
        ],
        finishReason: 'tool_calls',
        usage: { input: 20, cachedInput: 0, cacheWrite: 0, output: 9, reasoning: 0 },
        done: true,
        error: null,
      },
    );
  });

  it('an upstream error mid-stream: the text so far, the error line last, and no done after it', () => {
    const [role, hello] = answerEvents('gpt-x');
    const failure = JSON.stringify({ error: { message: 'Overloaded', type: 'server_error', code: 'overloaded' } });
    expectLines(
      make(openAIChatDecoder),
      openAIWire([role!, hello!, failure, '[DONE]']),
      [metadata, token('Héllo'), error('Overloaded', 'overloaded')],
      {
        id: 'chatcmpl-fake',
        content: 'Héllo',
        toolCalls: [],
        finishReason: null,
        usage: null,
        done: false, // the [DONE] after the error is dropped, for the books as for the client
        error: { message: 'Overloaded', type: 'server_error', code: 'overloaded', sent: true },
      },
    );
  });

  it('bytes that are not JSON: the gateway’s own error line, nothing after it', () => {
    const [role, hello] = answerEvents('gpt-x');
    expectLines(
      make(openAIChatDecoder),
      [...openAIWire([role!, hello!]), 'data: {"choices": [\n\n'],
      [metadata, token('Héllo'), error('Upstream sent malformed JSON in its stream', 'upstream_malformed')],
    );
  });

  it('no usage from the upstream: done says so with a null usage', () => {
    const wire = answerEvents('gpt-x').filter((e) => !e.includes('"usage"'));
    expectLines(make(openAIChatDecoder), openAIWire(wire), [
      metadata,
      token('Héllo'),
      token(' wörld'),
      token(' 🚀'),
      done('stop', null),
    ]);
  });
});

describe('Anthropic events -> NDJSON', () => {
  it('text: the ping is dropped, the usage counts cache reads and writes in the prompt', () => {
    expectLines(make(anthropicDecoder), anthropicText('claude-x'), [
      metadata,
      token('Héllo'),
      token(' wörld'),
      token(' 🚀'),
      done('stop', usage(25, 12)),
    ]);
  });

  it('text then two tool calls, the second with no input ({}); cached tokens apart', () => {
    expectLines(
      make(anthropicDecoder),
      anthropicTool('claude-x'),
      [
        metadata,
        token('Let me check.'),
        chunk({ tool_call: { index: 0, id: 'toolu_01Weather', name: 'get_weather' } }),
        chunk({ tool_args: { index: 0, args: '{"city": "Pa' } }),
        chunk({ tool_args: { index: 0, args: 'ris", "unit' } }),
        chunk({ tool_args: { index: 0, args: '": "°C"}' } }),
        chunk({ tool_call: { index: 1, id: 'toolu_02Time', name: 'get_time' } }),
        chunk({ tool_args: { index: 1, args: '{}' } }),
        done('tool_calls', usage(150, 40, 30)),
      ],
      expect.objectContaining({ finishReason: 'tool_calls', done: true, error: null }),
    );
  });

  it('thinking: each piece of reasoning is a reasoning chunk, apart from the text', () => {
    const wire = [
      anthropicMessageStart('msg_think', 'claude-x', { input_tokens: 5, output_tokens: 1 }),
      anthropicEvent('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'Six times' } }),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: ' seven.' } }),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } }),
      anthropicEvent('content_block_stop', { index: 0 }),
      anthropicEvent('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'text_delta', text: '42' } }),
      anthropicEvent('content_block_stop', { index: 1 }),
      anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }),
      anthropicEvent('message_stop', {}),
    ];
    expectLines(make(anthropicDecoder), wire, [
      metadata,
      chunk({ reasoning: 'Six times' }),
      chunk({ reasoning: ' seven.' }),
      token('42'),
      done('stop', usage(5, 9)),
    ]);
  });

  it('an error event: the error line with Anthropic’s type as its code, no done', () => {
    expectLines(make(anthropicDecoder), anthropicError('claude-x'), [
      metadata,
      token('Héllo'),
      error('Overloaded', 'overloaded_error'),
    ]);
  });
});

describe('Gemini events -> NDJSON', () => {
  it('text: done after the stream ends (Gemini has no terminal event), with its last usage', () => {
    expectLines(make(geminiDecoder), geminiText('gemini-x'), [
      metadata,
      token('Héllo'),
      token(' wörld'),
      token(' 🚀'),
      done('stop', usage(9, 4)),
    ]);
  });

  it('whole function calls: each a tool_call and one tool_args chunk; thinking tokens as reasoning', () => {
    expectLines(make(geminiDecoder), geminiTool('gemini-x'), [
      metadata,
      token('Checking.'),
      chunk({ tool_call: { index: 0, id: 'call_0', name: 'get_weather' } }),
      chunk({ tool_args: { index: 0, args: '{"city":"Paris","unit":"°C"}' } }),
      chunk({ tool_call: { index: 1, id: 'call_1', name: 'get_time' } }),
      chunk({ tool_args: { index: 1, args: '{}' } }),
      done('tool_calls', usage(50, 42, 0, 30)),
    ]);
  });

  it('an error object in the stream: the error line, no done', () => {
    expectLines(make(geminiDecoder), geminiError('gemini-x'), [
      metadata,
      token('Héllo'),
      error('The model is overloaded. Please try again later.', 'UNAVAILABLE'),
    ]);
  });
});

describe('the done line’s cost', () => {
  const wire = openAIWire(answerEvents('gpt-x'));

  it('a pricing function puts cost_usd and credits in the usage, priced from the whole usage', () => {
    const seen: TokenUsage[] = [];
    const cost: PriceOf = (u) => {
      seen.push(u);
      return { costUsd: u.input * 0.001 + u.output * 0.002, credits: 1 };
    };
    const { sse } = transcode(make(openAIChatDecoder, cost), [new TextEncoder().encode(wire.join(''))]);
    expect(sse.split('\n').at(-2)).toBe(
      '{"type":"done","data":"","metadata":{"finish_reason":"stop","usage":{"prompt_tokens":11,' +
        '"completion_tokens":3,"cached_tokens":0,"reasoning_tokens":0,"total_tokens":14,"cost_usd":0.017,"credits":1}}}',
    );
    expect(seen).toEqual([{ input: 11, cachedInput: 0, cacheWrite: 0, output: 3, reasoning: 0 }]);
  });

  it('no usage is never priced', () => {
    let called = false;
    const noUsage = openAIWire(answerEvents('gpt-x').filter((e) => !e.includes('"usage"'))).join('');
    const { sse } = transcode(
      make(openAIChatDecoder, () => ((called = true), { costUsd: 1, credits: 1 })),
      [new TextEncoder().encode(noUsage)],
    );
    expect(sse.split('\n').at(-2)).toBe(JSON.stringify(done('stop', null)));
    expect(called).toBe(false);
  });
});

describe('the pump’s own writes', () => {
  const dec = new TextDecoder();

  it('a keep-alive is a blank line', () => {
    expect(dec.decode(KEEPALIVE)).toBe('\n');
  });

  it('a failure of the gateway’s own is an error line with its type and code, after the metadata line', () => {
    const failure = {
      message: 'Upstream sent nothing for 500 ms',
      type: 'upstream_error' as const,
      code: 'upstream_idle_timeout',
      param: null,
    };
    // Before the upstream said anything: the metadata line still comes first.
    expect(dec.decode(ndjsonEncoder(opts).failure(failure))).toBe(
      ndjson([metadata, error('Upstream sent nothing for 500 ms', 'upstream_idle_timeout')]),
    );
    // After: only the error line.
    const encoder = ndjsonEncoder(opts);
    encoder.encode([
      { type: 'start', id: 'x' },
      { type: 'text', text: 'Hi' },
    ]);
    expect(dec.decode(encoder.failure({ ...failure, type: 'api_error', code: 'upstream_truncated' }))).toBe(
      ndjson([error('Upstream sent nothing for 500 ms', 'upstream_truncated', 'api_error')]),
    );
  });

  it('the dialect always transcodes, even an OpenAI upstream, and frames the pump’s writes with the same encoder', () => {
    const upstream = { format: 'openai-chat' as const, decoder: openAIChatDecoder, model: 'up-model' };
    const { mode, client } = ndjsonEvents.open(upstream, { jobId: 'job_1', callId: 'call_1', model: 'my-alias' });
    expect('transform' in mode).toBe(true);
    expect(client.keepalive).toBe(KEEPALIVE);
    const failure = { message: 'gone', type: 'upstream_error' as const, code: 'upstream_stream_error', param: null };
    expect(dec.decode(client.error(failure))).toBe(ndjson([metadata, error('gone', 'upstream_stream_error')]));
    expect(NDJSON_HEADERS['content-type']).toBe('application/x-ndjson');
    expect(NDJSON_HEADERS['cache-control']).toBe('no-cache');
  });
});

describe('content negotiation', () => {
  it.each([
    ['application/x-ndjson', true],
    ['Application/X-NDJSON; charset=utf-8', true],
    ['text/event-stream;q=0.5, application/x-ndjson', true],
    ['application/x-ndjson;q=0.9, */*;q=0.1', true],
    [undefined, false],
    ['', false],
    ['text/event-stream', false],
    ['*/*', false],
    ['application/*', false],
    ['application/json, text/plain, */*', false],
    ['application/x-ndjson, text/event-stream', false], // a tie keeps the default
    ['application/x-ndjson;q=0.5, text/event-stream', false],
    ['application/x-ndjson;q=0', false],
  ])('Accept %j -> NDJSON: %s', (accept, ndjson) => {
    expect(prefersNdjson(accept)).toBe(ndjson);
  });
});
