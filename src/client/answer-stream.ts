/**
 * What every streamed answer of the client shares, whatever its format: the response it arrived
 * on and the ids it names, the items read off it (across connections, for a resumable call), and
 * the totals the helpers return. A format says how one connection's bytes become items and what
 * each item adds to the totals.
 */
import type { Sent } from './http.js';
import { type BodyFormat, type Resumption, type StreamSource, readStream } from './stream-body.js';
import type { FinishReason, ToolCall } from './types.js';

export abstract class AnswerStream<T, R, U> implements AsyncIterable<T> {
  /** The HTTP response (status 200; its body is this stream, or its start when the stream attached again). */
  readonly response: Response;
  /** The job the call belongs to (`x-job-id`); for `createAndCallStream`, the job it created (from `resume()` too). */
  readonly jobId: string | null;
  /** The call's id (`x-call-id`). */
  readonly callId: string | null;
  /** The gateway's `x-request-id`. */
  readonly requestId: string | null;
  /** Whether a dropped connection is followed by a new one (the gateway runs the call on its own). */
  readonly resumable: boolean;

  protected answerText = '';
  protected usage: U | null = null;
  protected finish: FinishReason | null = null;
  protected calls: ToolCall[] = [];

  readonly #source: StreamSource<T>;
  readonly #items: AsyncGenerator<T, void, undefined>;

  /** `before`: what the stream ends before when it breaks off (for the error that says so). */
  protected constructor(sent: Sent, resumption: Resumption | null, before: string) {
    this.response = sent.response;
    this.jobId = sent.response.headers.get('x-job-id');
    this.callId = sent.response.headers.get('x-call-id');
    this.requestId = sent.response.headers.get('x-request-id');
    this.resumable = resumption !== null;
    this.#source = readStream(sent, this.requestId, () => this.format(), before, resumption);
    this.#items = this.#read();
  }

  /** How one connection's bytes become items (a fresh decoder each: a drop may cut an item). */
  protected abstract format(): BodyFormat<R, T>;

  /** What one item adds to the totals. */
  protected abstract take(item: T): void;

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#items;
  }

  /** The whole text of the answer, reading the rest of the stream first. */
  async text(): Promise<string> {
    await this.#drain();
    return this.answerText;
  }

  /** The usage the stream reported, reading the rest of it first; `null` if none came. */
  async finalUsage(): Promise<U | null> {
    await this.#drain();
    return this.usage;
  }

  /** The tool calls the model made, assembled, reading the rest of the stream first. */
  async toolCalls(): Promise<ToolCall[]> {
    await this.#drain();
    return this.calls.filter(Boolean);
  }

  /** The finish reason seen so far (`stop`, `length`, `tool_calls`...), or `null`. */
  get finishReason(): FinishReason | null {
    return this.finish;
  }

  /** The number of the last event read, which a reader attaching again starts after; `null` on a stream that is not resumable. */
  get lastEventId(): number | null {
    return this.#source.lastEventId;
  }

  /** Stops reading and closes the request; a pending or later read throws `APIUserAbortError`. */
  abort(): void {
    this.#source.abort();
  }

  async #drain(): Promise<void> {
    for (;;) if ((await this.#items.next()).done) return;
  }

  async *#read(): AsyncGenerator<T, void, undefined> {
    for await (const item of this.#source.items) {
      this.take(item);
      yield item;
    }
  }
}
