import type { Config } from '../config';
import type { ChatParams } from '../core/chat-params';
import type { ChatCompletionChunk } from '../dialects/openai-chat/chunk';
import type { FinishReason } from '../core/completion';
import { DONE, encodeData } from '../streaming/sse/encode';
import { contentText } from './content';
import type { Provider, Target } from './types';
import { openAIChatDecoder } from '../dialects/openai-chat/decode';

/** A deterministic reply: the same messages always produce the same tokens. */
export function mockReply(params: ChatParams): { tokens: string[]; finishReason: FinishReason; promptTokens: number } {
  const lastUser = [...params.messages].reverse().find((m) => m.role === 'user');
  const said = contentText(lastUser?.content).trim().split(/\s+/).filter(Boolean).slice(0, 12).join(' ');
  let text = `Hello from Sluice's mock model! You said: "${said}". This reply streams one token at a time, like a real model.`;
  let finishReason: FinishReason = 'stop';
  for (const s of typeof params.stop === 'string' ? [params.stop] : (params.stop ?? [])) {
    const at = text.indexOf(s);
    if (at >= 0) text = text.slice(0, at);
  }
  let tokens: string[] = text.match(/\s*\S+/g) ?? [];
  if (params.max_tokens !== undefined && tokens.length > params.max_tokens) {
    tokens = tokens.slice(0, params.max_tokens);
    finishReason = 'length';
  }
  const promptTokens = params.messages.reduce((n, m) => n + (contentText(m.content).match(/\S+/g)?.length ?? 0) + 3, 0);
  return { tokens, finishReason, promptTokens };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The built-in `mock` model: needs no key and no network. It plays an OpenAI-compatible
 * upstream (same chunk format, usage chunk and `[DONE]`), so every request takes the exact
 * path a real model's would. Tokens are `MOCK_TOKEN_DELAY_MS` apart.
 */
export const mock: Provider = {
  name: 'mock',
  format: 'openai-chat',
  decoder: openAIChatDecoder,
  async send(target: Target, params: ChatParams, config: Config, signal: AbortSignal) {
    const delay = config.mockTokenDelayMs;
    const { tokens, finishReason, promptTokens } = mockReply(params);
    const id = `chatcmpl-mock${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (
      delta: ChatCompletionChunk['choices'][0]['delta'],
      finish: FinishReason | null,
    ): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: target.upstreamModel,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const events: Uint8Array[] = [
      encodeData(chunk({ role: 'assistant', content: '' }, null)),
      ...tokens.map((t) => encodeData(chunk({ content: t }, null))),
      encodeData(chunk({}, finishReason)),
      encodeData({
        id,
        object: 'chat.completion.chunk',
        created,
        model: target.upstreamModel,
        choices: [],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: tokens.length,
          total_tokens: promptTokens + tokens.length,
        },
      }),
      DONE,
    ];
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        // Token events are spaced out; the role chunk and the closing events go out at once.
        if (i > 0 && i <= tokens.length && delay > 0) await sleep(delay);
        if (signal.aborted) return controller.error(signal.reason);
        const next = events[i++];
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  },
};
