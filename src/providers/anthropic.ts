import type { Config } from '../config';
import type { ChatParams, Message } from '../core/chat-params';
import { anthropicDecoder } from '../dialects/anthropic/decode';
import { contentText, parseDataUrl } from './content';
import { baseUrlOf } from './base-url';
import type { NativeRequest, Provider, Target } from './types';

const API_VERSION = '2023-06-01';
/** Anthropic requires `max_tokens`; OpenAI callers usually leave it out. */
export const DEFAULT_MAX_TOKENS = 4096;

type Block =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string };

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

function blocks(content: Message['content']): Block[] {
  if (content == null) return [];
  // Anthropic rejects empty text blocks.
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  const out: Block[] = [];
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string' && part.text) out.push({ type: 'text', text: part.text });
    else if (part.type === 'image_url') {
      const url = (part.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url !== 'string') continue;
      const inline = parseDataUrl(url);
      out.push({
        type: 'image',
        source: inline ? { type: 'base64', media_type: inline.mediaType, data: inline.data } : { type: 'url', url },
      });
    }
  }
  return out;
}

/** Tool arguments as Anthropic wants them: an object (a model's broken JSON becomes `{}`). */
function toolInput(args: string): Record<string, unknown> {
  try {
    const input: unknown = JSON.parse(args);
    if (input && typeof input === 'object' && !Array.isArray(input)) return input as Record<string, unknown>;
  } catch {
    // fall through
  }
  return {};
}

function toolChoice(choice: ChatParams['tool_choice']) {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name };
}

/**
 * The Messages API body for an OpenAI-style request. System and developer messages become the
 * top-level `system`; tool calls and tool results become `tool_use` / `tool_result` blocks; and
 * consecutive messages of one role are merged, since Anthropic wants user and assistant to alternate
 * (several tool results answer one assistant turn in a single user message).
 */
export function anthropicRequestBody(target: Target, params: ChatParams) {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const add = (role: AnthropicMessage['role'], content: Block[]) => {
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...content);
    else messages.push({ role, content });
  };
  for (const m of params.messages) {
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(contentText(m.content));
        break;
      case 'user':
        add('user', blocks(m.content));
        break;
      case 'assistant':
        add('assistant', [
          ...blocks(m.content),
          ...(m.tool_calls ?? []).map((tc): Block => ({
            type: 'tool_use',
            id: tc.id,
            name: tc.function.name,
            input: toolInput(tc.function.arguments),
          })),
        ]);
        break;
      case 'tool':
        add('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: contentText(m.content) }]);
        break;
    }
  }
  const { tools, stop } = params;
  return {
    model: target.upstreamModel,
    system: system.length ? system.join('\n\n') : undefined,
    messages,
    max_tokens: params.max_tokens ?? DEFAULT_MAX_TOKENS,
    // OpenAI allows up to 2; Anthropic stops at 1.
    temperature: params.temperature === undefined ? undefined : Math.min(params.temperature, 1),
    top_p: params.top_p,
    stop_sequences: stop === undefined ? undefined : typeof stop === 'string' ? [stop] : stop,
    tools: tools?.map((t) => ({
      name: t.function.name,
      description: t.function.description,
      input_schema: t.function.parameters ?? { type: 'object', properties: {} },
    })),
    tool_choice: tools?.length ? toolChoice(params.tool_choice) : undefined,
    stream: true,
  };
}

/**
 * Anthropic's Messages API. The model's own `base_url` wins over `ANTHROPIC_BASE_URL`; neither
 * includes `/v1` (as in Anthropic's SDK).
 */
export const anthropic: Provider = {
  name: 'anthropic',
  format: 'anthropic',
  decoder: anthropicDecoder,
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal, native?: NativeRequest) {
    const { url, headers, own } = request(target, config, native, 'text/event-stream');
    // A Messages request from an Anthropic client goes as it is (thinking, cache control and all);
    // only the model and the output limit are Sluice's.
    const body = own
      ? { ...own.body, model: target.upstreamModel, max_tokens: params.max_tokens, stream: true }
      : anthropicRequestBody(target, params);
    return fetch(`${url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body), signal });
  },
  async countTokens(target, params, config, signal, native) {
    const { url, headers, own } = request(target, config, native, 'application/json');
    let body: Record<string, unknown>;
    if (own) body = { ...own.body, model: target.upstreamModel };
    else {
      const { model, system, messages, tools, tool_choice } = anthropicRequestBody(target, { ...params });
      body = { model, system, messages, tools, tool_choice };
    }
    const res = await fetch(`${url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal,
    });
    const count = res.ok ? ((await res.json()) as { input_tokens?: unknown }).input_tokens : undefined;
    if (typeof count !== 'number') throw new Error(`count_tokens answered ${res.status}`);
    return count;
  },
};

/**
 * Where an Anthropic request goes and its headers: an Anthropic client's own API version and
 * betas when it sent the request in Anthropic's format (`own`), Sluice's otherwise.
 */
function request(target: Target, config: Config, native: NativeRequest | undefined, accept: string) {
  const access = config.providers.anthropic;
  const own = native?.format === 'anthropic' ? native : null;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept,
    'anthropic-version': own?.headers['anthropic-version'] ?? API_VERSION,
    ...(own?.headers['anthropic-beta'] ? { 'anthropic-beta': own.headers['anthropic-beta'] } : {}),
  };
  if (access.apiKey) headers['x-api-key'] = access.apiKey;
  return { url: baseUrlOf(target, access), headers, own };
}
