import type { Env } from '../env';
import type { ChatParams } from '../schemas/chat';
import type { Provider, Target } from './types';

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** The request body every OpenAI-compatible server understands, usage always requested. */
export function openAIRequestBody(target: Target, params: ChatParams) {
  const { messages, temperature, max_tokens, stop, top_p, tools, tool_choice, response_format } = params;
  return {
    model: target.upstreamModel,
    messages,
    temperature,
    max_tokens,
    stop,
    top_p,
    tools,
    tool_choice,
    response_format,
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
  send(target: Target, params: ChatParams, env: Env, signal: AbortSignal) {
    const base = (target.baseUrl ?? env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (env.OPENAI_API_KEY) headers.authorization = `Bearer ${env.OPENAI_API_KEY}`;
    return fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(openAIRequestBody(target, params)),
      signal,
    });
  },
};
