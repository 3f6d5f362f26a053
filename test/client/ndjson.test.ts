/**
 * The client's NDJSON pieces alone: lines out of bytes cut anywhere, keep-alives skipped, one
 * line as a typed event (or a StreamError), and tool calls folded from their chunks.
 */
import { describe, expect, it } from 'vitest';
import { StreamError, type ToolCall, addToolCallChunk, createNDJSONDecoder, eventFromLine } from '../../src/client';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Feeds `input` cut at `cuts` and returns every line, in order. */
function decodeCut(input: Uint8Array, cuts: number[]): string[] {
  const decoder = createNDJSONDecoder();
  const out: string[] = [];
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...decoder.decode(input.subarray(at, cut)));
    at = cut;
  }
  out.push(...decoder.end());
  return out;
}

const LINES = [
  '{"type":"metadata","data":"","metadata":{"job_id":"job_1","call_id":"call_1","model":"m","upstream_model":"u"}}',
  '{"type":"token","data":"héllo → 🌊","metadata":{}}',
  '{"type":"chunk","data":{"tool_args":{"index":0,"args":"{\\"a\\":\\"x\\\\ny\\"}"}},"metadata":{}}',
  '{"type":"done","data":"","metadata":{"finish_reason":"stop","usage":null}}',
];
// Keep-alives (blank lines) before and between the lines, and a \r\n line end.
const STREAM = `\n\n${LINES[0]}\n${LINES[1]}\r\n\n${LINES[2]}\n${LINES[3]}\n`;

describe('NDJSON decoding', () => {
  it('gives the same lines when the bytes are cut at every offset (inside UTF-8 and \\r\\n too), blank ones left out', () => {
    const input = bytes(STREAM);
    for (let i = 0; i <= input.length; i++) expect(decodeCut(input, [i]), `cut at ${i}`).toEqual(LINES);
    expect(
      decodeCut(
        input,
        Array.from({ length: input.length }, (_, k) => k),
      ),
    ).toEqual(LINES);
  });

  it('a line arrives as soon as its newline does; a last line without one still counts', () => {
    const decoder = createNDJSONDecoder();
    expect(decoder.decode(bytes('{"a":'))).toEqual([]);
    expect(decoder.decode(bytes('1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(decoder.decode(bytes(':2}\n'))).toEqual(['{"b":2}']);
    expect(decoder.end()).toEqual([]);
    expect(decodeCut(bytes('{"a":1}\n{"b":2}'), [])).toEqual(['{"a":1}', '{"b":2}']);
    expect(decodeCut(bytes('\n \n\n'), [1])).toEqual([]);
  });
});

describe('eventFromLine', () => {
  it('gives the typed event, and null for a type this client does not know', () => {
    expect(eventFromLine(LINES[1]!)).toEqual({ type: 'token', data: 'héllo → 🌊', metadata: {} });
    expect(eventFromLine('{"type":"progress","data":"","metadata":{}}')).toBeNull();
  });

  it('an error line throws a StreamError with its message, type and code', () => {
    const line = '{"type":"error","data":"Model overloaded","metadata":{"type":"upstream_error","code":"overloaded"}}';
    let thrown: unknown;
    try {
      eventFromLine(line, 'req_1');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(StreamError);
    expect(thrown).toMatchObject({
      message: 'Model overloaded',
      type: 'upstream_error',
      code: 'overloaded',
      requestId: 'req_1',
    });
  });

  it('a line that is not a JSON event throws', () => {
    for (const line of ['{"type":', '"token"', '{"data":"x"}', 'null'])
      expect(() => eventFromLine(line), line).toThrow(StreamError);
  });
});

describe('addToolCallChunk', () => {
  it('starts a call at its index, adds name pieces and argument fragments; reasoning is not a call', () => {
    const calls: ToolCall[] = [];
    addToolCallChunk(calls, { reasoning: 'thinking' });
    addToolCallChunk(calls, { tool_call: { index: 1, id: 'call_b', name: 'get_time' } });
    addToolCallChunk(calls, { tool_call: { index: 0, id: 'call_a', name: 'get_' } });
    addToolCallChunk(calls, { tool_call: { index: 0, id: '', name: 'weather' } });
    addToolCallChunk(calls, { tool_args: { index: 0, args: '{"city":' } });
    addToolCallChunk(calls, { tool_args: { index: 1, args: '{}' } });
    addToolCallChunk(calls, { tool_args: { index: 0, args: '"Oslo"}' } });
    expect(calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
  });
});
