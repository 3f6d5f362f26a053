import type { Config } from '../config';
import type { ChatParams, Message } from '../core/chat-params';
import type { FinishReason } from '../core/completion';
import { ChunkEmitter, nowSeconds, sseTranscoder } from '../streaming/transcode';
import { contentText, parseDataUrl } from './content';
import type { TranscodeOptions, Transcoder } from '../streaming/pump/types';
import { baseUrlOf } from './base-url';
import type { Provider, Target } from './types';

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

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** One Messages API stream event; every field optional, as a future event may lack any of them. */
interface AnthropicEvent {
  type?: string;
  index?: number;
  message?: { id?: string; usage?: AnthropicUsage };
  content_block?: { type?: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

/**
 * Messages API stream events to OpenAI chunks. Tool calls are numbered in the order they
 * start (OpenAI's `index`), not by Anthropic's content block index, which also counts text
 * blocks. Usage: prompt tokens include cache writes and reads, which Anthropic counts apart.
 */
export function createAnthropicTranscoder(
  model: string,
  created = nowSeconds(),
  opts: TranscodeOptions = {},
): Transcoder {
  const emitter = new ChunkEmitter(model, created, opts.includeUsage);
  const toolIndex = new Map<number, number>(); // content block index -> tool call index
  const toolHasArgs = new Set<number>();
  const usage: Required<{ [K in keyof AnthropicUsage]: number }> = {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  const takeUsage = (u: AnthropicUsage | undefined) => {
    if (!u) return;
    for (const k of Object.keys(usage) as (keyof AnthropicUsage)[]) if (typeof u[k] === 'number') usage[k] = u[k];
  };

  return sseTranscoder<AnthropicEvent>(emitter, {
    onEvent(event, fail) {
      switch (event.type) {
        case 'message_start':
          emitter.id = event.message?.id ?? '';
          takeUsage(event.message?.usage);
          return emitter.chunk({ role: 'assistant', content: '' });
        case 'content_block_start': {
          const block = event.content_block;
          if (block?.type === 'tool_use') {
            const index = toolIndex.size;
            toolIndex.set(event.index ?? -1, index);
            return emitter.chunk({
              tool_calls: [
                { index, id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: '' } },
              ],
            });
          }
          if (block?.type === 'text' && block.text) return emitter.chunk({ content: block.text });
          return null;
        }
        case 'content_block_delta': {
          const delta = event.delta;
          if (delta?.type === 'text_delta') return delta.text ? emitter.chunk({ content: delta.text }) : null;
          if (delta?.type === 'input_json_delta') {
            const index = toolIndex.get(event.index ?? -1);
            if (index === undefined || !delta.partial_json) return null;
            toolHasArgs.add(index);
            return emitter.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] });
          }
          return null; // thinking and signature deltas stay upstream
        }
        case 'content_block_stop': {
          // A tool called with no input streams no JSON at all; OpenAI callers expect an object.
          const index = toolIndex.get(event.index ?? -1);
          if (index === undefined || toolHasArgs.has(index)) return null;
          toolHasArgs.add(index);
          return emitter.chunk({ tool_calls: [{ index, function: { arguments: '{}' } }] });
        }
        case 'message_delta': {
          takeUsage(event.usage);
          const reason = event.delta?.stop_reason;
          return reason ? emitter.chunk({}, FINISH[reason] ?? 'stop') : null;
        }
        case 'message_stop': {
          const prompt = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens;
          const completion = usage.output_tokens;
          return [
            emitter.usage({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }),
            emitter.done(),
          ];
        }
        case 'error':
          return fail({
            message: String(event.error?.message ?? 'Anthropic stream error'),
            type: 'upstream_error',
            code: String(event.error?.type ?? 'upstream_stream_error'),
          });
        default:
          return null; // ping, and event types added after this was written
      }
    },
  });
}

/**
 * Anthropic's Messages API. The model's own `base_url` wins over `ANTHROPIC_BASE_URL`; neither
 * includes `/v1` (as in Anthropic's SDK). The stream is transcoded to OpenAI chunks.
 */
export const anthropic: Provider = {
  name: 'anthropic',
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal) {
    const access = config.providers.anthropic;
    const base = baseUrlOf(target, access);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'anthropic-version': API_VERSION,
    };
    if (access.apiKey) headers['x-api-key'] = access.apiKey;
    return fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(anthropicRequestBody(target, params)),
      signal,
    });
  },
  transcoder: (target, opts) => createAnthropicTranscoder(target.upstreamModel, undefined, opts),
};
