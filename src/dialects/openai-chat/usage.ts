import type { TokenUsage } from '../../core/completion';

/** OpenAI's usage object, as chat completions report it. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
}

/** OpenAI's usage: its prompt includes cached tokens, its completion includes reasoning. */
export const fromChatUsage = (u: ChatUsage): TokenUsage => ({
  input: u.prompt_tokens ?? 0,
  cachedInput: u.prompt_tokens_details?.cached_tokens ?? 0,
  cacheWrite: 0,
  output: u.completion_tokens ?? 0,
  reasoning: u.completion_tokens_details?.reasoning_tokens ?? 0,
});

/** The usage as OpenAI's chat dialect reports it (totals only: details are added where they are known). */
export const toChatUsage = (u: TokenUsage): ChatUsage => ({
  prompt_tokens: u.input,
  completion_tokens: u.output,
  total_tokens: u.input + u.output,
});
