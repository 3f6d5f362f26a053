import { describe, expect, it } from 'vitest';
import { openAIChatDecoder } from '../../src/dialects/openai-chat/decode';
import { booksReader } from '../../src/streaming/books';

const createOpenAIStreamReader = () => booksReader(openAIChatDecoder());

/** A whole stream pushed through one reader, fragment by fragment. */
function parseOpenAIStream(chunks: Iterable<Uint8Array>) {
  const reader = createOpenAIStreamReader();
  for (const c of chunks) reader.push(c);
  return reader.finish();
}

const enc = new TextEncoder();

const chunk = (delta: object, finish: string | null = null, extra: object = {}) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  });

const stream = [
  ': keep-alive\r\n\r\n',
  `data: ${chunk({ role: 'assistant', content: '' })}\r\n\r\n`,
  `data: ${chunk({ content: 'Grüße, ' })}\n\n`,
  `data: ${chunk({ content: '世界 🚀' })}\r\n\r\n`,
  `data: ${chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] })}\n\n`,
  `data: ${chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })}\n\n`,
  `data: ${chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })}\n\n`,
  `data: ${chunk({}, 'tool_calls')}\n\n`,
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } })}\n\n`,
  'data: [DONE]\n\n',
].join('');

const expected = {
  id: 'c1',
  content: 'Grüße, 世界 🚀',
  toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
  finishReason: 'tool_calls',
  usage: { input: 9, cachedInput: 0, cacheWrite: 0, output: 4, reasoning: 0 },
  done: true,
  error: null,
};

describe('the OpenAI stream reader, fed a whole stream', () => {
  it('reads a whole stream: text, tool-call fragments, finish reason, usage, [DONE]', () => {
    expect(parseOpenAIStream([enc.encode(stream)])).toEqual(expected);
  });

  it('gives the same result when the bytes are cut at every possible offset', () => {
    const bytes = enc.encode(stream);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseOpenAIStream([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(expected);
    }
  });

  it('survives one byte at a time', () => {
    const bytes = enc.encode(stream);
    expect(parseOpenAIStream(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it('keeps usage that arrives on a chunk that still carries choices, and explicit zeros', () => {
    const reader = createOpenAIStreamReader();
    reader.push(
      enc.encode(
        `data: ${chunk({ content: 'x' }, 'stop', { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } })}\n\ndata: [DONE]\n\n`,
      ),
    );
    const result = reader.finish();
    expect(result.usage).toEqual({ input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 });
    expect(result.content).toBe('x');
  });

  it('records an in-band error event and malformed JSON as the stream error', () => {
    const withError = parseOpenAIStream([
      enc.encode(`data: ${chunk({ content: 'par' })}\n\ndata: {"error":{"message":"overloaded","code":"busy"}}\n\n`),
    ]);
    expect(withError).toMatchObject({ content: 'par', done: false, error: { message: 'overloaded', code: 'busy' } });
    const malformed = parseOpenAIStream([enc.encode('data: {"id": nope\n\n')]);
    expect(malformed.error?.code).toBe('upstream_malformed');
  });

  it('counts a final event that lacks its blank line', () => {
    expect(parseOpenAIStream([enc.encode(`data: ${chunk({ content: 'end' })}\n\ndata: [DONE]`)])).toMatchObject({
      content: 'end',
      done: true,
    });
  });
});
