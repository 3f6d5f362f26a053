import { describe, expect, it } from 'vitest';
import { BooksCopy } from '../../src/streaming/relay';

const enc = new TextEncoder();

/** An OpenAI-format stream of `n` content chunks, each `t<i> ` padded to about 500 bytes. */
function sse(n: number): { bytes: Uint8Array; text: string } {
  let body = '';
  let text = '';
  for (let i = 0; i < n; i++) {
    const token = `t${i} `;
    text += token;
    body += `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: token }, finish_reason: null }], pad: 'x'.repeat(400) })}\n\n`;
  }
  return { bytes: enc.encode(body), text };
}

/** A byte stream that has `bytes` waiting and stays open, like a tee branch that lags. */
const waiting = (bytes: Uint8Array) =>
  new ReadableStream({
    type: 'bytes',
    start(controller) {
      controller.enqueue(bytes);
    },
  });

describe("the books' copy of a relayed stream", () => {
  it('takes everything waiting at once when it is more than one read holds, without waiting for the next tick', async () => {
    // About 300 KB waiting: several 64 KiB reads' worth. The next tick would come after a minute.
    const { bytes, text } = sse(600);
    const size = bytes.byteLength; // enqueuing transfers the buffer
    expect(size).toBeGreaterThan(4 * 64 * 1024);
    const books = new BooksCopy(waiting(bytes), new Uint8Array(0));
    books.start(60_000);
    for (let i = 0; i < 100 && books.completion().content !== text; i++) await new Promise((r) => setTimeout(r, 10));
    expect(books.completion().content).toBe(text);
    expect(books.reads).toBe(Math.ceil(size / (64 * 1024)));
    await books.drainAndCancel();
  });

  it('reads a slow stream once per tick: what arrives later waits for the next read', async () => {
    let controller!: ReadableByteStreamController;
    const stream = new ReadableStream({
      type: 'bytes',
      start(c) {
        controller = c;
      },
    });
    const first = sse(1);
    controller.enqueue(first.bytes);
    const books = new BooksCopy(stream, new Uint8Array(0));
    books.start(60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(books.reads).toBe(1);
    controller.enqueue(sse(2).bytes); // arrives after the first read, well before the next tick
    await new Promise((r) => setTimeout(r, 50));
    expect(books.reads).toBe(1);
    controller.close();
    await books.readToEnd(); // the rest, once the stream is over
    expect(books.completion().content).toBe(`${first.text}t0 t1 `);
    expect(books.reads).toBe(2);
  });
});
