/** OpenAI `chat.completion.chunk` shapes as Sluice emits and reads them. */

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChunkChoice {
  index: number;
  delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[]; refusal?: string | null };
  finish_reason: FinishReason | null;
  logprobs?: null;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
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
  error: {
    message: string;
    type?: string;
    code?: string | null;
    /** The client already got an error event for it (the upstream's own, or a transcoder's). */
    sent?: boolean;
  } | null;
}
