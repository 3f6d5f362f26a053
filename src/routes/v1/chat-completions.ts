/**
 * OpenAI's chat completions: point an official OpenAI SDK's `baseURL` at `<sluice>/v1` with a
 * virtual key and it works. Each completion is its own job on the key's team, charged like
 * `create-and-call`.
 */
import { createRoute } from '@hono/zod-openapi';
import { collectCall } from '../../calls/run';
import { streamAnswer } from '../../resumable/start';
import { costFields } from '../../dialects/cost';
import { toChatUsage } from '../../dialects/openai-chat/usage';
import { callDeps } from '../../http/context';
import { bearerAuth, callErrors, jsonBody, sseResponse } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { newId } from '../../lib/crypto';
import { chatParams } from '../../core/chat-params';
import { ChatCompletion, ChatCompletionRequest } from '../../schemas/openai';

export const chatCompletions = createRouter();

chatCompletions.openapi(
  createRoute({
    method: 'post',
    path: '/chat/completions',
    tags: ['OpenAI-compatible'],
    summary: 'OpenAI chat completions (stream and non-stream) through Sluice',
    security: bearerAuth,
    request: { body: jsonBody(ChatCompletionRequest) },
    responses: {
      200: {
        content: {
          'application/json': { schema: ChatCompletion },
          ...sseResponse('').content,
        },
        description: 'A chat.completion, or chat.completion.chunk events when stream is true',
      },
      ...callErrors,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const admission = {
      caller: c.var.caller,
      alias: body.model,
      params: { ...chatParams(body), max_tokens: body.max_tokens ?? body.max_completion_tokens },
      now: Date.now(),
      newJob: { id: newId('job'), teamId: null, jobType: 'chat.completion', userId: body.user ?? null, metadata: null },
    };
    if (body.stream === true)
      return streamAnswer(callDeps(c), admission, {
        finishesJob: true,
        spec: { dialect: 'chat', includeUsage: body.stream_options?.include_usage === true },
        resumable: body.resumable,
      });

    const { admitted, outcome, served, usage, price } = await collectCall(callDeps(c), admission, {
      finishesJob: true,
    });
    const { completion } = outcome;
    c.header('x-job-id', admitted.job.id);
    c.header('x-call-id', admitted.callId);
    return c.json(
      {
        id: completion.id ?? `chatcmpl-${admitted.callId}`,
        object: 'chat.completion' as const,
        created: Math.floor(Date.now() / 1000),
        model: served.upstreamModel,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant' as const,
              content: completion.toolCalls.length && !completion.content ? null : completion.content,
              refusal: null,
              ...(completion.toolCalls.length ? { tool_calls: completion.toolCalls } : {}),
            },
            finish_reason: completion.finishReason,
            logprobs: null,
          },
        ],
        usage: { ...toChatUsage(usage), ...costFields(usage, price) },
      },
      200,
    );
  },
);
