/**
 * The vocabulary every layer shares: what an answer is made of and what it used. Streaming
 * builds these, providers and billing read them, storage records them; this module imports
 * nothing, so no arrow runs back up from here.
 */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/**
 * What a call used, by token class. Providers count these differently (OpenAI's prompt includes
 * its cached tokens, Anthropic's input excludes its cache reads and writes); every decoder
 * normalises to this, and every encoder writes its dialect's own counts from it.
 */
export interface TokenUsage {
  /** Every prompt token: cache reads and writes included. */
  input: number;
  /** Of `input`, read from the provider's prompt cache. */
  cachedInput: number;
  /** Of `input`, written to the provider's prompt cache. */
  cacheWrite: number;
  /** Every output token: reasoning included. */
  output: number;
  /** Of `output`, the model's reasoning (thinking) tokens. */
  reasoning: number;
}

export const NO_USAGE: Readonly<TokenUsage> = { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0 };

/** What a call costs: list-price USD, and the credits settlement charges for it. */
export interface CallCost {
  costUsd: number;
  credits: number;
}

/**
 * Prices a usage at the call's prices and its team's rates, for the final usage a client is
 * told; the books charge the same through the same arithmetic (billing/pricing.ts `callCost`).
 */
export type PriceOf = (usage: TokenUsage) => CallCost;

/** A usage with only its totals known. */
export const usageOf = (input: number, output: number): TokenUsage => ({ ...NO_USAGE, input, output });

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** What a whole stream amounts to once every chunk has been read. */
export interface Completion {
  id: string | null;
  content: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason | null;
  /** The provider's last word on usage (a later report replaces an earlier one, never adds to it). */
  usage: TokenUsage | null;
  /** The upstream's terminal `[DONE]` (or provider equivalent) was seen. */
  done: boolean;
  /** An in-band error event from the upstream. */
  error: StreamError | null;
}

export interface StreamError {
  message: string;
  type?: string;
  code?: string | null;
  /** The client already got an error event for it (the upstream's own, or a transcoder's). */
  sent?: boolean;
}

/** How a call ended, as its row records it. */
export type CallStatus = 'success' | 'error' | 'client_aborted';
