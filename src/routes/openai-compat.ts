import { createRoute } from '@hono/zod-openapi';
import { asc, eq } from 'drizzle-orm';
import { models } from '../db/schema';
import { bearerAuth, errorResponses, json, jsonBody, sseResponse } from '../http/openapi';
import { createRouter } from '../http/router';
import { virtualKey } from '../middleware/auth';
import { ErrorResponse } from '../schemas/jobs';
import { ChatCompletion, ChatCompletionRequest, ModelList } from '../schemas/openai';
import { collectCall, streamCall } from '../services/calls';
import { newId } from '../lib/crypto';
import { requirePrincipal, selectPrincipal } from '../services/principal';

/**
 * The OpenAI-compatible surface: point an official OpenAI SDK's `baseURL` at `<sluice>/v1` with a
 * virtual key and it works. Each completion is its own job on the key's team, charged like
 * `create-and-call`.
 */
export const openaiCompat = createRouter();
openaiCompat.use('*', virtualKey);

const tags = ['OpenAI-compatible'];

openaiCompat.openapi(
  createRoute({
    method: 'post',
    path: '/chat/completions',
    tags,
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
      ...errorResponses,
      402: json(ErrorResponse, 'Not enough credits'),
      429: json(ErrorResponse, 'Rate limited'),
      502: json(ErrorResponse, 'Upstream failed'),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const params = {
      messages: body.messages,
      model: body.model,
      temperature: body.temperature,
      max_tokens: body.max_tokens ?? body.max_completion_tokens,
      stop: body.stop,
      top_p: body.top_p,
      tools: body.tools,
      tool_choice: body.tool_choice,
      response_format: body.response_format,
    };
    const admission = {
      keyHash: c.var.keyHash,
      alias: body.model,
      params,
      now: Date.now(),
      newJob: { id: newId('job'), teamId: null, jobType: 'chat.completion', userId: body.user ?? null, metadata: null },
    };
    const deps = { db: c.var.db, config: c.var.config, executionCtx: c.executionCtx, requestSignal: c.req.raw.signal };
    const opts = { autoComplete: true, includeUsage: body.stream_options?.include_usage === true };
    if (body.stream === true) return streamCall(deps, admission, opts);

    const { admitted, outcome, served, usage } = await collectCall(deps, admission, opts);
    const { callId } = admitted;
    const jobId = admitted.job.id;
    const { completion } = outcome;
    const prompt = usage.prompt_tokens;
    const completionTokens = usage.completion_tokens;
    c.header('x-job-id', jobId);
    c.header('x-call-id', callId);
    return c.json(
      {
        id: completion.id ?? `chatcmpl-${callId}`,
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
        usage: { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens },
      },
      200,
    );
  },
);

openaiCompat.openapi(
  createRoute({
    method: 'get',
    path: '/models',
    tags,
    summary: 'The model aliases this key may call',
    security: bearerAuth,
    responses: { 200: json(ModelList, 'Models'), ...errorResponses },
  }),
  async (c) => {
    const db = c.var.db;
    const [principalRows, rows] = await db.batch([
      selectPrincipal(db, c.var.keyHash),
      db.select().from(models).where(eq(models.enabled, true)).orderBy(asc(models.alias)),
    ]);
    requirePrincipal(principalRows);
    return c.json(
      {
        object: 'list' as const,
        data: rows.map((m) => ({
          id: m.alias,
          object: 'model' as const,
          created: Math.floor(m.createdAt / 1000),
          owned_by: m.provider,
        })),
      },
      200,
    );
  },
);
