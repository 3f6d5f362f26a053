/**
 * OpenAI's Responses API, stateless: point the openai SDK's `responses` (or the Vercel AI SDK's
 * default OpenAI model, or Codex) at `<sluice>/v1` with a virtual key and it works, for every
 * model in the catalog. Each response is its own job on the key's team, charged like
 * `create-and-call`.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { earlierAnswers } from '../../calls/earlier-answers';
import { collectCall, priceOf } from '../../calls/run';
import {
  type BackgroundState,
  backgroundResponse,
  callOfItem,
  callOfResponse,
  echoOf,
  responseIdentity,
  responseOf,
} from '../../dialects/openai-responses/encode';
import { SSE_HEADERS } from '../../streaming/sse/encode';
import {
  accessOf,
  attachStream,
  callSnapshot,
  cancelStream,
  lastSeen,
  startInBackground,
  streamAnswer,
} from '../../resumable/start';
import { notFound } from '../../errors';
import type { AppEnv } from '../../http/context';
import type { Context } from 'hono';
import type { Access } from '../../resumable/call-stream';
import {
  type Referenced,
  ResponsesRequest,
  referencedItems,
  refuseStateful,
  responsesToParams,
} from '../../dialects/openai-responses/request';
import { callDeps, stores } from '../../http/context';
import { bearerAuth, callErrors, jsonBody, sseResponse } from '../../http/openapi';
import { createRouter } from '../../http/router';
import type { Caller } from '../../auth/caller';
import { newId } from '../../lib/crypto';

export const responsesApi = createRouter();

/** What each `item_reference` in the input stands for, from the team's earlier calls. */
async function resolveReferences(deps: Parameters<typeof earlierAnswers>[0], caller: Caller, body: ResponsesRequest) {
  const items = referencedItems(body);
  const resolved = new Map<string, Referenced>();
  if (!items.length) return resolved;
  const calls = new Map(items.map((id) => [id, callOfItem(id)]));
  const ids = [...new Set([...calls.values()].filter((id) => id !== null))];
  const answers = ids.length ? await earlierAnswers(deps, caller, ids) : new Map();
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
    const params = responsesToParams(body, await resolveReferences(stores(c), c.var.caller, body));
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
    const background = body.background === true;
    const form = { model: body.model, createdAt: Math.floor(Date.now() / 1000), echo: echoOf(body) };
    const stream = {
      finishesJob: true,
      spec: { dialect: 'responses', ...form, background } as const,
      // A background response is resumable; another follows its team's default.
      resumable: background || undefined,
    };
    if (body.stream === true) return streamAnswer(callDeps(c), admission, stream);
    if (background) {
      const { callId, jobId, token } = await startInBackground(callDeps(c), admission, stream);
      c.header('x-job-id', jobId);
      c.header('x-call-id', callId);
      return c.json(await backgroundResponseOf(c, callId, { token }), 200);
    }

    const { admitted, outcome, usage, price } = await collectCall(callDeps(c), admission, { finishesJob: true });
    c.header('x-job-id', admitted.job.id);
    c.header('x-call-id', admitted.callId);
    const identity = { ...responseIdentity(admitted.callId, form), cost: price };
    return c.json(responseOf(identity, outcome.completion, usage), 200);
  },
);

/**
 * A background response's object as it stands: the answer so far while it runs, then whole,
 * cancelled or failed. Only background responses are kept, so any other id is unknown.
 */
async function backgroundResponseOf(c: Context<AppEnv>, callId: string, access?: Access) {
  const snap = await callSnapshot(c.env.CALL_STREAMS, callId, access ?? (await accessOf(c)));
  if (snap.spec.dialect !== 'responses') throw notFound('response', callId.replace(/^call_/, 'resp_'));
  const identity = {
    ...responseIdentity(callId, snap.spec),
    cost: priceOf({ admitted: snap.admitted, upstream: { model: snap.served } }),
  };
  const usage = snap.usage ?? { input: 0, output: 0, cachedInput: 0, cacheWrite: 0, reasoning: 0 };
  let state: BackgroundState;
  if (snap.state === 'streaming') state = { status: 'in_progress' };
  else if (snap.status === 'success') state = { status: 'ended', usage, completedAt: snap.endedAt ?? Date.now() };
  else if (snap.status === 'client_aborted') state = { status: 'cancelled', usage, error: null };
  else state = { status: 'failed', usage, error: snap.error };
  return backgroundResponse(identity, snap.completion, state);
}

/** The call behind a response id, or 404 for an id that is not one of Sluice's. */
function callOf(responseId: string): string {
  const callId = callOfResponse(responseId);
  if (!callId) throw notFound('response', responseId);
  return callId;
}

const ResponseIdParam = z.object({
  response_id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'response_id', in: 'path' } }),
});

responsesApi.openapi(
  createRoute({
    method: 'get',
    path: '/responses/{response_id}',
    tags: ['OpenAI-compatible'],
    summary:
      'A background response: its object as it stands, or with stream=true its events after starting_after, then the live ones',
    security: bearerAuth,
    request: {
      params: ResponseIdParam,
      query: z.object({ stream: z.string().optional(), starting_after: z.string().optional() }),
    },
    responses: {
      200: {
        content: {
          'application/json': { schema: z.object({ object: z.literal('response') }).loose() },
          ...sseResponse('').content,
        },
        description: 'The response object, or its stream of events',
      },
      ...callErrors,
    },
  }),
  async (c) => {
    const access = await accessOf(c);
    const callId = callOf(c.req.valid('param').response_id);
    if (c.req.query('stream') === 'true') {
      const after = lastSeen(c, 'starting_after');
      const { stream } = await attachStream(c.env.CALL_STREAMS, callId, access, after);
      return new Response(stream ?? '', { headers: { ...SSE_HEADERS, 'x-call-id': callId } });
    }
    return c.json(await backgroundResponseOf(c, callId, access), 200);
  },
);

responsesApi.openapi(
  createRoute({
    method: 'post',
    path: '/responses/{response_id}/cancel',
    tags: ['OpenAI-compatible'],
    summary: 'Cancel a background response: its upstream is closed at once; what it produced is recorded and charged',
    security: bearerAuth,
    request: { params: ResponseIdParam },
    responses: {
      200: {
        content: { 'application/json': { schema: z.object({ object: z.literal('response') }).loose() } },
        description: 'The response object, cancelled (or as it ended, if it had)',
      },
      ...callErrors,
    },
  }),
  async (c) => {
    const access = await accessOf(c);
    const callId = callOf(c.req.valid('param').response_id);
    await cancelStream(c.env.CALL_STREAMS, callId, access);
    return c.json(await backgroundResponseOf(c, callId, access), 200);
  },
);
