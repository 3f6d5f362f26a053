import { createRoute } from '@hono/zod-openapi';
import { errorResponses, bearerAuth, json, jsonBody, sseResponse } from '../http/openapi';
import { createRouter } from '../http/router';
import { virtualKey } from '../middleware/auth';
import {
  CallBody,
  CompleteJobBody,
  CompleteJobResponse,
  CreateAndCallBody,
  CreateAndCallResponse,
  CreateJobBody,
  CreateJobResponse,
  ErrorResponse,
  JobIdParam,
  JobResponse,
  LlmCallResponse,
} from '../schemas/jobs';
import type { ChatParams } from '../schemas/chat';
import type { AdmissionRequest } from '../services/admission';
import { type CallDeps, collectCall, modelAlias, streamCall } from '../services/calls';
import { newId } from '../lib/crypto';
import type { Usage } from '../core/completion';
import type { z } from '@hono/zod-openapi';
import { settled } from '../services/inflight';
import {
  callView,
  completeJob,
  createJob,
  jobReport,
  jobView,
  requireJob,
  selectCalls,
  selectJob,
  selectTeam,
  summarizeCosts,
} from '../services/jobs';
import { requirePrincipal, selectPrincipal } from '../services/principal';
import type { PumpOutcome } from '../streaming/pump/types';
import type { Context } from 'hono';
import type { AppEnv } from '../http/context';
import type { Job, Model } from '../db/schema';

export const jobsApi = createRouter();
jobsApi.use('/jobs/*', virtualKey);

const tags = ['Jobs'];
const callErrors = {
  ...errorResponses,
  402: json(ErrorResponse, 'Not enough credits'),
  409: json(ErrorResponse, 'The job is already finished'),
  429: json(ErrorResponse, 'Upstream rate limited (Retry-After passed on)'),
  502: json(ErrorResponse, 'Upstream failed'),
  504: json(ErrorResponse, 'Upstream timed out'),
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function pickParams(body: ChatParams): ChatParams {
  const { messages, model, temperature, max_tokens, stop, top_p, tools, tool_choice, response_format, purpose } = body;
  return { messages, model, temperature, max_tokens, stop, top_p, tools, tool_choice, response_format, purpose };
}

const deps = (c: Context<AppEnv>): CallDeps => ({
  db: c.var.db,
  config: c.var.config,
  executionCtx: c.executionCtx,
  requestSignal: c.req.raw.signal,
});

/** A call on a job created by the same request (create-and-call). */
function withNewJob(c: Context<AppEnv>, body: z.infer<typeof CreateAndCallBody>): AdmissionRequest {
  return {
    keyHash: c.var.keyHash,
    alias: modelAlias(body, c.var.config),
    params: pickParams(body),
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
  keyHash: c.var.keyHash,
  alias: modelAlias(body, c.var.config),
  params: pickParams(body),
  now: Date.now(),
  jobId,
});

function callResult(outcome: PumpOutcome, usage: Usage, model: Model) {
  const { completion } = outcome;
  const prompt = usage.prompt_tokens;
  const completionTokens = usage.completion_tokens;
  return {
    response: {
      content: completion.content,
      finish_reason: completion.finishReason,
      ...(completion.toolCalls.length ? { tool_calls: completion.toolCalls } : {}),
    },
    metadata: {
      model: model.alias,
      prompt_tokens: prompt,
      completion_tokens: completionTokens,
      tokens_used: prompt + completionTokens,
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
    const { jobId, createdAt } = await createJob(c.var.db, c.var.keyHash, {
      teamId: body.team_id,
      jobType: body.job_type,
      userId: body.user_id,
      metadata: body.metadata,
    });
    return c.json({ job_id: jobId, status: 'pending' as const, created_at: iso(createdAt)! }, 200);
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
    responses: { 200: sseResponse('The answer as SSE; `x-job-id` names the job'), ...callErrors },
  }),
  async (c) => {
    const body = c.req.valid('json');
    return streamCall(deps(c), withNewJob(c, body), { autoComplete: true });
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
    const { admitted, outcome, usage } = await collectCall(deps(c), withNewJob(c, body), { autoComplete: true });
    const { callId, job } = admitted;
    const jobId = job.id;
    const report = await jobReport(c.var.db, jobId, admitted.team.id);
    c.header('x-job-id', jobId);
    return c.json(
      {
        job_id: jobId,
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
    responses: { 200: sseResponse('The answer as SSE'), ...callErrors },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const body = c.req.valid('json');
    return streamCall(deps(c), onJob(c, job_id, body), { autoComplete: false });
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
    const body = c.req.valid('json');
    const { admitted, outcome, usage } = await collectCall(deps(c), onJob(c, job_id, body), { autoComplete: false });
    const callId = admitted.callId;
    return c.json({ call_id: callId, ...callResult(outcome, usage, admitted.model) }, 200);
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
    await settled(job_id);
    const { job, calls, costs } = await completeJob(c.var.db, c.var.keyHash, job_id, body.status, {
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
    summary: 'A job with its calls and costs',
    security: bearerAuth,
    request: { params: JobIdParam },
    responses: { 200: json(JobResponse, 'The job'), ...errorResponses },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const db = c.var.db;
    const [principalRows, jobRows, calls] = await db.batch([
      selectPrincipal(db, c.var.keyHash),
      selectJob(db, job_id),
      selectCalls(db, job_id),
    ]);
    const principal = requirePrincipal(principalRows);
    const job = requireJob(jobRows, principal, job_id);
    const [team] = await selectTeam(db, job.teamId);
    return c.json({ ...jobView(job), costs: summarizeCosts(job, calls, team!), calls: calls.map(callView) }, 200);
  },
);
