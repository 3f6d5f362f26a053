import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sseRelay } from '../../../src/streaming/sse/relay';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Relays `pieces` in turn, numbering from `first`; each relayed event as text. */
function relayAll(pieces: Uint8Array[], first = 0, keep?: (e: Uint8Array) => boolean): string[] {
  const relay = sseRelay(keep);
  const out: Uint8Array[] = [];
  for (const p of pieces) out.push(...relay.push(p, first + out.length));
  out.push(...relay.end(first + out.length));
  return out.map((e) => text.decode(e));
}

/** `bytes` cut at `cuts` (offsets, any order, repeats allowed). */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, bytes.length]) {
    pieces.push(bytes.subarray(from, c));
    from = c;
  }
  return pieces;
}

/** A line's text: anything but a line end. */
const lineText = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '_'));
const block = fc.oneof(
  fc.record({
    kind: fc.constant('event' as const),
    lines: fc.array(
      fc.oneof(
        lineText.map((s) => `data: ${s}`),
        lineText.map((s) => `event: ${s}`),
        lineText.map((s) => `: ${s}`),
        lineText.map((s) => `id: ${s}`),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({
    kind: fc.constant('comment' as const),
    lines: fc.array(
      lineText.map((s) => `:${s}`),
      { minLength: 1 },
    ),
  }),
);

describe('relaying an SSE stream event by event', () => {
  it('gives each event as it came, numbered, wherever the bytes are cut, LF or CRLF', () => {
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat(1000),
        (blocks, eol, cuts, first) => {
          const raw = blocks.map((b) => b.lines.join(eol) + eol + eol);
          // A block of nothing but comments is a keep-alive: it is not relayed, and takes no number.
          // The upstream's own ids are dropped: a reader's Last-Event-ID must be the relay's number.
          const expected = blocks
            .filter((b) => b.lines.some((l) => !l.startsWith(':')))
            .map((b, i) => `id: ${first + i}\n${[...b.lines.filter((l) => !l.startsWith('id:')), '', ''].join(eol)}`);
          expect(relayAll(cut(utf8.encode(raw.join('')), cuts), first)).toEqual(expected);
        },
      ),
    );
  });

  it('skips blank lines between events, and ends an event the stream left open', () => {
    const pieces = ['\n\r\ndata: a\n', '\ndata: b\r', '\n\r', '\n\n\ndata: c'].map((s) => utf8.encode(s));
    expect(relayAll(pieces, 7)).toEqual(['id: 7\ndata: a\n\n', 'id: 8\ndata: b\r\n\r\n', 'id: 9\ndata: c\n\n']);
  });

  it('leaves out the events `keep` refuses, and numbers the rest without a gap', () => {
    const stream = utf8.encode('data: 1\n\ndata: skip\n\ndata: 2\n\n');
    const keep = (e: Uint8Array) => !text.decode(e).includes('skip');
    expect(relayAll([stream], 0, keep)).toEqual(['id: 0\ndata: 1\n\n', 'id: 1\ndata: 2\n\n']);
  });
});
