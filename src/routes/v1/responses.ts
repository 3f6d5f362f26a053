/**
 * OpenAI's Responses API, stateless: point the openai SDK's `responses` (or the Vercel AI SDK's
 * default OpenAI model, or Codex) at `<sluice>/v1` with a virtual key and it works, for every
 * model in the catalog. Each response is its own job on the key's team, charged like
 * `create-and-call`.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { earlierAnswers } from '../../calls/earlier-answers';
import { collectCall } from '../../calls/run';
import { callOfItem, echoOf, responseIdentity, responseOf } from '../../dialects/openai-responses/encode';
import { streamAnswer } from '../../resumable/start';
import {
  type Referenced,
  ResponsesRequest,
  referencedItems,
  refuseStateful,
  responsesToParams,
} from '../../dialects/openai-responses/request';
import { callDeps } from '../../http/context';
import { bearerAuth, callErrors, jsonBody, sseResponse } from '../../http/openapi';
import { createRouter } from '../../http/router';
import type { Caller } from '../../auth/caller';
import { newId } from '../../lib/crypto';

export const responsesApi = createRouter();

/** What each `item_reference` in the input stands for, from the team's earlier calls. */
async function resolveReferences(d1: D1Database, caller: Caller, body: ResponsesRequest) {
  const items = referencedItems(body);
  const resolved = new Map<string, Referenced>();
  if (!items.length) return resolved;
  const calls = new Map(items.map((id) => [id, callOfItem(id)]));
  const ids = [...new Set([...calls.values()].filter((id) => id !== null))];
  const answers = ids.length ? await earlierAnswers(d1, caller, ids) : new Map();
  const resend = 'send the item itself (with the AI SDK: providerOptions.openai.store = false)';
  for (const [item, callId] of calls) {
    const answer = callId ? answers.get(callId) : undefined;
    if (!callId || !answer) resolved.set(item, { missing: `Unknown item '${item}': ${resend}` });
    else if (answer.truncated) resolved.set(item, { missing: `Item '${item}' is too large to refer to: ${resend}` });
    else resolved.set(item, { callId, text: answer.content });
  }
  return resolved;
}

responsesApi.openapi(
  createRoute({
    method: 'post',
    path: '/responses',
    tags: ['OpenAI-compatible'],
    summary: 'OpenAI Responses (stream and non-stream, stateless) through Sluice, for every catalog model',
    security: bearerAuth,
    request: { body: jsonBody(ResponsesRequest) },
    responses: {
      200: {
        content: {
          'application/json': { schema: z.object({ object: z.literal('response') }).loose() },
          ...sseResponse('').content,
        },
        description: 'A response object, or its stream of events when stream is true',
      },
      ...callErrors,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    refuseStateful(body);
    const params = responsesToParams(body, await resolveReferences(c.env.DB, c.var.caller, body));
    const admission = {
      caller: c.var.caller,
      alias: body.model,
      params,
      now: Date.now(),
      newJob: {
        id: newId('job'),
        teamId: null,
        jobType: 'response',
        userId: body.user?.slice(0, 200) ?? null,
        metadata: body.metadata ?? null,
      },
    };
    const form = { model: body.model, createdAt: Math.floor(Date.now() / 1000), echo: echoOf(body) };
    if (body.stream === true)
      return streamAnswer(callDeps(c), admission, {
        finishesJob: true,
        spec: { dialect: 'responses', ...form },
        resumable: false,
      });

    const { admitted, outcome, usage, price } = await collectCall(callDeps(c), admission, { finishesJob: true });
    c.header('x-job-id', admitted.job.id);
    c.header('x-call-id', admitted.callId);
    const identity = { ...responseIdentity(admitted.callId, form), cost: price };
    return c.json(responseOf(identity, outcome.completion, usage), 200);
  },
);
