import { describe, expect, it } from 'vitest';
import { openAIChatDecoder } from '../../../src/dialects/openai-chat/decode';
import { CHAT_FRAMING } from '../../../src/dialects/openai-chat/dialect';
import { BooksCopy } from '../../../src/streaming/pump/books-copy';
import { relayPump } from '../../../src/streaming/pump/relay';
import { contentEvents } from '../../support/fixtures';

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A byte stream the test feeds by hand, like a tee branch behind the client's. */
function branch() {
  let controller!: ReadableByteStreamController;
  const stream = new ReadableStream({
    type: 'bytes',
    start(c) {
      controller = c;
    },
  });
  return { stream, controller };
}

describe("the books' copy of a relayed stream", () => {
  it('reads once per tick: what arrives between ticks waits, and is read in one go later', async () => {
    const { stream, controller } = branch();
    const first = contentEvents(1);
    controller.enqueue(first.bytes);
    const books = new BooksCopy(stream, new Uint8Array(0), openAIChatDecoder());
    books.start(60_000);
    await sleep(20);
    expect(books.reads).toBe(1);
    const later = [contentEvents(2, 1), contentEvents(3, 3)];
    for (const part of later) controller.enqueue(part.bytes); // well before the next tick
    await sleep(50);
    expect(books.reads).toBe(1);
    expect(books.completion().content).toBe(first.text);

    controller.close();
    await books.readToEnd();
    expect(books.completion().content).toBe(first.text + later.map((p) => p.text).join(''));
    expect(books.reads).toBe(2); // both later parts in one read
  });

  it('reads a backlog into buffers that start at 8 KiB and double after each full read, up to 64 KiB', async () => {
    const { stream, controller } = branch();
    const { bytes, text } = contentEvents(1400);
    const size = bytes.byteLength; // enqueuing transfers the buffer
    // Reads of 8, 16, 32, 64, 64 and 64 KiB hold 248 KiB; the first five only 184.
    expect(size).toBeGreaterThan(184 * 1024);
    expect(size).toBeLessThanOrEqual(248 * 1024);
    controller.enqueue(bytes);
    controller.close();
    const books = new BooksCopy(stream, new Uint8Array(0), openAIChatDecoder());
    await books.readToEnd();
    expect(books.completion().content).toBe(text);
    expect(books.reads).toBe(6);
  });
});

describe('the books of a relayed stream whose client leaves at once', () => {
  it('keep the first chunk, written or not, and close the upstream', async () => {
    const { bytes, text } = contentEvents(3);
    let upstreamCancelled = false;
    // The whole answer in one chunk, then the connection lingers open.
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([...bytes, ...enc.encode('data: [DONE]\n\n')]));
      },
      cancel() {
        upstreamCancelled = true;
      },
    });
    const decoder = openAIChatDecoder();
    const pump = relayPump(
      {
        upstream,
        mode: { relay: decoder },
        client: CHAT_FRAMING,
        startedAt: Date.now(),
        clientSignal: new AbortController().signal,
        keepaliveMs: 15_000,
        idleTimeoutMs: 60_000,
      },
      decoder,
    );
    await pump.readable.cancel(); // before the first chunk is written: that write fails
    const outcome = await pump.outcome;
    expect(outcome.completion.content).toBe(text);
    expect(outcome.completion.done).toBe(true);
    expect(outcome.status).toBe('success'); // the answer was whole: charged like one
    expect(upstreamCancelled).toBe(true);
  });
});
