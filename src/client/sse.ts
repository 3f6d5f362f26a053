/**
 * Server-Sent Events decoding in three small pieces, each usable and testable alone:
 * bytes -> text (`TextDecoder` in streaming mode, so a UTF-8 sequence may straddle chunks),
 * text -> lines (`LineSplitter`: `\n`, `\r\n` and `\r`, split anywhere), lines -> events
 * (`EventAssembler`, the WHATWG rules: comments, `field: value`, multi-line `data`).
 */

/**
 * One decoded event.
 *
 * @example
 * const ev: ServerSentEvent = { event: null, data: '{"id":"chatcmpl-1"}', id: null };
 */
export interface ServerSentEvent {
  /** The `event:` field, or `null` for the default `message` event. */
  event: string | null;
  /** The `data:` lines joined with `\n`. */
  data: string;
  id: string | null;
  /** The `retry:` field in milliseconds, when the server sent one. */
  retry?: number;
}

const LF = 10;
const CR = 13;

/**
 * Cuts text into lines across chunk boundaries. A `\r` that ends one chunk and a `\n` that
 * starts the next are one line ending, not two. Only the unfinished last line is kept.
 *
 * @example
 * const lines = new LineSplitter();
 * lines.push('data: a\r'); // ['data: a']
 * lines.push('\ndata: b\n'); // ['data: b']
 */
export class LineSplitter {
  #partial = '';
  #afterCR = false;

  /** The lines completed by `text`, without their line endings. */
  push(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    if (this.#afterCR && text.length > 0) {
      if (text.charCodeAt(0) === LF) start = 1;
      this.#afterCR = false;
    }
    for (let i = start; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== LF && ch !== CR) continue;
      lines.push(this.#partial + text.slice(start, i));
      this.#partial = '';
      if (ch === CR) {
        if (i + 1 === text.length) this.#afterCR = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
    }
    if (start < text.length) this.#partial += text.slice(start);
    return lines;
  }

  /** The unfinished last line, if any (at the end of the stream). */
  flush(): string[] {
    const rest = this.#partial;
    this.#partial = '';
    this.#afterCR = false;
    return rest ? [rest] : [];
  }
}

/**
 * Builds events from lines: `:` starts a comment (keep-alives such as `: ping`), a blank line
 * dispatches the event, `data` lines accumulate, unknown fields are ignored.
 *
 * @example
 * const events = new EventAssembler();
 * events.line('data: {"a":1}'); // null
 * events.line(''); // { event: null, data: '{"a":1}', id: null }
 */
export class EventAssembler {
  #data: string[] = [];
  #event: string | null = null;
  #id: string | null = null;
  #retry: number | undefined;

  /** Feeds one line; returns the event it completes, if any. */
  line(line: string): ServerSentEvent | null {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === 58 /* : */) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
    }
    return null;
  }

  /** Completes the pending event (a blank line, or the end of the stream); `null` if it had no data. */
  dispatch(): ServerSentEvent | null {
    const hasData = this.#data.length > 0;
    const ev: ServerSentEvent = { event: this.#event, data: this.#data.join('\n'), id: this.#id };
    if (this.#retry !== undefined) ev.retry = this.#retry;
    this.#data = [];
    this.#event = null;
    this.#retry = undefined;
    // `id` persists across events, as the spec says (it is the last event id seen).
    return hasData ? ev : null;
  }
}

/**
 * A whole decoder: feed it the body's byte chunks as they arrive, then call `end()`.
 *
 * @example
 * const decoder = createSSEDecoder();
 * const reader = response.body!.getReader();
 * for (;;) {
 *   const { done, value } = await reader.read();
 *   for (const ev of done ? decoder.end() : decoder.decode(value)) console.log(ev.data);
 *   if (done) break;
 * }
 */
export function createSSEDecoder() {
  const text = new TextDecoder('utf-8');
  const lines = new LineSplitter();
  const events = new EventAssembler();
  const feed = (input: string[], out: ServerSentEvent[]) => {
    for (const line of input) {
      const ev = events.line(line);
      if (ev) out.push(ev);
    }
    return out;
  };
  return {
    /** The events completed by this chunk of bytes. */
    decode(bytes: Uint8Array): ServerSentEvent[] {
      return feed(lines.push(text.decode(bytes, { stream: true })), []);
    },
    /**
     * The events left at the end of the stream. An event missing its final blank line is still
     * delivered (the spec would drop it; a server cut short mid-event is better surfaced).
     */
    end(): ServerSentEvent[] {
      const out = feed(lines.push(text.decode()), []);
      feed(lines.flush(), out);
      const last = events.dispatch();
      if (last) out.push(last);
      return out;
    },
  };
}
