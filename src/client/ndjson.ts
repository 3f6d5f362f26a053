/**
 * NDJSON decoding: bytes -> text (`TextDecoder` in streaming mode, so a UTF-8 sequence may
 * straddle chunks) -> lines (the SSE decoder's `LineSplitter`, so a line may be cut anywhere).
 * Blank lines are left out: they are what NDJSON readers skip, and Sluice's keep-alives.
 */
import { LineSplitter } from './sse.js';

const blank = (line: string) => line.trim() === '';

/**
 * A whole line decoder: feed it the body's byte chunks as they arrive, then call `end()`.
 * Each line is one JSON value, still as text.
 *
 * @example
 * const decoder = createNDJSONDecoder();
 * decoder.decode(new TextEncoder().encode('{"type":"token"')); // []
 * decoder.decode(new TextEncoder().encode(',"data":"Hi","metadata":{}}\n\n')); // ['{"type":"token","data":"Hi","metadata":{}}']
 */
export function createNDJSONDecoder() {
  const text = new TextDecoder('utf-8');
  const lines = new LineSplitter();
  return {
    /** The lines completed by this chunk of bytes. */
    decode(bytes: Uint8Array): string[] {
      return lines.push(text.decode(bytes, { stream: true })).filter((l) => !blank(l));
    },
    /** The lines left at the end of the stream: a last line without its newline still counts. */
    end(): string[] {
      return [...lines.push(text.decode()), ...lines.flush()].filter((l) => !blank(l));
    },
  };
}
