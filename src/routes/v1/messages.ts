/**
 * Anthropic's Messages API: point an Anthropic SDK (or Claude Code) at Sluice's origin with a
 * virtual key and it works, for every model in the catalog. Each message is its own job on the
 * key's team, charged like `create-and-call`.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { roughPromptTokens } from '../../billing/tokens';
import { countInputTokens } from '../../calls/count';
import { collectCall } from '../../calls/run';
import { streamAnswer } from '../../resumable/start';
import { anthropicMessage, fallbackMessageId } from '../../dialects/anthropic/encode';
import {
  CountTokensRequest,
  MessagesRequest,
  messagesToChat,
  messagesToParams,
} from '../../dialects/anthropic/request';
import { callDeps } from '../../http/context';
import { bearerAuth, callErrors, json, jsonBody } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { newId } from '../../lib/crypto';

export const messagesApi = createRouter();

const tags = ['Anthropic-compatible'];

/** The headers of Anthropic's API an Anthropic upstream gets as the client sent them. */
const FORWARDED = ['anthropic-version', 'anthropic-beta'];

const forwarded = (all: Record<string, string>) => {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED) if (all[name]) headers[name] = all[name];
  return headers;
};

messagesApi.openapi(
  createRoute({
    method: 'post',
    path: '/messages',
    tags,
    summary: 'Anthropic Messages (stream and non-stream) through Sluice, for every catalog model',
    security: bearerAuth,
    request: { body: jsonBody(MessagesRequest) },
    responses: {
      200: {
        content: {
          'application/json': { schema: z.object({ type: z.literal('message') }).loose() },
          'text/event-stream': { schema: z.string().openapi({ description: 'Messages API stream events' }) },
        },
        description: 'A message, or its stream of events when stream is true',
      },
      ...callErrors,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const params = messagesToParams(body);
    const headers = forwarded(c.req.header());
    const userId = typeof body.metadata?.user_id === 'string' ? body.metadata.user_id.slice(0, 200) : null;
    const admission = {
      caller: c.var.caller,
      alias: body.model,
      params,
      native: { format: 'anthropic' as const, body, headers },
      now: Date.now(),
      newJob: { id: newId('job'), teamId: null, jobType: 'message', userId, metadata: null },
    };
    c.header('request-id', c.var.requestId);
    if (body.stream === true)
      return streamAnswer(callDeps(c), admission, {
        finishesJob: true,
        spec: { dialect: 'anthropic', model: body.model, inputTokens: roughPromptTokens(params) },
        resumable: body.resumable,
      });

    const { admitted, outcome, usage, price } = await collectCall(callDeps(c), admission, { finishesJob: true });
    c.header('x-job-id', admitted.job.id);
    c.header('x-call-id', admitted.callId);
    return c.json(
      anthropicMessage(outcome.completion, usage, body.model, fallbackMessageId(admitted.callId), price),
      200,
    );
  },
);

messagesApi.openapi(
  createRoute({
    method: 'post',
    path: '/messages/count_tokens',
    tags,
    summary:
      "A Messages request's input tokens: the provider's own count where it has a count endpoint " +
      "(Anthropic, Gemini), Sluice's tokenizer (o200k_base) otherwise; counted against the key's requests per minute",
    security: bearerAuth,
    request: { body: jsonBody(CountTokensRequest) },
    responses: {
      200: json(z.object({ input_tokens: z.number().int() }).openapi('TokenCount'), 'The count'),
      ...callErrors,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const native = { format: 'anthropic' as const, body, headers: forwarded(c.req.header()) };
    const count = await countInputTokens(callDeps(c), c.var.caller, body.model, messagesToChat(body), native);
    c.header('request-id', c.var.requestId);
    c.header('x-sluice-counted-by', count.countedBy);
    return c.json({ input_tokens: count.inputTokens }, 200);
  },
);
