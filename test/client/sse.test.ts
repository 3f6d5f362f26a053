import { describe, expect, it } from 'vitest';
import { EventAssembler, LineSplitter, type ServerSentEvent, createSSEDecoder } from '../../src/client';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Feeds `input` cut at `cuts` and returns every event, in order. */
function decodeCut(input: Uint8Array, cuts: number[]): ServerSentEvent[] {
  const decoder = createSSEDecoder();
  const out: ServerSentEvent[] = [];
  let at = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...decoder.decode(input.subarray(at, cut)));
    at = cut;
  }
  out.push(...decoder.end());
  return out;
}

const ev = (data: string, extra: Partial<ServerSentEvent> = {}): ServerSentEvent => ({
  event: null,
  data,
  id: null,
  ...extra,
});

// Everything at once: comments, three line-ending styles, multi-line data, named events, ids,
// and multi-byte UTF-8 (2, 3 and 4 bytes) inside the JSON.
const STREAM =
  ': ping\n\n' +
  'data: {"content":"héllo"}\r\n\r\n' +
  ':keep-alive\r' +
  '\r' +
  'event: note\rid: 7\rdata: line one\rdata: line two\r\r' +
  'data:{"content":"→ 🌊"}\n\n' +
  'retry: 1500\ndata:  two spaces\n\n' +
  'data: [DONE]\n\n';

const EXPECTED: ServerSentEvent[] = [
  ev('{"content":"héllo"}'),
  ev('line one\nline two', { event: 'note', id: '7' }),
  ev('{"content":"→ 🌊"}', { id: '7' }),
  ev(' two spaces', { id: '7', retry: 1500 }),
  ev('[DONE]', { id: '7' }),
];

describe('SSE decoding', () => {
  it('decodes comments, \\n, \\r\\n and \\r endings, multi-line data, event, id and retry', () => {
    expect(decodeCut(bytes(STREAM), [])).toEqual(EXPECTED);
  });

  it('gives the same events when the bytes are cut at every offset (inside UTF-8 and \\r\\n too)', () => {
    const input = bytes(STREAM);
    for (let i = 0; i <= input.length; i++) {
      expect(decodeCut(input, [i]), `cut at ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same events for every pair of cuts, and one byte at a time', () => {
    const input = bytes(STREAM);
    for (let i = 0; i <= input.length; i += 3) {
      for (let j = i; j <= input.length; j += 2) {
        expect(decodeCut(input, [i, j]), `cuts at ${i}, ${j}`).toEqual(EXPECTED);
      }
    }
    expect(
      decodeCut(
        input,
        Array.from({ length: input.length }, (_, k) => k),
      ),
    ).toEqual(EXPECTED);
  });

  it('delivers a last event that lost its blank line, and nothing for a stream of comments', () => {
    expect(decodeCut(bytes('data: a\n\ndata: b'), [])).toEqual([ev('a'), ev('b')]);
    expect(decodeCut(bytes(': ping\n\n: ping\n\n'), [3])).toEqual([]);
  });

  it('an event arrives as soon as its blank line does, not later', () => {
    const decoder = createSSEDecoder();
    expect(decoder.decode(bytes('data: one\n'))).toEqual([]);
    expect(decoder.decode(bytes('\ndata: tw'))).toEqual([ev('one')]);
    expect(decoder.decode(bytes('o\n\n'))).toEqual([ev('two')]);
    expect(decoder.end()).toEqual([]);
  });
});

describe('LineSplitter', () => {
  it('treats \\r then \\n in the next chunk as one line ending', () => {
    const lines = new LineSplitter();
    expect(lines.push('a\r')).toEqual(['a']);
    expect(lines.push('')).toEqual([]);
    expect(lines.push('\nb\r\r\nc')).toEqual(['b', '']);
    expect(lines.flush()).toEqual(['c']);
  });
});

describe('EventAssembler', () => {
  it('ignores unknown fields and an event without data; a field without a colon has an empty value', () => {
    const events = new EventAssembler();
    for (const line of ['foo: bar', 'event: x']) expect(events.line(line)).toBeNull();
    expect(events.line('')).toBeNull();
    expect(events.line('data')).toBeNull();
    expect(events.line('')).toEqual(ev(''));
  });
});
