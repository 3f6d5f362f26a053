import { z } from '@hono/zod-openapi';
import { ChatParamsShape } from '../core/chat-params';
import { Resumable } from '../dialects/stream-options';

/**
 * `POST /v1/chat/completions` as the OpenAI SDKs send it. Fields Sluice does not act on
 * (`user`, `seed`, penalties, `logprobs`, ...) are accepted and ignored, so existing code runs.
 */
export const ChatCompletionRequest = z
  .object({
    ...ChatParamsShape,
    model: z.string().min(1).max(128),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    n: z.literal(1, 'only n=1 is supported').nullable().optional(),
    max_completion_tokens: ChatParamsShape.max_tokens,
    user: z.string().max(256).optional(),
    resumable: Resumable,
  })
  .loose()
  .openapi('ChatCompletionRequest');

export const ChatCompletion = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable(),
          refusal: z.null(),
          tool_calls: z
            .array(
              z.object({
                id: z.string(),
                type: z.literal('function'),
                function: z.object({ name: z.string(), arguments: z.string() }),
              }),
            )
            .optional(),
        }),
        finish_reason: z.string().nullable(),
        logprobs: z.null(),
      }),
    ),
    usage: z.object({
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      total_tokens: z.number().int(),
    }),
  })
  .openapi('ChatCompletion');

export const ModelList = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() }),
    ),
  })
  .openapi('ModelList');
