import type { Config } from '../config';
import type { ChatParams, Message } from '../core/chat-params';
import type { ToolCallDelta } from '../core/chat-chunk';
import type { FinishReason } from '../core/completion';
import { ChunkEmitter, type Delta, nowSeconds, sseTranscoder } from '../streaming/transcode';
import { contentText, parseDataUrl } from './content';
import type { TranscodeOptions, Transcoder } from '../streaming/pump/types';
import { baseUrlOf } from './base-url';
import type { Provider, Target } from './types';

type Part =
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { fileData: { fileUri: string } }
  | { functionCall: { name: string; args: Record<string, unknown> } }
  | { functionResponse: { name: string; response: Record<string, unknown> } };

interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

function parts(content: Message['content']): Part[] {
  if (content == null) return [];
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  const out: Part[] = [];
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string' && part.text) out.push({ text: part.text });
    else if (part.type === 'image_url') {
      const url = (part.image_url as { url?: unknown } | undefined)?.url;
      if (typeof url !== 'string') continue;
      const inline = parseDataUrl(url);
      out.push(
        inline ? { inlineData: { mimeType: inline.mediaType, data: inline.data } } : { fileData: { fileUri: url } },
      );
    }
  }
  return out;
}

/** Gemini wants objects for both call arguments and results; anything else is wrapped. */
function asObject(json: string, key: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    return { [key]: value };
  } catch {
    return json ? { [key]: json } : {};
  }
}

function toolConfig(choice: ChatParams['tool_choice']) {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
}

function generationConfig(params: ChatParams) {
  const { temperature, top_p, max_tokens, stop, response_format } = params;
  const config = {
    temperature,
    topP: top_p,
    maxOutputTokens: max_tokens,
    stopSequences: stop === undefined ? undefined : typeof stop === 'string' ? [stop] : stop,
    responseMimeType: response_format && response_format.type !== 'text' ? 'application/json' : undefined,
    responseJsonSchema:
      response_format?.type === 'json_schema'
        ? (response_format.json_schema as { schema?: unknown } | undefined)?.schema
        : undefined,
  };
  return Object.values(config).some((v) => v !== undefined) ? config : undefined;
}

/**
 * The `generateContent` body for an OpenAI-style request. Assistant turns become `model`
 * turns; a tool result becomes a `functionResponse` part, named after the call it answers
 * (Gemini matches results by function name, OpenAI by call id); consecutive turns of one
 * role are merged, as Gemini expects them to alternate.
 */
export function geminiRequestBody(params: ChatParams) {
  const system: string[] = [];
  const contents: Content[] = [];
  const toolNames = new Map<string, string>(); // tool call id -> function name
  const add = (role: Content['role'], newParts: Part[]) => {
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...newParts);
    else contents.push({ role, parts: newParts });
  };
  for (const m of params.messages) {
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(contentText(m.content));
        break;
      case 'user':
        add('user', parts(m.content));
        break;
      case 'assistant':
        for (const tc of m.tool_calls ?? []) toolNames.set(tc.id, tc.function.name);
        add('model', [
          ...parts(m.content),
          ...(m.tool_calls ?? []).map((tc): Part => ({
            functionCall: { name: tc.function.name, args: asObject(tc.function.arguments, 'arguments') },
          })),
        ]);
        break;
      case 'tool':
        add('user', [
          {
            functionResponse: {
              name: toolNames.get(m.tool_call_id) ?? m.tool_call_id,
              response: asObject(contentText(m.content), 'content'),
            },
          },
        ]);
        break;
    }
  }
  const { tools } = params;
  return {
    contents,
    systemInstruction: system.length ? { parts: [{ text: system.join('\n\n') }] } : undefined,
    generationConfig: generationConfig(params),
    tools: tools?.length
      ? [
          {
            functionDeclarations: tools.map((t) => ({
              name: t.function.name,
              description: t.function.description,
              parameters: t.function.parameters,
            })),
          },
        ]
      : undefined,
    toolConfig: tools?.length ? toolConfig(params.tool_choice) : undefined,
  };
}

const FINISH: Record<string, FinishReason> = { STOP: 'stop', MAX_TOKENS: 'length' };

/** One `GenerateContentResponse` from the stream, every field optional. */
interface GeminiEvent {
  responseId?: string;
  candidates?: {
    content?: {
      parts?: { text?: string; thought?: boolean; functionCall?: { id?: string; name?: string; args?: unknown } }[];
    };
    finishReason?: string;
  }[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: {
    promptTokenCount?: number;
    candidatesTokenCount?: number;
    thoughtsTokenCount?: number;
    toolUsePromptTokenCount?: number;
    totalTokenCount?: number;
  };
  error?: { code?: number; message?: string; status?: string };
}

/**
 * `streamGenerateContent?alt=sse` events to OpenAI chunks, one chunk per event (the first also
 * carries the role). Gemini sends each function call whole, so it becomes one complete tool call
 * delta, and it finishes with STOP even after calling tools, which OpenAI reports as `tool_calls`.
 * There is no `[DONE]`: the stream counts as complete if a finish reason came before it ended.
 * Usage counts thinking tokens as completion tokens, as Google bills them.
 */
export function createGeminiTranscoder(model: string, created = nowSeconds(), opts: TranscodeOptions = {}): Transcoder {
  const emitter = new ChunkEmitter(model, created, opts.includeUsage);
  let started = false;
  let tools = 0;
  let finished = false;
  let usage: GeminiEvent['usageMetadata'];

  return sseTranscoder<GeminiEvent>(emitter, {
    onEvent(event, fail) {
      if (event.error) {
        return fail({
          message: event.error.message ?? 'Gemini stream error',
          type: 'upstream_error',
          code: event.error.status ?? String(event.error.code ?? 'upstream_stream_error'),
        });
      }
      if (event.usageMetadata) usage = event.usageMetadata;
      const candidate = event.candidates?.[0];
      let text = '';
      let toolCalls: ToolCallDelta[] | undefined;
      for (const part of candidate?.content?.parts ?? []) {
        if (typeof part.text === 'string' && !part.thought) text += part.text;
        else if (part.functionCall) {
          const index = tools++;
          (toolCalls ??= []).push({
            index,
            id: part.functionCall.id ?? `call_${index}`,
            type: 'function',
            function: { name: part.functionCall.name ?? '', arguments: JSON.stringify(part.functionCall.args ?? {}) },
          });
        }
      }
      let finish: FinishReason | null = null;
      const reason = candidate?.finishReason ?? event.promptFeedback?.blockReason;
      if (reason && !finished) {
        finished = true;
        // Safety, recitation, blocklists, a blocked prompt and the like are all filtering.
        finish = tools > 0 && reason === 'STOP' ? 'tool_calls' : (FINISH[reason] ?? 'content_filter');
      }
      if (started && !text && !toolCalls && !finish) return null;
      const delta: Delta = {};
      if (!started) {
        started = true;
        emitter.id = event.responseId ?? `chatcmpl-${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`;
        delta.role = 'assistant';
        delta.content = text;
      } else if (text) delta.content = text;
      if (toolCalls) delta.tool_calls = toolCalls;
      return emitter.chunk(delta, finish);
    },
    onEnd() {
      if (!finished) return null; // no finish reason: the pump reports a truncated stream
      if (!usage) return emitter.done();
      const prompt = (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0);
      const completion = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0);
      return [
        emitter.usage({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }),
        emitter.done(),
      ];
    },
  });
}

/**
 * Google's Gemini API. The model's own `base_url` wins over `GEMINI_BASE_URL`; neither includes
 * the API version. The stream is transcoded to OpenAI chunks.
 */
export const gemini: Provider = {
  name: 'gemini',
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal) {
    const access = config.providers.gemini;
    const base = baseUrlOf(target, access);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (access.apiKey) headers['x-goog-api-key'] = access.apiKey;
    return fetch(`${base}/v1beta/models/${target.upstreamModel}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers,
      body: JSON.stringify(geminiRequestBody(params)),
      signal,
    });
  },
  transcoder: (target, opts) => createGeminiTranscoder(target.upstreamModel, undefined, opts),
};
