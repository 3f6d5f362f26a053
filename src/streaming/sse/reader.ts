import { type EventSourceMessage, createParser } from 'eventsource-parser';
import type { StreamError } from '../../core/completion';

/**
 * The one SSE reader: bytes in, events out. Fragments may split anywhere (inside a UTF-8
 * sequence, a JSON value, `data:` or `\r\n`); comments such as keep-alives are skipped.
 */
export interface SseReader {
  push(bytes: Uint8Array): void;
  /** The stream ended: a last event without its blank line still counts. Calling it again does nothing. */
  end(): void;
}

export function sseReader(onEvent: (event: EventSourceMessage) => void): SseReader {
  const decoder = new TextDecoder();
  const parser = createParser({ onEvent });
  return {
    push(bytes) {
      parser.feed(decoder.decode(bytes, { stream: true }));
    },
    end() {
      parser.feed(decoder.decode());
      parser.feed('\n\n');
    },
  };
}

/** What an upstream that sends something other than JSON in an event's data has done. */
export const MALFORMED_EVENT: StreamError = {
  message: 'Upstream sent malformed JSON in its stream',
  code: 'upstream_malformed',
};

/** An event's `data` as JSON, or `MALFORMED_EVENT` when it is not JSON. */
export function eventJson(data: string): { json: unknown } | { error: StreamError } {
  try {
    return { json: JSON.parse(data) as unknown };
  } catch {
    return { error: MALFORMED_EVENT };
  }
}
