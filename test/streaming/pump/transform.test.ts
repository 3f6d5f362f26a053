import { describe, expect, it } from 'vitest';
import { transformPump } from '../../../src/streaming/pump/transform';
import { CHAT_FRAMING } from '../../../src/dialects/openai-chat/dialect';
import { withoutUsageChunk } from '../../../src/dialects/openai-chat/without-usage';
import { contentEvents } from '../../support/fixtures';

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upstream of `n` chunks and `[DONE]` that hands one out per pull and counts the pulls. */
function countedUpstream(n: number) {
  const counter = { pulls: 0 };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (counter.pulls > n) return c.close();
        c.enqueue(counter.pulls < n ? contentEvents(1, counter.pulls).bytes : enc.encode('data: [DONE]\n\n'));
        counter.pulls++;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, counter };
}

const pump = (upstream: ReadableStream<Uint8Array>) => {
  const transform = withoutUsageChunk();
  return transformPump(
    {
      upstream,
      mode: { transform },
      client: CHAT_FRAMING,
      startedAt: Date.now(),
      clientSignal: new AbortController().signal,
      keepaliveMs: 60_000,
      idleTimeoutMs: 60_000,
    },
    transform,
  );
};

describe('the transform stage', () => {
  it('reads the upstream only as fast as the client takes what it wrote', async () => {
    const { stream, counter } = countedUpstream(50);
    const { readable, outcome } = pump(stream);
    await sleep(50); // nobody reads: one write waits on the client, and no read comes after it
    expect(counter.pulls).toBeLessThanOrEqual(2);
    const reader = readable.getReader();
    let text = '';
    for (let taken = 1; taken <= 10; taken++) {
      const { value } = await reader.read();
      text += dec.decode(value);
      await sleep(5);
      expect(counter.pulls).toBeLessThanOrEqual(taken + 2);
    }
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    // Nothing was lost or reordered on the way.
    const sent = contentEvents(50);
    expect(text).toBe(dec.decode(sent.bytes) + 'data: [DONE]\n\n');
    const result = await outcome;
    expect(result.status).toBe('success');
    expect(result.completion.content).toBe(sent.text);
  });
});
