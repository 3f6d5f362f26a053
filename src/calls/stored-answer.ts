import type { ToolCall } from '../core/completion';

/**
 * The most of an answer a call row stores: its text and its tool calls' JSON together, in UTF-8
 * bytes. A D1 row holds at most 2,000,000 bytes, and the books are one batch: had the row been
 * refused, the charge, the slot's release and the job's end would all have been lost with it.
 * So the stored copy is cut to fit and marked; the client's stream never is.
 */
export const STORED_ANSWER_MAX_BYTES = 1_000_000;

export interface StoredAnswer {
  content: string;
  toolCalls: ToolCall[];
  /** Whether anything was cut. */
  truncated: boolean;
}

const encoder = new TextEncoder();

/** The longest prefix of `text` within `maxBytes` of UTF-8, cut between characters. */
function utf8Prefix(text: string, maxBytes: number): string {
  // One UTF-16 unit is at most 3 UTF-8 bytes, so most answers need no encoding to know they fit.
  if (text.length * 3 <= maxBytes) return text;
  // encodeInto writes whole characters only, and says how much of the string that was.
  const { read } = encoder.encodeInto(text, new Uint8Array(Math.max(0, maxBytes)));
  return read === text.length ? text : text.slice(0, read);
}

const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).byteLength;

/**
 * Tool calls within `maxBytes` of JSON: each call's arguments cut to an equal share. Names and
 * ids are kept as they are; if they alone do not fit, no call is kept.
 */
function toolCallsWithin(calls: ToolCall[], maxBytes: number): ToolCall[] {
  const emptied = calls.map((c) => ({ ...c, function: { ...c.function, arguments: '' } }));
  const room = maxBytes - jsonBytes(emptied);
  if (room <= 0) return [];
  // JSON escaping can grow the text, so a share is cut in characters, measured, and halved until it fits.
  for (let share = Math.floor(room / calls.length); share > 0; share = Math.floor(share / 2)) {
    const cut = calls.map((c, i) => ({
      ...emptied[i]!,
      function: { ...c.function, arguments: utf8Prefix(c.function.arguments, share) },
    }));
    if (jsonBytes(cut) <= maxBytes) return cut;
  }
  return emptied;
}

/**
 * What the call row keeps of an answer: all of it when it fits in `maxBytes`. Otherwise the
 * text and the tool calls share the room: either one keeps what it needs of it if that is at
 * most half, and each is cut from its end.
 */
export function storedAnswer(content: string, toolCalls: ToolCall[], maxBytes = STORED_ANSWER_MAX_BYTES): StoredAnswer {
  const callsBytes = toolCalls.length ? jsonBytes(toolCalls) : 0;
  if (callsBytes <= maxBytes && utf8Prefix(content, maxBytes - callsBytes) === content) {
    return { content, toolCalls, truncated: false };
  }
  const half = Math.floor(maxBytes / 2);
  const callsRoom = utf8Prefix(content, half) === content ? maxBytes - encoder.encode(content).byteLength : half;
  const calls = callsBytes <= callsRoom ? toolCalls : toolCallsWithin(toolCalls, callsRoom);
  const text = utf8Prefix(content, maxBytes - (calls.length ? jsonBytes(calls) : 0));
  return { content: text, toolCalls: calls, truncated: true };
}
