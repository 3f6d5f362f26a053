/** The job API: open a job, make calls inside it (streamed or whole), complete it, read it back. */
import { createRoute, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AdmissionRequest } from '../../calls/admission';
import { collectCall, modelAlias } from '../../calls/run';
import { streamAnswer } from '../../resumable/start';
import type { TokenUsage } from '../../core/completion';
import type { Model } from '../../db/schema';
import type { StreamSpec } from '../../calls/stream-spec';
import type { BufferConfig } from '../../dialects/ndjson/coalesce';
import { prefersNdjson } from '../../dialects/ndjson/dialect';
import { type AppEnv, callDeps, stores } from '../../http/context';
import { bearerAuth, callErrors, json, jsonBody, jobStreamResponse, teamErrors } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { accountDb } from '../../accounts/account/db';
import { completeJob, jobReport, openJob, readJob, requireJob } from '../../jobs/lifecycle';
import { callOfJob, jobById } from '../../jobs/store';
import { callDetail, callView, jobView } from '../../jobs/views';
import { newId } from '../../lib/crypto';
import { iso } from '../../lib/time';
import { type ChatParams, chatParams } from '../../core/chat-params';
import {
  CallBody,
  CallDetail,
  CallIdParams,
  CompleteJobBody,
  CompleteJobResponse,
  CreateAndCallBody,
  CreateAndCallResponse,
  CreateJobBody,
  CreateJobResponse,
  JobIdParam,
  JobResponse,
  LlmCallResponse,
} from '../../schemas/jobs';
import { badRequest, notFound } from '../../errors';
import type { PumpOutcome } from '../../streaming/pump/types';

export const jobsApi = createRouter();

const tags = ['Jobs'];

/**
 * A job call streamed in the form the request's Accept asks for: NDJSON events for
 * `application/x-ndjson`, otherwise OpenAI chunks as SSE, the usage chunk included.
 */
function streamJobCall(
  c: Context<AppEnv>,
  admission: AdmissionRequest,
  finishesJob: boolean,
  body: { resumable?: boolean; buffer_config?: BufferConfig },
) {
  const ndjson = prefersNdjson(c.req.header('accept'));
  if (body.buffer_config && !ndjson)
    throw badRequest('buffer_config applies to NDJSON streams: send Accept: application/x-ndjson', 'buffer_config');
  const spec: StreamSpec = ndjson
    ? { dialect: 'ndjson', buffer: body.buffer_config }
    : { dialect: 'chat', includeUsage: true };
  return streamAnswer(callDeps(c), admission, { finishesJob, spec, resumable: body.resumable });
}

/** A call on a job created by the same request (create-and-call). */
function withNewJob(c: Context<AppEnv>, body: z.infer<typeof CreateAndCallBody>): AdmissionRequest {
  return {
    caller: c.var.caller,
    alias: modelAlias(body, c.var.config),
    params: chatParams(body),
    now: Date.now(),
    newJob: {
      id: newId('job'),
      teamId: body.team_id,
      jobType: body.job_type,
      userId: body.user_id ?? null,
      metadata: body.metadata ?? null,
    },
  };
}

/** A call on an existing job. */
const onJob = (c: Context<AppEnv>, jobId: string, body: ChatParams): AdmissionRequest => ({
  caller: c.var.caller,
  alias: modelAlias(body, c.var.config),
  params: chatParams(body),
  now: Date.now(),
  jobId,
});

function callResult(outcome: PumpOutcome, usage: TokenUsage, model: Model) {
  const { completion } = outcome;
  return {
    response: {
      content: completion.content,
      finish_reason: completion.finishReason,
      ...(completion.toolCalls.length ? { tool_calls: completion.toolCalls } : {}),
    },
    metadata: {
      model: model.alias,
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      tokens_used: usage.input + usage.output,
      latency_ms: outcome.latencyMs,
    },
  };
}

jobsApi.openapi(
  createRoute({
    method: 'post',
    path: '/jobs/create',
    tags,
    summary: 'Create a job and hold its credit',
    security: bearerAuth,
    request: { body: jsonBody(CreateJobBody) },
    responses: { 200: json(CreateJobResponse, 'The new job'), ...callErrors },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const { jobId, createdAt } = await openJob(stores(c), c.var.caller, {
      teamId: body.team_id,
      jobType: body.job_type,
      userId: body.user_id ?? null,
      metadata: body.metadata ?? null,
    });
    return c.json({ job_id: jobId, status: 'pending' as const, created_at: iso(createdAt) }, 200);
  },
);

jobsApi.openapi(
  createRoute({
    method: 'post',
    path: '/jobs/create-and-call-stream',
    tags,
    summary: 'Create a job, stream one call, complete the job',
    security: bearerAuth,
    request: { body: jsonBody(CreateAndCallBody) },
    responses: { 200: jobStreamResponse('The answer as a stream; `x-job-id` names the job'), ...callErrors },
  }),
  async (c) => {
    const body = c.req.valid('json');
    return streamJobCall(c, withNewJob(c, body), true, body);
  },
);

jobsApi.openapi(
  createRoute({
    method: 'post',
    path: '/jobs/create-and-call',
    tags,
    summary: 'Create a job, make one call, complete the job',
    security: bearerAuth,
    request: { body: jsonBody(CreateAndCallBody) },
    responses: { 200: json(CreateAndCallResponse, 'The answer and the settled job'), ...callErrors },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const { admitted, outcome, usage } = await collectCall(callDeps(c), withNewJob(c, body), { finishesJob: true });
    const { callId, job } = admitted;
    const report = await jobReport({ d1: c.env.DB, account: accountDb(c.env.ACCOUNTS, job.teamId) }, job.id);
    c.header('x-job-id', job.id);
    return c.json(
      {
        job_id: job.id,
        call_id: callId,
        status: report.job.status,
        ...callResult(outcome, usage, admitted.model),
        costs: report.costs,
        completed_at: iso(report.job.completedAt),
      },
      200,
    );
  },
);

jobsApi.openapi(
  createRoute({
    method: 'post',
    path: '/jobs/{job_id}/llm-call-stream',
    tags,
    summary: 'Stream one LLM call inside a job',
    security: bearerAuth,
    request: { params: JobIdParam, body: jsonBody(CallBody) },
    responses: { 200: jobStreamResponse('The answer as a stream'), ...callErrors },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const body = c.req.valid('json');
    return streamJobCall(c, onJob(c, job_id, body), false, body);
  },
);

jobsApi.openapi(
  createRoute({
    method: 'post',
    path: '/jobs/{job_id}/llm-call',
    tags,
    summary: 'Make one LLM call inside a job and return the whole answer',
    security: bearerAuth,
    request: { params: JobIdParam, body: jsonBody(CallBody) },
    responses: { 200: json(LlmCallResponse, 'The answer'), ...callErrors },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const admission = onJob(c, job_id, c.req.valid('json'));
    const { admitted, outcome, usage } = await collectCall(callDeps(c), admission, { finishesJob: false });
    return c.json({ call_id: admitted.callId, ...callResult(outcome, usage, admitted.model) }, 200);
  },
);

jobsApi.openapi(
  createRoute({
    method: 'post',
    path: '/jobs/{job_id}/complete',
    tags,
    summary: 'Finish a job: charge its credit (completed) or release it (failed)',
    security: bearerAuth,
    request: { params: JobIdParam, body: jsonBody(CompleteJobBody) },
    responses: { 200: json(CompleteJobResponse, 'The settled job and its costs'), ...callErrors },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { job, calls, costs } = await completeJob(stores(c), c.var.caller, job_id, body.status, {
      errorMessage: body.error_message,
      metadata: body.metadata,
    });
    return c.json(
      { job_id: job.id, status: job.status, completed_at: iso(job.completedAt), costs, calls: calls.map(callView) },
      200,
    );
  },
);

jobsApi.openapi(
  createRoute({
    method: 'get',
    path: '/jobs/{job_id}',
    tags,
    summary: 'A job with its costs and its calls, each with the answer it stored',
    security: bearerAuth,
    request: { params: JobIdParam },
    responses: { 200: json(JobResponse, 'The job'), ...teamErrors },
  }),
  async (c) => {
    const { job, calls, costs } = await readJob(stores(c), c.var.caller, c.req.valid('param').job_id);
    return c.json({ ...jobView(job), costs, calls: calls.map(callDetail) }, 200);
  },
);

jobsApi.openapi(
  createRoute({
    method: 'get',
    path: '/jobs/{job_id}/calls/{call_id}',
    tags,
    summary: 'One call of a job, whole: its usage, cost, timing and the answer it stored',
    security: bearerAuth,
    request: { params: CallIdParams },
    responses: { 200: json(CallDetail, 'The call'), ...teamErrors },
  }),
  async (c) => {
    const { job_id, call_id } = c.req.valid('param');
    const [principal, job, call] = await c.var.caller.batch(c.env.DB, [jobById(job_id), callOfJob(job_id, call_id)]);
    requireJob(job, principal, job_id);
    if (!call) throw notFound('call', call_id);
    return c.json(callDetail(call), 200);
  },
);
