import { concatBytes } from '../../lib/bytes';
import { sseId } from './encode';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

/**
 * An upstream's own SSE events, each numbered, for a stream that reaches its client event by
 * event as the upstream wrote it (a resumable call whose upstream speaks the client's dialect):
 * no event is decoded on the way, so the client gets every field the upstream sent and the
 * gateway spends no parse on it.
 */
export interface EventRelay {
  /** The events these bytes complete, numbered from `first`. */
  push(bytes: Uint8Array, first: number): Uint8Array[];
  /** The stream ended: an event it left without its blank line, numbered `first`, if any. */
  end(first: number): Uint8Array[];
}

const I = 0x69;
const D = 0x64;

/** Whether a line (from its first byte) is an `id` field. */
const isId = (b: Uint8Array, at: number) =>
  b[at] === I && b[at + 1] === D && (b[at + 2] === COLON || b[at + 2] === LF || b[at + 2] === CR);

/** What a block's lines hold: nothing but comments (an upstream's keep-alive), an `id` field of its own. */
function linesOf(block: Uint8Array): { onlyComments: boolean; id: boolean } {
  let onlyComments = true;
  let id = false;
  for (let at = 0; at < block.length;) {
    if (block[at] !== COLON && block[at] !== LF && block[at] !== CR) onlyComments = false;
    if (isId(block, at)) id = true;
    const lf = block.indexOf(LF, at);
    if (lf < 0) break;
    at = lf + 1;
  }
  return { onlyComments, id };
}

/** A block less its `id` lines. */
function withoutIds(block: Uint8Array): Uint8Array {
  const kept: Uint8Array[] = [];
  for (let at = 0; at < block.length;) {
    const lf = block.indexOf(LF, at);
    const next = lf < 0 ? block.length : lf + 1;
    if (!isId(block, at)) kept.push(block.subarray(at, next));
    at = next;
  }
  return concatBytes(kept);
}

/**
 * Splits an SSE byte stream into its events as they came, each ending at its blank line (lines
 * end with LF or CRLF), and numbers each with an `id:` line. A fragment of an event waits for the
 * next push. Comment-only blocks are left out: the relaying side sends its own heartbeats, and
 * a keep-alive must not take a number. An upstream's own `id` lines are dropped: the last `id` of
 * an event is the one a reader sends back, and it must be the relay's. `keep` leaves out other
 * events the client did not ask for.
 */
export function sseRelay(keep: (event: Uint8Array) => boolean = () => true): EventRelay {
  /** Bytes of an event not yet whole. */
  let carry: Uint8Array | null = null;
  const numbered = (events: Uint8Array[], first: number) => {
    const out: Uint8Array[] = [];
    for (const e of events) {
      const lines = linesOf(e);
      if (lines.onlyComments || !keep(e)) continue;
      out.push(concatBytes([sseId(first + out.length), lines.id ? withoutIds(e) : e]));
    }
    return out;
  };
  return {
    push(bytes, first) {
      const buf = carry ? concatBytes([carry, bytes]) : bytes;
      const events: Uint8Array[] = [];
      let start = 0;
      // Blank lines between events belong to none of them.
      const skipBlank = () => {
        while (start < buf.length && (buf[start] === LF || buf[start] === CR)) start++;
      };
      if (!carry) skipBlank();
      // What was carried held no blank line: only its last two bytes can start one.
      for (let lf = buf.indexOf(LF, carry ? Math.max(0, carry.length - 2) : start); lf >= 0;) {
        const end = buf[lf + 1] === LF ? lf + 2 : buf[lf + 1] === CR && buf[lf + 2] === LF ? lf + 3 : -1;
        if (end >= 0) {
          events.push(buf.subarray(start, end));
          start = end;
          skipBlank();
        }
        lf = buf.indexOf(LF, end >= 0 ? start : lf + 1);
      }
      carry = start < buf.length ? buf.slice(start) : null;
      return numbered(events, first);
    },
    end(first) {
      const last = carry;
      carry = null;
      if (!last) return [];
      return numbered([concatBytes([last, last[last.length - 1] === LF ? LF_ONLY : BLANK])], first);
    },
  };
}

const LF_ONLY = new Uint8Array([LF]);
const BLANK = new Uint8Array([LF, LF]);
