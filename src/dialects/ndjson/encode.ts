import type { FinishReason, PriceOf, StreamError, TokenUsage } from '../../core/completion';
import type { ErrorBody } from '../../errors';
import type { Encoder } from '../../streaming/codec';
import { concatBytes, records } from '../../lib/bytes';
import { costFields } from '../cost';
import { type BufferConfig, tokenBuffer } from './coalesce';
import type { NdjsonChunk, NdjsonEvent, NdjsonUsage } from './events';

const utf8 = new TextEncoder();

/** One event as its line. JSON escapes every newline inside a string, so the only one is the last. */
const line = (event: NdjsonEvent) => `${JSON.stringify(event)}\n`;
const chunk = (data: NdjsonChunk) => line({ type: 'chunk', data, metadata: {} });

/**
 * The keep-alive: a blank line. NDJSON has no comment syntax, and its readers skip empty lines,
 * so a consumer never meets a keep-alive as an event it must recognise (a `heartbeat` event
 * would be a type every consumer has to know to ignore).
 */
export const KEEPALIVE = utf8.encode('\n');

/** Numbers the lines in `bytes` from `first`: each event gets its `seq` as its last field. */
export function numberLines(bytes: Uint8Array, first: number): Uint8Array[] {
  let seq = first;
  // Each line is one JSON object: its closing brace and line feed give way to the number.
  return records(bytes, false).map((l) => concatBytes([l.subarray(0, -2), utf8.encode(`,"seq":${seq++}}\n`)]));
}

export interface NdjsonEncoderOptions {
  jobId: string;
  callId: string;
  /** The alias the client asked for. */
  model: string;
  /** The model the upstream serves it with. */
  upstreamModel: string;
  /** When given, the `done` line's usage carries `cost_usd` and `credits` as it returns them. */
  cost?: PriceOf;
  /** When given, text is coalesced into fewer `token` lines by these rules (coalesce.ts). */
  buffer?: BufferConfig;
}

/** The usage as the `done` line reports it: the token classes apart, and the price when known. */
export function ndjsonUsage(u: TokenUsage, cost?: PriceOf): NdjsonUsage {
  const usage: NdjsonUsage = {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    cached_tokens: u.cachedInput,
    reasoning_tokens: u.reasoning,
    total_tokens: u.input + u.output,
  };
  return { ...usage, ...costFields(u, cost) };
}

/** The encoder, and the error line the pump writes for a failure of its own (`ClientFraming.error`). */
export interface NdjsonEncoder extends Encoder {
  failure(error: ErrorBody['error']): Uint8Array;
}

/**
 * Stream events as NDJSON lines: `metadata` first, before anything else this stream writes
 * (an error included), then a `token` for each piece of text and a `chunk` for each piece of
 * reasoning or of a tool call, in the order they came, then `done` with the finish reason and
 * the usage (both wait for it: some upstreams send their usage after their finish). An error
 * is the last line: the transcoder writes nothing after one, so no `done` follows it.
 */
export function ndjsonEncoder(opts: NdjsonEncoderOptions): NdjsonEncoder {
  let opened = false;
  let reason: FinishReason | null = null;
  let usage: TokenUsage | null = null;
  const buffer = opts.buffer ? tokenBuffer(opts.buffer) : null;
  const token = (text: string | null) => (text ? line({ type: 'token', data: text, metadata: {} }) : '');
  /** Held text goes out before anything else is written. */
  const held = () => (buffer ? token(buffer.drain()) : '');

  /** The metadata line the first time this stream writes anything, then nothing. */
  const opening = (): string => {
    if (opened) return '';
    opened = true;
    return line({
      type: 'metadata',
      data: '',
      metadata: { job_id: opts.jobId, call_id: opts.callId, model: opts.model, upstream_model: opts.upstreamModel },
    });
  };
  const errorLine = (message: string, type: string, code: string | null) =>
    utf8.encode(opening() + held() + line({ type: 'error', data: message, metadata: { type, code } }));

  return {
    encode(events) {
      let out = opening();
      for (const e of events) {
        switch (e.type) {
          case 'text':
            out += buffer ? token(buffer.push(e.text)) : token(e.text);
            break;
          case 'reasoning':
            out += held() + chunk({ reasoning: e.text });
            break;
          case 'tool_call':
            out += held() + chunk({ tool_call: { index: e.index, id: e.id, name: e.name } });
            break;
          case 'tool_args':
            out += held() + chunk({ tool_args: { index: e.index, args: e.args } });
            break;
          case 'finish':
            reason = e.reason;
            break;
          case 'usage':
            usage = e.usage;
            break;
          case 'done': {
            const reported = usage && ndjsonUsage(usage, opts.cost);
            out += held() + line({ type: 'done', data: '', metadata: { finish_reason: reason, usage: reported } });
            break;
          }
          case 'start': // the metadata line has said who answers
          case 'error': // written by `error`, which the transcoder calls instead
            break;
        }
      }
      return out ? [utf8.encode(out)] : [];
    },
    // The upstream's own failure: its code kept, typed as an upstream error like the REST API's.
    error: (error: StreamError) => errorLine(error.message, 'upstream_error', error.code ?? null),
    failure: (error) => errorLine(error.message, error.type, error.code),
  };
}
