/**
 * The one stream model. A provider's decoder turns its wire format into these events; a client
 * dialect's encoder turns them into its own; the books fold them into a `Completion`. So N
 * upstream formats and M client dialects meet here, instead of in N × M transcoders.
 */
import type { FinishReason, StreamError, TokenUsage } from './completion';

export type StreamEvent =
  /** The answer starts: the provider's id for it (its message or response id), if it gave one. */
  | { type: 'start'; id: string | null }
  /** A piece of the answer's text. */
  | { type: 'text'; text: string }
  /** A piece of the model's reasoning, where the provider streams it. */
  | { type: 'reasoning'; text: string }
  /** A tool call starts: `index` counts tool calls from 0, in the order they start. */
  | { type: 'tool_call'; index: number; id: string; name: string }
  /** A fragment of a tool call's JSON arguments. */
  | { type: 'tool_args'; index: number; args: string }
  /** Usage so far, whole (a later one replaces it). */
  | { type: 'usage'; usage: TokenUsage }
  | { type: 'finish'; reason: FinishReason }
  /** The upstream reported a failure in-band. */
  | { type: 'error'; error: StreamError }
  /** The upstream's terminal event: the answer is whole. */
  | { type: 'done' };
