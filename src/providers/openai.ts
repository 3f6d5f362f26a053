import type { Config } from '../config';
import type { ChatParams } from '../core/chat-params';
import { baseUrlOf } from './base-url';
import type { Provider, Target } from './types';
import { openAIChatDecoder } from '../dialects/openai-chat/decode';

/** The request body every OpenAI-compatible server understands, usage always requested. */
export function openAIRequestBody(target: Target, params: ChatParams) {
  // Sluice's own parameters stay here: the alias becomes the upstream's model name, and
  // `purpose` labels the call in the books.
  const { model: _alias, purpose: _purpose, ...generation } = params;
  return {
    model: target.upstreamModel,
    ...generation,
    stream: true,
    stream_options: { include_usage: true },
  };
}

/**
 * OpenAI and every server that speaks its API (Ollama, vLLM, LiteLLM, Groq): the model's own
 * `base_url` wins over `OPENAI_BASE_URL`, which, like the official SDK's, includes `/v1`.
 * The stream is already in the format Sluice emits, so its bytes are forwarded untouched.
 */
export const openai: Provider = {
  name: 'openai',
  format: 'openai-chat',
  decoder: openAIChatDecoder,
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal) {
    const access = config.providers.openai;
    const base = baseUrlOf(target, access);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (access.apiKey) headers.authorization = `Bearer ${access.apiKey}`;
    return fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(openAIRequestBody(target, params)),
      signal,
    });
  },
};
