/**
 * Opening a call: admission (admission.ts) and the upstream request (upstream.ts), overlapped
 * when they can be. The result is a handle on an admitted call whose upstream is answering;
 * what becomes of its bytes is run.ts's business.
 */
import { type Accounts, RETRIES, keyAccount } from '../accounts/account/db';
import { DEFAULT_OUTPUT_TOKENS } from '../billing/budget';
import { catalogEntry } from '../catalog/models';
import type { Config } from '../config';
import { newId } from '../lib/crypto';
import { nextTurn } from '../lib/event-loop';
import type { ChatParams } from '../core/chat-params';
import type { PumpOutcome } from '../streaming/pump/types';
import { type AdmissionRequest, type Admitted, admitCall } from './admission';
import { writeBooks } from './books';
import { type OpenedUpstream, UpstreamFailure, openUpstream } from './upstream';
import { rememberAdmission, sameTarget, warmTarget } from './warm';

/** What a call needs from the request around it. */
export interface CallDeps {
  d1: D1Database;
  /** The teams' accounts, where a call is admitted and settled. */
  accounts: Accounts;
  config: Config;
  executionCtx: Pick<ExecutionContext, 'waitUntil'>;
  /** Fires when the client disconnects (with the `enable_request_signal` flag). */
  requestSignal: AbortSignal;
}

export interface CallOptions {
  stream: boolean;
  /** The job ends with this call (create-and-call, `/v1`). */
  finishesJob: boolean;
}

/** An admitted call whose upstream has answered. */
export interface OpenCall extends CallOptions {
  admitted: Admitted;
  /** The parameters as the upstream got them (`max_tokens` as admission allowed it). */
  params: ChatParams;
  upstream: OpenedUpstream;
  startedAt: number;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

type Attempt = { opened: OpenedUpstream } | { failure: unknown };

const attempt = (p: Promise<OpenedUpstream>): Promise<Attempt> =>
  p.then(
    (opened) => ({ opened }),
    (failure: unknown) => ({ failure }),
  );

/** An early request nobody will read: aborted, and its body closed if it had already answered. */
function discard(early: { abort: AbortController; result: Promise<Attempt> } | null) {
  if (!early) return;
  early.abort.abort();
  void early.result.then((r) => ('opened' in r ? r.opened.upstream.body?.cancel() : undefined));
}

const withMaxTokens = (params: ChatParams, maxTokens: number | null | undefined): ChatParams =>
  maxTokens === null || maxTokens === undefined || params.max_tokens === maxTokens
    ? params
    : { ...params, max_tokens: maxTokens };

/**
 * The call's team's account and its model's catalog entry, both known to this isolate after its
 * first call of the key and alias, so admission makes no D1 round trip of its own. The account's
 * copy to D1 follows the admission, off the call's path. The admission is named by its call, so
 * one whose answer was lost (the account restarting, a deploy) is sent again while the client
 * waits, and answers what the account decided the first time, holding credits once.
 */
async function admissionTarget(deps: CallDeps, admission: AdmissionRequest & { callId: string }, now: number) {
  const jobIds = admission.jobId ? [admission.jobId] : [];
  const once = { key: `admission:${admission.callId}`, at: now };
  const [account, model] = await Promise.all([
    keyAccount(deps, admission.caller.keyHash, { record: 'soon', jobIds, once }, RETRIES.client),
    catalogEntry(deps.d1, admission.alias, now),
  ]);
  return { account, model, d1: deps.d1 };
}

/**
 * Admits the call and opens its upstream. When this isolate has admitted the same key and model
 * within the last minute, the upstream request goes out at the same time as the admission batch,
 * so the client waits for the slower of the two instead of their sum; it stands for the admitted
 * request only if it asked the same thing (target and `max_tokens`), and is aborted otherwise or
 * if admission refuses, before a byte of it reaches anyone. A failure before the first byte is
 * the client's HTTP error (429/502/504), recorded as an `error` call; nothing is charged.
 */
export async function openCall(deps: CallDeps, request: AdmissionRequest, opts: CallOptions): Promise<OpenCall> {
  const startedAt = Date.now();
  const admission = { ...request, callId: request.callId ?? newId('call') };
  const abort = new AbortController();
  deps.requestSignal.addEventListener('abort', () => abort.abort(), { once: true });

  const warm = warmTarget(admission.caller.keyHash, admission.alias, startedAt);
  let early: { abort: AbortController; params: ChatParams; result: Promise<Attempt> } | null = null;
  if (warm) {
    const params = withMaxTokens(
      admission.params,
      admission.params.max_tokens ?? (warm.perCall ? DEFAULT_OUTPUT_TOKENS : undefined),
    );
    const earlyAbort = new AbortController();
    abort.signal.addEventListener('abort', () => earlyAbort.abort(), { once: true });
    const result = attempt(openUpstream(deps.d1, deps.config, warm.model, params, earlyAbort.signal, admission.native));
    early = { abort: earlyAbort, params, result };
    // One turn of the event loop lets the runtime put the early request on the wire before the
    // admission batch is sent: where D1 shares the thread (locally), its work would otherwise
    // run first and delay the upstream by the whole batch.
    await nextTurn();
  }

  let admitted: Admitted;
  try {
    admitted = await admitCall(await admissionTarget(deps, admission, startedAt), admission);
  } catch (err) {
    discard(early);
    throw err;
  }
  rememberAdmission(admission.caller.keyHash, admitted.model, admitted.team.budgetMode !== 'job_based', Date.now());
  const params = withMaxTokens(admission.params, admitted.maxTokens);

  let result: Attempt;
  if (early && warm && sameTarget(warm.model, admitted.model) && early.params.max_tokens === params.max_tokens) {
    result = await early.result;
  } else {
    discard(early);
    result = await attempt(openUpstream(deps.d1, deps.config, admitted.model, params, abort.signal, admission.native));
  }
  if ('opened' in result)
    return { ...opts, admitted, params, upstream: result.opened, startedAt, signal: abort.signal };

  const err = result.failure;
  if (!(err instanceof UpstreamFailure)) throw err;
  const outcome: PumpOutcome = {
    status: 'error',
    completion: { id: null, content: '', toolCalls: [], finishReason: null, usage: null, done: false, error: null },
    ttftMs: null,
    latencyMs: Date.now() - startedAt,
    error: err.error.toJSON().error,
  };
  const failed = { ...opts, admitted, params, served: err.model, attempts: err.attempts, outcome };
  deps.executionCtx.waitUntil(writeBooks(deps.accounts, failed));
  throw err.error;
}
