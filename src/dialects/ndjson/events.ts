/**
 * The lines of Sluice's NDJSON stream, one JSON object each, every one with the same three keys:
 * `type` says what it is, `data` carries its payload (a string where the payload is text),
 * `metadata` the facts around it (`{}` when there are none). The typed client's own copy of
 * these types (src/client/types.ts) is checked against this one by test/client/types.test.ts.
 */
import type { FinishReason } from '../../core/completion';

/** What a call used, as the `done` line reports it. */
export interface NdjsonUsage {
  /** Every prompt token, cache reads and writes included. */
  prompt_tokens: number;
  /** Every output token, reasoning included. */
  completion_tokens: number;
  /** Of `prompt_tokens`, read from the provider's prompt cache. */
  cached_tokens: number;
  /** Of `completion_tokens`, the model's reasoning. */
  reasoning_tokens: number;
  total_tokens: number;
  /** The call's price, when the stream was given a way to price it. */
  cost_usd?: number;
  credits?: number;
}

/**
 * A part of the answer that is not its text, one key saying which. Text is never a chunk (it
 * is `token`), so a reader that only wants the text can ignore chunks whole.
 */
export type NdjsonChunk =
  /** A piece of the model's reasoning, where the provider streams it. */
  | { reasoning: string }
  /**
   * A tool call starts: `index` counts tool calls from 0 in the order they start. A later one
   * with the same index carries more of its name (some OpenAI-compatible servers split it).
   */
  | { tool_call: { index: number; id: string; name: string } }
  /** A fragment of that tool call's JSON arguments: concatenated in order, they are the whole. */
  | { tool_args: { index: number; args: string } };

/** Who is answering: the first line of every stream. */
export interface NdjsonCallInfo {
  job_id: string;
  call_id: string;
  /** The alias the client asked for. */
  model: string;
  /** The model the upstream serves it with. */
  upstream_model: string;
}

type Line<T extends string, D, M> = { type: T; data: D; metadata: M };

export type NdjsonEvent =
  | Line<'metadata', '', NdjsonCallInfo>
  | Line<'token', string, Record<string, never>>
  | Line<'chunk', NdjsonChunk, Record<string, never>>
  /** The answer is whole; `usage` is null when the upstream reported none (the call's books count it then). */
  | Line<'done', '', { finish_reason: FinishReason | null; usage: NdjsonUsage | null }>
  /** The stream failed after the 200: the last line, never followed by `done`. */
  | Line<'error', string, { type: string; code: string | null }>;

/** The format in a sentence or two, for the OpenAPI document of the routes that stream it. */
export const NDJSON_FORMAT =
  'One JSON object a line, each `{type, data, metadata}`: `metadata` (job_id, call_id, model, upstream_model), ' +
  'then `token` (data: a piece of the text) and `chunk` (data: {reasoning}, {tool_call: {index, id, name}} or ' +
  '{tool_args: {index, args}}) in the order they came, then `done` (metadata: finish_reason and usage) or, ' +
  'on failure, `error` (data: the message; metadata: type and code), never both. Blank lines are keep-alives.';
