/**
 * Stream events as Anthropic's Messages events, byte by byte: OpenAI chunks and Gemini events
 * re-encoded at every split of their wire bytes, and the order Anthropic's SDK relies on.
 */
import { describe, expect, it } from 'vitest';
import { PING, anthropicEncoder, anthropicMessage } from '../../src/dialects/anthropic/encode';
import { geminiDecoder } from '../../src/dialects/gemini/decode';
import { openAIChatDecoder } from '../../src/dialects/openai-chat/decode';
import { transcoder } from '../../src/streaming/transcode';
import { geminiTool } from '../providers/fixtures/gemini';
import { expectNamedTranscodes, namedEvents, transcode } from '../providers/harness';
import { answerEvents } from '../support/fixtures';

const opts = { model: 'my-alias', fallbackId: 'msg_fallback', inputTokens: 7 };
const ev = (event: string, data: object) => ({ event, data: { type: event, ...data } });
const start = (id: string) =>
  ev('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: 'my-alias',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
    },
  });
const text = (index: number, t: string) => ev('content_block_delta', { index, delta: { type: 'text_delta', text: t } });
const usage = (input: number, output: number) => ({
  input_tokens: input,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: output,
});

describe('OpenAI chunks -> Messages events', () => {
  it('text: message_start, one text block, message_delta with the stop reason and usage, message_stop', () => {
    const wire = answerEvents('gpt-x').map((e) => `data: ${e}\n\n`);
    expectNamedTranscodes(() => transcoder(openAIChatDecoder(), anthropicEncoder(opts)), wire, {
      events: [
        start('msg_fallback'),
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        text(0, 'Héllo'),
        text(0, ' wörld'),
        text(0, ' 🚀'),
        ev('content_block_stop', { index: 0 }),
        ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: usage(11, 3) }),
        ev('message_stop', {}),
      ],
      result: {
        id: 'chatcmpl-fake',
        content: 'Héllo wörld 🚀',
        toolCalls: [],
        finishReason: 'stop',
        usage: { input: 11, cachedInput: 0, cacheWrite: 0, output: 3, reasoning: 0 },
        done: true,
        error: null,
      },
    });
  });

  it('an upstream error mid-stream: the text so far, then an error event, and nothing after', () => {
    const [role, hello] = answerEvents('gpt-x');
    const wire = [role, hello, JSON.stringify({ error: { message: 'Overloaded', code: 'overloaded' } }), '[DONE]'].map(
      (e) => `data: ${e}\n\n`,
    );
    const { sse, result } = transcode(
      () => transcoder(openAIChatDecoder(), anthropicEncoder(opts)),
      [new TextEncoder().encode(wire.join(''))],
    );
    expect(namedEvents(sse).map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'error',
    ]);
    expect(namedEvents(sse).at(-1)!.data).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'Overloaded' },
    });
    expect(result).toMatchObject({ content: 'Héllo', done: false, error: { message: 'Overloaded', sent: true } });
  });
});

describe('Gemini events -> Messages events', () => {
  it('tool calls: each its own block, after the text, with its whole input; stop reason tool_use', () => {
    const wire = geminiTool('gem');
    const block = (index: number, id: string, name: string) =>
      ev('content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } });
    const json = (index: number, partial_json: string) =>
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
    expectNamedTranscodes(() => transcoder(geminiDecoder(), anthropicEncoder(opts)), wire, {
      events: [
        start('msg_fallback'),
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        text(0, 'Checking.'),
        ev('content_block_stop', { index: 0 }),
        block(1, 'call_0', 'get_weather'),
        json(1, '{"city":"Paris","unit":"°C"}'),
        ev('content_block_stop', { index: 1 }),
        block(2, 'call_1', 'get_time'),
        json(2, '{}'),
        ev('content_block_stop', { index: 2 }),
        ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: usage(50, 42) }),
        ev('message_stop', {}),
      ],
      result: expect.objectContaining({ finishReason: 'tool_calls', done: true }) as never,
    });
  });
});

describe('conformance', () => {
  it('blocks are numbered from 0 in order and closed before the next opens; message_start comes first', () => {
    for (const wire of [answerEvents('m').map((e) => `data: ${e}\n\n`)]) {
      const { sse } = transcode(
        () => transcoder(openAIChatDecoder(), anthropicEncoder(opts)),
        [new TextEncoder().encode(wire.join(''))],
      );
      const events = namedEvents(sse);
      expect(events[0]!.event).toBe('message_start');
      expect(events.at(-1)!.event).toBe('message_stop');
      let open: number | null = null;
      let next = 0;
      for (const { event, data } of events) {
        expect(data.type).toBe(event);
        if (event === 'content_block_start') {
          expect(open).toBeNull();
          expect(data.index).toBe(next++);
          open = data.index as number;
        } else if (event === 'content_block_delta') expect(data.index).toBe(open);
        else if (event === 'content_block_stop') {
          expect(data.index).toBe(open);
          open = null;
        }
      }
      expect(open).toBeNull();
    }
  });

  it('a keep-alive is a ping event', () => {
    expect(new TextDecoder().decode(PING)).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });

  it('a whole answer as a message: text and tool_use blocks, inputs as objects, Anthropic usage', () => {
    const message = anthropicMessage(
      {
        id: 'chatcmpl-1',
        content: 'Sure.',
        toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        finishReason: 'tool_calls',
        usage: null,
        done: true,
        error: null,
      },
      { input: 100, cachedInput: 30, cacheWrite: 20, output: 9, reasoning: 0 },
      'my-alias',
      'msg_x',
    );
    expect(message).toEqual({
      id: 'msg_x',
      type: 'message',
      role: 'assistant',
      model: 'my-alias',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 50, cache_creation_input_tokens: 20, cache_read_input_tokens: 30, output_tokens: 9 },
    });
  });
});
