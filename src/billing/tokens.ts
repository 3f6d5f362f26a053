import { contentText } from '../providers/content';
import type { ChatParams } from '../core/chat-params';
import { type Completion, type TokenUsage, usageOf } from '../core/completion';

import { loadTokenizer } from '../tokenizer';

/**
 * A prompt's tokens, OpenAI's chat framing included, with the o200k_base tokenizer (gpt-4o's),
 * loaded on first use only: its rank tables are a separate ~1 MB (gzip) module that cold starts
 * never evaluate. For other providers' models the count is an estimate.
 */
export async function countPromptTokens(params: Pick<ChatParams, 'messages' | 'tools'>): Promise<number> {
  const { countTokens } = await loadTokenizer();
  // Each message costs its text plus ~3 framing tokens; every reply is primed with 3 more.
  let prompt = 3;
  for (const m of params.messages) {
    prompt += 3 + countTokens(contentText(m.content));
    if (m.role === 'assistant')
      for (const tc of m.tool_calls ?? []) prompt += countTokens(tc.function.name) + countTokens(tc.function.arguments);
  }
  if (params.tools?.length) prompt += countTokens(JSON.stringify(params.tools));
  return prompt;
}

/** Usage for a call whose upstream reported none, counted here and recorded as an estimate. */
export async function estimateUsage(params: ChatParams, completion: Completion): Promise<TokenUsage> {
  const { countTokens } = await loadTokenizer();
  let output = countTokens(completion.content);
  for (const tc of completion.toolCalls) output += countTokens(tc.function.name) + countTokens(tc.function.arguments);
  return usageOf(await countPromptTokens(params), output);
}

/**
 * A quick upper-side guess of a prompt's tokens for credit holds, before the call (no tokenizer
 * on the request path: one token is rarely shorter than three characters of English or code).
 */
export function roughPromptTokens(params: ChatParams): number {
  let chars = 0;
  for (const m of params.messages) chars += contentText(m.content).length + 12;
  if (params.tools?.length) chars += JSON.stringify(params.tools).length;
  return Math.ceil(chars / 3);
}
