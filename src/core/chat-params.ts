/**
 * What a chat request asks of a model: the messages and the generation parameters, as every
 * endpoint accepts them and every provider reads them. A zod schema, so the HTTP surfaces
 * validate against it (with OpenAPI names) and everything else shares its type.
 */
import { z } from '@hono/zod-openapi';

const ContentPart = z
  .object({ type: z.string().min(1) })
  .loose()
  .openapi('ContentPart');

const ToolCall = z
  .object({
    id: z.string(),
    type: z.literal('function'),
    function: z.object({ name: z.string(), arguments: z.string() }),
  })
  .openapi('ToolCall');

export const Message = z
  .discriminatedUnion('role', [
    z.object({
      role: z.literal('system'),
      content: z.union([z.string(), z.array(ContentPart)]),
      name: z.string().optional(),
    }),
    z.object({
      role: z.literal('developer'),
      content: z.union([z.string(), z.array(ContentPart)]),
      name: z.string().optional(),
    }),
    z.object({
      role: z.literal('user'),
      content: z.union([z.string(), z.array(ContentPart)]),
      name: z.string().optional(),
    }),
    z.object({
      role: z.literal('assistant'),
      content: z
        .union([z.string(), z.array(ContentPart)])
        .nullable()
        .optional(),
      name: z.string().optional(),
      tool_calls: z.array(ToolCall).optional(),
    }),
    z.object({
      role: z.literal('tool'),
      content: z.union([z.string(), z.array(ContentPart)]),
      tool_call_id: z.string(),
    }),
  ])
  .openapi('Message');

export const Tool = z
  .object({
    type: z.literal('function'),
    function: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  })
  .openapi('Tool');

export const MAX_TOKENS_LIMIT = 200_000;

/** Generation parameters shared by every call endpoint. */
export const ChatParamsShape = {
  messages: z.array(Message).min(1, 'messages must contain at least one message').max(1000),
  model: z.string().min(1).max(128).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(MAX_TOKENS_LIMIT).optional(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)]).optional(),
  top_p: z.number().min(0).max(1).optional(),
  tools: z.array(Tool).max(128).optional(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
    ])
    .optional(),
  response_format: z
    .object({ type: z.enum(['text', 'json_object', 'json_schema']) })
    .loose()
    .optional(),
  purpose: z.string().max(200).optional(),
};

export const ChatParams = z.object(ChatParamsShape).openapi('ChatParams');
export type ChatParams = z.infer<typeof ChatParams>;
export type Message = z.infer<typeof Message>;

/** The names of the generation parameters, in one list: every endpoint picks them from its body with `chatParams`. */
export const CHAT_PARAMS = Object.keys(ChatParamsShape) as (keyof ChatParams)[];

/** The generation parameters of a request body that also carries other fields (a job's, OpenAI's). */
export function chatParams(body: ChatParams): ChatParams {
  const params: Record<string, unknown> = {};
  for (const name of CHAT_PARAMS) if (body[name] !== undefined) params[name] = body[name];
  return params as ChatParams;
}
