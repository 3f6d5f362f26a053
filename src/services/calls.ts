import { settleCallHold } from '../billing/credits';
import { callCredits } from '../billing/metering';
import { costUsd } from '../billing/pricing';
import { estimateUsage } from '../billing/tokens';
import { insertRow } from '../db/rows';
import { type Model, llmCalls } from '../db/schema';
import type { Config } from '../config';
import type { Db } from '../db/client';
import { ApiError } from '../errors';
import { nextTurn } from '../lib/event-loop';
import type { ChatParams } from '../schemas/chat';
import type { Usage } from '../core/completion';
import { collect, startPump } from '../streaming/pump/start';
import type { PumpOutcome } from '../streaming/pump/types';
import { SSE_HEADERS } from '../streaming/sse/encode';
import { withoutUsageChunk } from '../streaming/usage-filter';
import { type AdmissionRequest, type Admitted, admitCall, countTokens, releaseSlot } from './admission';
import { track } from './inflight';
import { finishJobStatements } from './jobs';
import { storedAnswer } from './stored-answer';
import { type OpenedUpstream, UpstreamFailure, openUpstream } from './upstream';
import { rememberAdmission, sameTarget, warmTarget } from './warm';

/** What a call needs from the request around it. */
export interface CallDeps {
  db: Db;
  config: Config;
  executionCtx: Pick<ExecutionContext, 'waitUntil'>;
  /** Fires when the client disconnects (with the `enable_request_signal` flag). */
  requestSignal: AbortSignal;
}

export interface CallOptions {
  stream: boolean;
  /** create-and-call: the job finishes with its only call. */
  autoComplete: boolean;
  /** Whether the client sees the final usage chunk (the books always get usage). Default true. */
  includeUsage?: boolean;
}

interface CallRequest extends CallDeps, CallOptions {
  /** What admission decided: the call's id, key, team, model and job. */
  admitted: Admitted;
  params: ChatParams;
}

export const modelAlias = (params: ChatParams, config: Config) => params.model ?? config.defaultModel;

interface OpenedCall extends OpenedUpstream {
  startedAt: number;
  abort: AbortController;
}

/**
 * Admits the call (admission.ts) and opens its upstream (upstream.ts). When this isolate has
 * admitted the same key and model within the last minute, the upstream request goes out at the
 * same time as the admission batch, so the client waits for the slower of the two instead of
 * their sum; if admission refuses, that request is aborted before a byte of it reaches anyone.
 * A failure before the first byte is the client's HTTP error (429/502/504), recorded as an
 * `error` call; nothing was streamed, so nothing is charged.
 */
async function begin(deps: CallDeps, admission: AdmissionRequest, opts: CallOptions) {
  const startedAt = Date.now();
  const abort = new AbortController();
  deps.requestSignal.addEventListener('abort', () => abort.abort(), { once: true });
  const early = warmTarget(admission.keyHash, admission.alias, startedAt);
  const earlyAbort = new AbortController();
  abort.signal.addEventListener('abort', () => earlyAbort.abort(), { once: true });
  const earlyOpen = early
    ? openUpstream(deps.db, deps.config, early, admission.params, earlyAbort.signal).then(
        (opened) => ({ opened }),
        (failure: unknown) => ({ failure }),
      )
    : null;

  // One turn of the event loop lets the runtime put the early request on the wire before the
  // admission batch is sent: where D1 shares the thread (locally), its work would otherwise
  // run first and delay the upstream by the whole batch.
  if (earlyOpen) await nextTurn();
  let admitted: Admitted;
  try {
    admitted = await admitCall(deps.db, admission);
  } catch (err) {
    earlyAbort.abort();
    void earlyOpen?.then((r) => ('opened' in r ? r.opened.upstream.body?.cancel() : undefined));
    throw err;
  }
  rememberAdmission(admission.keyHash, admitted.model, Date.now(), admitted.key.lastUsedAt);
  const req: CallRequest = { ...deps, ...opts, admitted, params: admission.params };

  try {
    let result: { opened: OpenedUpstream } | { failure: unknown };
    if (earlyOpen && early && sameTarget(early, admitted.model)) {
      result = await earlyOpen;
    } else {
      earlyAbort.abort();
      void earlyOpen?.then((r) => ('opened' in r ? r.opened.upstream.body?.cancel() : undefined));
      result = await openUpstream(deps.db, deps.config, admitted.model, admission.params, abort.signal).then(
        (opened) => ({ opened }),
        (failure: unknown) => ({ failure }),
      );
    }
    if ('failure' in result) throw result.failure;
    return { req, opened: { ...result.opened, startedAt, abort } satisfies OpenedCall };
  } catch (err) {
    if (!(err instanceof UpstreamFailure)) throw err;
    const outcome: PumpOutcome = {
      status: 'error',
      completion: { id: null, content: '', toolCalls: [], finishReason: null, usage: null, done: false, error: null },
      ttftMs: null,
      latencyMs: Date.now() - startedAt,
      error: err.error.toJSON().error,
    };
    deps.executionCtx.waitUntil(settle(req, outcome, { model: err.model, attempts: err.attempts }));
    throw err.error;
  }
}

const streamTimers = (config: Config) => ({
  keepaliveMs: config.keepaliveMs,
  idleTimeoutMs: config.streamIdleTimeoutMs,
});

/** Streams the answer to the client as SSE; the books are written after it closes. */
export async function streamCall(
  deps: CallDeps,
  admission: AdmissionRequest,
  opts: Omit<CallOptions, 'stream'>,
): Promise<Response> {
  const { req, opened } = await begin(deps, admission, { ...opts, stream: true });
  const includeUsage = req.includeUsage !== false;
  const transcoder = opened.provider.transcoder
    ? opened.provider.transcoder(opened.target, { includeUsage })
    : includeUsage
      ? undefined
      : withoutUsageChunk();
  const { readable, outcome } = startPump({
    upstream: opened.upstream.body!,
    transcoder,
    startedAt: opened.startedAt,
    clientSignal: opened.abort.signal,
    ...streamTimers(req.config),
  });
  req.executionCtx.waitUntil(outcome.then((result) => settle(req, result, opened)));
  const { callId, job } = req.admitted;
  return new Response(readable, { headers: { ...SSE_HEADERS, 'x-call-id': callId, 'x-job-id': job.id } });
}

/** Runs the call to its end and returns the whole answer (non-streaming endpoints). */
export async function collectCall(deps: CallDeps, admission: AdmissionRequest, opts: Omit<CallOptions, 'stream'>) {
  const { req, opened } = await begin(deps, admission, { ...opts, stream: false });
  const outcome = await collect({
    upstream: opened.upstream.body!,
    transcoder: opened.provider.transcoder?.(opened.target),
    startedAt: opened.startedAt,
    clientSignal: opened.abort.signal,
    ...streamTimers(req.config),
  });
  // The caller reads the job right after this answer, so the books are written first.
  const usage = await settle(req, outcome, opened);
  if (outcome.status !== 'success') {
    const e = outcome.error!;
    throw new ApiError(502, 'upstream_error', e.code ?? 'upstream_error', e.message);
  }
  return { admitted: req.admitted, outcome, usage, served: opened.model };
}

/** The provider's usage when it sent one (zeros included), else counted with the tokenizer. */
async function resolveUsage(req: CallRequest, outcome: PumpOutcome): Promise<{ usage: Usage; estimated: boolean }> {
  const { completion } = outcome;
  if (completion.usage) return { usage: completion.usage, estimated: false };
  const nothing = !completion.content && !completion.toolCalls.length && outcome.ttftMs === null;
  if (nothing) return { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, estimated: false };
  return { usage: await estimateUsage(req.params, completion), estimated: true };
}

/**
 * Writes the books for a finished call in one batch: the call row; the call's credits in
 * consumption modes (charged on success and on a client disconnect, for what was produced;
 * never for an upstream failure); its concurrency slot and token count; and, for
 * create-and-call, the job's end and the job's credit. Runs under waitUntil for streams, so a
 * disconnect cannot lose it. Resolves to the usage recorded.
 */
async function settle(
  req: CallRequest,
  outcome: PumpOutcome,
  served: { model: Model; attempts: number },
): Promise<Usage> {
  const { db, admitted } = req;
  const { callId, job, team } = admitted;
  const model = served.model;
  const { completion } = outcome;
  let usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  let estimated = false;
  const work = (async () => {
    ({ usage, estimated } = await resolveUsage(req, outcome));
    const now = Date.now();
    const stored = storedAnswer(completion.content, completion.toolCalls);
    const row = {
      id: callId,
      jobId: job.id,
      teamId: job.teamId,
      model: admitted.model.alias,
      provider: model.provider,
      upstreamModel: model.upstreamModel,
      servedBy: model.alias,
      attempts: served.attempts,
      purpose: req.params.purpose ?? null,
      status: outcome.status,
      stream: req.stream,
      content: stored.content,
      toolCalls: stored.toolCalls.length ? stored.toolCalls : null,
      storedTruncated: stored.truncated,
      finishReason: completion.finishReason,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      usageSource: estimated ? ('estimated' as const) : ('provider' as const),
      costUsd: costUsd(model, usage),
      ttftMs: outcome.ttftMs,
      latencyMs: outcome.latencyMs,
      error: outcome.error?.message ?? null,
      createdAt: now,
    };
    const billable = outcome.status !== 'error';
    const credits = billable ? callCredits(team, model, usage) : 0;
    const jobStatus = outcome.status === 'success' ? 'completed' : outcome.status === 'error' ? 'failed' : 'cancelled';
    await db.$client.batch([
      insertRow(db, llmCalls, row),
      releaseSlot(db, callId),
      // Only what this team's settings (as admitted) need: every statement costs on the hot path.
      ...(admitted.team.tpmLimit !== null || admitted.key.tpmLimit !== null
        ? [countTokens(db, admitted, usage.total_tokens)]
        : []),
      // (A call on an existing job moved it to in_progress at admission.)
      ...(req.autoComplete
        ? finishJobStatements(db, job.teamId, job.id, jobStatus, now, { errorMessage: outcome.error?.message ?? null })
        : []),
      ...(team.budgetMode !== 'job_based'
        ? settleCallHold(db, { teamId: job.teamId, jobId: job.id, callId, credits }, now)
        : []),
    ]);
  })().catch((err) => {
    // The books must never fail silently: this shows in `wrangler tail` and Workers Logs.
    console.error(
      JSON.stringify({ msg: 'call bookkeeping failed', call_id: callId, job_id: job.id, error: String(err) }),
    );
  });
  await track(job.id, work);
  return usage;
}
