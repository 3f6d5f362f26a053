import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storedAnswer } from '../../src/calls/stored-answer';
import type { ToolCall } from '../../src/core/completion';

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;
const storedBytes = (a: { content: string; toolCalls: ToolCall[] }) =>
  bytes(a.content) + (a.toolCalls.length ? bytes(JSON.stringify(a.toolCalls)) : 0);

/** Any Unicode text, astral characters included, and characters JSON has to escape. */
const text = fc.string({ unit: 'binary', maxLength: 300 });
const toolCall = fc.record({
  id: fc.string({ maxLength: 12 }),
  type: fc.constant('function' as const),
  function: fc.record({ name: fc.string({ maxLength: 12 }), arguments: text }),
});

describe('the stored copy of an answer', () => {
  it('keeps a small answer whole', () => {
    const calls: ToolCall[] = [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":"é"}' } }];
    expect(storedAnswer('Héllo 🚀', calls, 1000)).toEqual({ content: 'Héllo 🚀', toolCalls: calls, truncated: false });
  });

  it('cuts between characters, never inside one', () => {
    // 'ab' is 2 bytes and '🚀' 4: a 5-byte room keeps 'ab', not half a rocket.
    expect(storedAnswer('ab🚀c', [], 5)).toEqual({ content: 'ab', toolCalls: [], truncated: true });
    expect(storedAnswer('ab🚀c', [], 6)).toEqual({ content: 'ab🚀', toolCalls: [], truncated: true });
  });

  it('gives short text all it needs and the tool calls the rest', () => {
    const args = 'x'.repeat(500);
    const calls: ToolCall[] = [{ id: 'c1', type: 'function', function: { name: 'f', arguments: args } }];
    const stored = storedAnswer('short', calls, 300);
    expect(stored.content).toBe('short');
    expect(stored.truncated).toBe(true);
    expect(args.startsWith(stored.toolCalls[0]!.function.arguments)).toBe(true);
    expect(storedBytes(stored)).toBeLessThanOrEqual(300);
    expect(storedBytes(stored)).toBeGreaterThan(250);
  });

  it('always fits, keeps prefixes of what was said, and says when it cut', () => {
    fc.assert(
      fc.property(
        text,
        fc.array(toolCall, { maxLength: 3 }),
        fc.integer({ min: 0, max: 1200 }),
        (content, calls, max) => {
          const stored = storedAnswer(content, calls, max);
          const whole = storedBytes({ content, toolCalls: calls }) <= max;
          expect(stored.truncated).toBe(!whole);
          if (whole) expect(stored).toEqual({ content, toolCalls: calls, truncated: false });
          expect(storedBytes(stored)).toBeLessThanOrEqual(max);
          expect(content.startsWith(stored.content)).toBe(true);
          stored.toolCalls.forEach((c, i) => {
            expect(c.id).toBe(calls[i]!.id);
            expect(c.function.name).toBe(calls[i]!.function.name);
            expect(calls[i]!.function.arguments.startsWith(c.function.arguments)).toBe(true);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
