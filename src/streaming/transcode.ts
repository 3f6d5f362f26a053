import type { ChatCompletionChunk, ChunkChoice } from '../core/chat-chunk';
import type { FinishReason, StreamError, Usage } from '../core/completion';
import { CompletionAccumulator } from './accumulate';
import type { Transcoder } from './pump/types';
import { DONE, encodeData, encodeError } from './sse/encode';
import { eventJson, sseReader } from './sse/reader';

export type Delta = ChunkChoice['delta'];

const EMPTY = new Uint8Array(0);

/**
 * Writes OpenAI `chat.completion.chunk` events for one transcoded stream and folds each into
 * the completion it spells out, so the books never re-parse what went to the client.
 */
export class ChunkEmitter {
  readonly acc = new CompletionAccumulator();
  /** Set by the provider from its first event (its message or response id). */
  id = '';

  constructor(
    readonly model: string,
    readonly created: number,
    /** Whether the client gets the usage chunk; the completion keeps the usage either way. */
    readonly includeUsage = true,
  ) {}

  chunk(delta: Delta, finishReason: FinishReason | null = null): Uint8Array {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
    this.acc.add(chunk);
    return encodeData(chunk);
  }

  /** The closing usage chunk (`choices: []`), as OpenAI sends with `include_usage`. */
  usage(usage: Usage): Uint8Array {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    };
    this.acc.add(chunk);
    return this.includeUsage ? encodeData(chunk) : EMPTY;
  }

  done(): Uint8Array {
    this.acc.markDone();
    return DONE;
  }

  /** The provider's in-band error, in the shape OpenAI SDKs raise as an APIError. */
  error(error: StreamError): Uint8Array {
    this.acc.markError({ ...error, sent: true });
    return encodeError({
      error: { message: error.message, type: 'upstream_error', code: error.code ?? null, param: null },
    });
  }
}

/**
 * What a provider contributes: its reading of one SSE `data:` payload (`E` is the provider's
 * event shape, trusted as parsed), and of the end of the stream.
 */
export interface EventHandler<E> {
  /** Bytes to send for one parsed event; `fail` ends the stream with an in-band error. */
  onEvent(event: E, fail: (error: StreamError) => Uint8Array): Uint8Array | Uint8Array[] | null;
  /** Bytes the end of the stream implies (not called after an error). */
  onEnd?(): Uint8Array | Uint8Array[] | null;
}

/**
 * A Transcoder over SSE: the SSE reader splits events, each `data:` is JSON-parsed once and
 * handed to the provider. The first error (the provider's own or malformed JSON) goes out
 * in-band and everything after it is ignored, so the client never sees chunks after an error or
 * a `[DONE]` after a failure.
 */
export function sseTranscoder<E>(emitter: ChunkEmitter, handler: EventHandler<E>): Transcoder {
  let out: Uint8Array[] = [];
  let failed = false;

  const emit = (bytes: Uint8Array | Uint8Array[] | null) => {
    if (!bytes) return;
    if (Array.isArray(bytes)) out.push(...bytes);
    else out.push(bytes);
  };
  const fail = (error: StreamError) => {
    failed = true;
    return emitter.error(error);
  };
  const reader = sseReader((event) => {
    if (failed) return;
    const parsed = eventJson(event.data);
    if ('error' in parsed) return emit(fail(parsed.error));
    if (parsed.json && typeof parsed.json === 'object') emit(handler.onEvent(parsed.json as E, fail));
  });
  const drain = (): Uint8Array | null => {
    if (out.length === 0) return null;
    const bytes = out.length === 1 ? out[0]! : concat(out);
    out = [];
    return bytes;
  };

  return {
    push(bytes) {
      reader.push(bytes);
      return drain();
    },
    flush() {
      reader.end();
      if (!failed) emit(handler.onEnd?.() ?? null);
      return drain();
    },
    result: () => emitter.acc.result(),
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return all;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
