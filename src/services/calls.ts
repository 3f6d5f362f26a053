import { stmt } from '../db/raw';
import { and, eq, sql } from 'drizzle-orm';
import { costUsd } from '../billing/pricing';
import { jobs, llmCalls, type Model } from '../db/schema';
import type { Db, Env } from '../env';
import { ApiError, conflict } from '../errors';
import { newId } from '../lib/crypto';
import type { ChatParams } from '../schemas/chat';
import { type PumpOutcome, pump } from '../streaming/pump';
import { SSE_HEADERS } from '../streaming/sse';
import { withoutUsageChunk } from '../streaming/usage-filter';
import { track } from './inflight';
import { type OpenedUpstream, UpstreamFailure, openUpstream } from './upstream';
import { requireModel, selectModel } from './models';
import { finishJobStatements, requireJob, selectJob } from './jobs';
import { requirePrincipal, selectPrincipal } from './principal';

export interface CallRequest {
  db: Db;
  env: Env;
  executionCtx: Pick<ExecutionContext, 'waitUntil'>;
  /** Fires when the client disconnects (with the `enable_request_signal` flag). */
  requestSignal: AbortSignal;
  jobId: string;
  teamId: string;
  model: Model;
  params: ChatParams;
  stream: boolean;
  /** create-and-call: the job finishes with its only call. */
  autoComplete: boolean;
  /** Whether the client sees the final usage chunk (the books always get usage). Default true. */
  includeUsage?: boolean;
}

export const modelAlias = (params: ChatParams, env: Env) => params.model ?? env.DEFAULT_MODEL ?? 'mock';

/** Everything a call on an existing job needs, read in one D1 round trip. */
export async function loadCallContext(db: Db, keyHash: string, jobId: string, alias: string) {
  const [principalRows, jobRows, modelRows] = await db.batch([
    selectPrincipal(db, keyHash),
    selectJob(db, jobId),
    selectModel(db, alias),
  ]);
  const principal = requirePrincipal(principalRows);
  const job = requireJob(jobRows, principal, jobId);
  if (job.status !== 'pending' && job.status !== 'in_progress')
    throw conflict(`Job '${jobId}' is ${job.status}; it accepts no more calls`, 'job_not_active');
  return { principal, job, model: requireModel(modelRows, alias) };
}

interface OpenedCall extends OpenedUpstream {
  callId: string;
  startedAt: number;
  abort: AbortController;
}

/**
 * Opens the upstream (with retries and fallbacks, see upstream.ts). A failure before the
 * first byte is the client's HTTP error (429/502/504), recorded as an `error` call; nothing
 * was streamed, so nothing is charged.
 */
async function openCall(req: CallRequest): Promise<OpenedCall> {
  const callId = newId('call');
  const startedAt = Date.now();
  const abort = new AbortController();
  req.requestSignal.addEventListener('abort', () => abort.abort(), { once: true });
  try {
    const opened = await openUpstream(req.db, req.env, req.model, req.params, abort.signal);
    if (!req.autoComplete) {
      req.executionCtx.waitUntil(
        req.db
          .update(jobs)
          .set({ status: 'in_progress' })
          .where(and(eq(jobs.id, req.jobId), eq(jobs.status, 'pending')))
          .run(),
      );
    }
    return { ...opened, callId, startedAt, abort };
  } catch (err) {
    if (!(err instanceof UpstreamFailure)) throw err;
    const outcome: PumpOutcome = {
      status: 'error',
      completion: { id: null, content: '', toolCalls: [], finishReason: null, usage: null, done: false, error: null },
      ttftMs: null,
      latencyMs: Date.now() - startedAt,
      error: err.error.toJSON().error,
    };
    req.executionCtx.waitUntil(settle(req, callId, outcome, { model: err.model, attempts: err.attempts }));
    throw err.error;
  }
}

const streamTimers = (env: Env) => ({
  keepaliveMs: Number(env.KEEPALIVE_MS ?? 15_000),
  idleTimeoutMs: Number(env.STREAM_IDLE_TIMEOUT_MS ?? 60_000),
});

/** Streams the answer to the client as SSE; the books are written after it closes. */
export async function streamCall(req: CallRequest, headers: Record<string, string> = {}): Promise<Response> {
  const opened = await openCall(req);
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  // The client cancelling the response errors the writable side: stop the upstream at once.
  writer.closed.catch(() => opened.abort.abort());
  const transcoder = opened.provider.transcoder?.(opened.target);
  const done = pump({
    upstream: opened.upstream.body!,
    writer,
    transcoder: req.includeUsage === false ? withoutUsageChunk(transcoder) : transcoder,
    startedAt: opened.startedAt,
    clientSignal: opened.abort.signal,
    ...streamTimers(req.env),
  }).then((outcome) => settle(req, opened.callId, outcome, opened));
  req.executionCtx.waitUntil(done);
  return new Response(readable, { headers: { ...SSE_HEADERS, 'x-call-id': opened.callId, ...headers } });
}

/** Runs the call to its end and returns the whole answer (non-streaming endpoints). */
export async function collectCall(req: CallRequest) {
  const opened = await openCall(req);
  const outcome = await pump({
    upstream: opened.upstream.body!,
    writer: null,
    transcoder: opened.provider.transcoder?.(opened.target),
    startedAt: opened.startedAt,
    clientSignal: opened.abort.signal,
    ...streamTimers(req.env),
  });
  // The caller reads the job right after this answer, so the books are written first.
  await settle(req, opened.callId, outcome, opened);
  if (outcome.status !== 'success') {
    const e = outcome.error!;
    throw new ApiError(502, 'upstream_error', e.code ?? 'upstream_error', e.message);
  }
  return { callId: opened.callId, outcome, served: opened.model };
}

/**
 * Writes the call row (and, for create-and-call, finishes the job and settles its credit)
 * in one batch. Runs under waitUntil for streams, so a disconnect cannot lose it.
 */
function settle(
  req: CallRequest,
  callId: string,
  outcome: PumpOutcome,
  served: { model: Model; attempts: number },
): Promise<unknown> {
  const { db } = req;
  const model = served.model;
  const { completion } = outcome;
  const usage = completion.usage;
  const promptTokens = usage?.prompt_tokens ?? 0;
  const completionTokens = usage?.completion_tokens ?? 0;
  const now = Date.now();
  const row = {
    id: callId,
    jobId: req.jobId,
    teamId: req.teamId,
    model: req.model.alias,
    provider: model.provider,
    upstreamModel: model.upstreamModel,
    servedBy: model.alias,
    attempts: served.attempts,
    purpose: req.params.purpose ?? null,
    status: outcome.status,
    stream: req.stream,
    content: completion.content,
    toolCalls: completion.toolCalls.length ? completion.toolCalls : null,
    finishReason: completion.finishReason,
    promptTokens,
    completionTokens,
    usageSource: usage ? ('provider' as const) : ('estimated' as const),
    costUsd: costUsd(model, { prompt_tokens: promptTokens, completion_tokens: completionTokens }),
    ttftMs: outcome.ttftMs,
    latencyMs: outcome.latencyMs,
    error: outcome.error?.message ?? null,
    createdAt: now,
  };
  const jobStatus = outcome.status === 'success' ? 'completed' : outcome.status === 'error' ? 'failed' : 'cancelled';
  const work = req.autoComplete
    ? db.batch([
        db.insert(llmCalls).values(row),
        ...finishJobStatements(db, req.teamId, req.jobId, jobStatus, now, {
          errorMessage: outcome.error?.message ?? null,
        }),
      ])
    : db.batch([
        db.insert(llmCalls).values(row),
        stmt(db, sql`UPDATE jobs SET status = 'in_progress' WHERE id = ${req.jobId} AND status = 'pending'`),
      ]);
  const logged = work.catch((err) => {
    // The books must never fail silently: this shows in `wrangler tail` and Workers Logs.
    console.error(
      JSON.stringify({ msg: 'call bookkeeping failed', call_id: callId, job_id: req.jobId, error: String(err) }),
    );
  });
  return track(req.jobId, logged);
}
