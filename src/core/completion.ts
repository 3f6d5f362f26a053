/**
 * The vocabulary every layer shares: what an answer is made of and what it used. Streaming
 * builds these, providers and billing read them, storage records them; this module imports
 * nothing, so no arrow runs back up from here.
 */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

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
  usage: Usage | null;
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
