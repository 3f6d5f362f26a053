import type { Config } from '../config';
import type { ChatParams, Message } from '../core/chat-params';
import { geminiDecoder } from '../dialects/gemini/decode';
import { contentText, parseDataUrl } from './content';
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

/** The model's URL (its methods follow a `:`) and the headers of a Gemini request. */
function request(target: Target, config: Config, accept: string) {
  const access = config.providers.gemini;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept };
  if (access.apiKey) headers['x-goog-api-key'] = access.apiKey;
  return { model: `${baseUrlOf(target, access)}/v1beta/models/${target.upstreamModel}`, headers };
}

/**
 * Google's Gemini API. The model's own `base_url` wins over `GEMINI_BASE_URL`; neither includes
 * the API version.
 */
export const gemini: Provider = {
  name: 'gemini',
  send(target: Target, params: ChatParams, config: Config, signal: AbortSignal) {
    const { model, headers } = request(target, config, 'text/event-stream');
    return fetch(`${model}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers,
      body: JSON.stringify(geminiRequestBody(params)),
      signal,
    });
  },
  async countTokens(target, params, config, signal) {
    const { model, headers } = request(target, config, 'application/json');
    const generateContentRequest = { model: `models/${target.upstreamModel}`, ...geminiRequestBody(params) };
    const res = await fetch(`${model}:countTokens`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ generateContentRequest }),
      signal,
    });
    const count = res.ok ? ((await res.json()) as { totalTokens?: unknown }).totalTokens : undefined;
    if (typeof count !== 'number') throw new Error(`countTokens answered ${res.status}`);
    return count;
  },
  format: 'gemini',
  decoder: geminiDecoder,
};
