/**
 * Counting a prompt's input tokens without making a call (`/v1/messages/count_tokens`). The
 * request uses the key's request allowance like any other, so counting cannot be used to reach
 * a provider unmetered; the provider's own count endpoint answers where it has one, and Sluice's
 * tokenizer everywhere else, or when the provider cannot answer.
 */
import type { Caller } from '../auth/caller';
import { countPromptTokens } from '../billing/tokens';
import { modelForKey, modelNotAllowed, requireModel } from '../catalog/models';
import type { ChatParams } from '../core/chat-params';
import { providers } from '../providers/registry';
import type { NativeRequest } from '../providers/types';
import type { CallDeps } from './open';
import { countRequest } from './limits';

export interface PromptCount {
  inputTokens: number;
  /** Who counted: the provider (exact for its model) or Sluice's tokenizer (an estimate). */
  countedBy: 'provider' | 'sluice';
}

export async function countInputTokens(
  deps: Pick<CallDeps, 'd1' | 'accounts' | 'config'>,
  caller: Caller,
  alias: string,
  prompt: Pick<ChatParams, 'messages' | 'tools' | 'tool_choice'>,
  native?: NativeRequest,
): Promise<PromptCount> {
  const found = await countRequest(deps, caller, modelForKey(caller.keyHash, alias));
  const model = requireModel(found?.model, alias);
  if (!found!.allowed) throw modelNotAllowed(alias);
  const provider = providers[model.provider];
  if (provider?.countTokens) {
    const signal = AbortSignal.timeout(deps.config.upstreamTimeoutMs);
    try {
      return {
        inputTokens: await provider.countTokens(model, prompt, deps.config, signal, native),
        countedBy: 'provider',
      };
    } catch (err) {
      console.warn(
        JSON.stringify({ msg: 'provider token count failed; counted by Sluice', model: alias, error: String(err) }),
      );
    }
  }
  return { inputTokens: await countPromptTokens(prompt), countedBy: 'sluice' };
}
