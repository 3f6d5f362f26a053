import { expect } from 'vitest';
import type { Completion } from '../../src/core/completion';
import type { Transcoder } from '../../src/streaming/pump/types';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Runs one stream through a fresh transcoder, fed in the given pieces. */
export function transcode(make: () => Transcoder, pieces: Uint8Array[]): { sse: string; result: Completion } {
  const t = make();
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const o = t.push(p);
    if (o) out.push(o);
  }
  const tail = t.flush();
  if (tail) out.push(tail);
  return { sse: out.map((o) => dec.decode(o)).join(''), result: t.result() };
}

/** The emitted SSE as its events: parsed JSON payloads, and `[DONE]` as the string. Every event is `data:` only. */
export function events(sse: string): unknown[] {
  expect(sse === '' || sse.endsWith('\n\n')).toBe(true);
  return sse
    .split('\n\n')
    .filter(Boolean)
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      const data = e.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

/** Every way to cut the wire bytes: whole, in two at each offset, and one byte at a time. */
export function* splits(wire: string): Generator<[string, Uint8Array[]]> {
  const bytes = enc.encode(wire);
  yield ['whole', [bytes]];
  for (let cut = 1; cut < bytes.length; cut++) yield [`cut at ${cut}`, [bytes.subarray(0, cut), bytes.subarray(cut)]];
  yield ['byte by byte', Array.from(bytes, (b) => Uint8Array.of(b))];
}

/**
 * Asserts the transcoder's output is `expected` however the bytes arrive. The output bytes
 * may be grouped differently per split, but the events and the result must not change.
 */
export function expectTranscodes(
  make: () => Transcoder,
  wire: string[],
  expected: { events: unknown[]; result: Completion },
) {
  for (const [how, pieces] of splits(wire.join(''))) {
    const { sse, result } = transcode(make, pieces);
    expect(events(sse), how).toEqual(expected.events);
    expect(result, how).toEqual(expected.result);
  }
}

export const chunk = (
  id: string,
  model: string,
  created: number,
  delta: object,
  finish_reason: string | null = null,
) => ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason }] });

export const usageChunk = (id: string, model: string, created: number, prompt: number, completion: number) => ({
  id,
  object: 'chat.completion.chunk',
  created,
  model,
  choices: [],
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
});

/** The emitted SSE as named events (`event:` line and JSON `data:`), as Anthropic's API writes them. */
export function namedEvents(sse: string): { event: string; data: Record<string, unknown> }[] {
  expect(sse === '' || sse.endsWith('\n\n')).toBe(true);
  return sse
    .split('\n\n')
    .filter(Boolean)
    .map((e) => {
      const m = /^event: (\S+)\ndata: (.*)$/s.exec(e);
      expect(m, e).not.toBeNull();
      return { event: m![1]!, data: JSON.parse(m![2]!) as Record<string, unknown> };
    });
}

/** `namedEvents` for every way to cut the wire bytes: the events and the result must not change. */
export function expectNamedTranscodes(
  make: () => Transcoder,
  wire: string[],
  expected: { events: unknown[]; result: Completion },
) {
  for (const [how, pieces] of splits(wire.join(''))) {
    const { sse, result } = transcode(make, pieces);
    expect(namedEvents(sse), how).toEqual(expected.events);
    expect(result, how).toEqual(expected.result);
  }
}
