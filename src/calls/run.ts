/** A call from start to books: streamed to the client as it arrives, or collected whole. */
import type { Config } from '../config';
import { ApiError } from '../errors';
import type { ChatParams } from '../core/chat-params';
import { collect, startPump } from '../streaming/pump/start';
import type { PumpOptions, PumpOutcome } from '../streaming/pump/types';
import { openAIChat } from '../dialects/openai-chat/dialect';
import type { AdmissionRequest } from './admission';
import { writeBooks } from './books';
import { type CallDeps, type OpenCall, openCall } from './open';

export type { CallDeps } from './open';

export const modelAlias = (params: ChatParams, config: Config) => params.model ?? config.defaultModel;

/** The pump's settings for this call: its upstream, how its bytes reach the client, its timers. */
function pumpOptions(call: OpenCall, config: Config, includeUsage: boolean): PumpOptions {
  const { provider, target, upstream } = call.upstream;
  const from = { format: provider.format, decoder: provider.decoder, model: target.upstreamModel };
  return {
    upstream: upstream.body!,
    mode: openAIChat.mode(from, { includeUsage }),
    client: openAIChat.framing,
    startedAt: call.startedAt,
    clientSignal: call.signal,
    keepaliveMs: config.keepaliveMs,
    idleTimeoutMs: config.streamIdleTimeoutMs,
  };
}

/** The call's books, once its pump has settled with `outcome`. */
const booksOf = (deps: CallDeps, call: OpenCall) => (outcome: PumpOutcome) =>
  writeBooks(deps.d1, { ...call, served: call.upstream.model, attempts: call.upstream.attempts, outcome });

/**
 * Streams the answer to the client as SSE; the books are written after it closes, under
 * `waitUntil`. `includeUsage`: whether the client sees the final usage chunk (the books always
 * get usage).
 */
export async function streamCall(
  deps: CallDeps,
  admission: AdmissionRequest,
  opts: { finishesJob: boolean; includeUsage?: boolean },
): Promise<Response> {
  const call = await openCall(deps, admission, { stream: true, finishesJob: opts.finishesJob });
  const { readable, outcome } = startPump(pumpOptions(call, deps.config, opts.includeUsage !== false));
  deps.executionCtx.waitUntil(outcome.then(booksOf(deps, call)));
  const { callId, job } = call.admitted;
  return new Response(readable, { headers: { ...openAIChat.headers, 'x-call-id': callId, 'x-job-id': job.id } });
}

/** Runs the call to its end and returns the whole answer, its books already written. */
export async function collectCall(deps: CallDeps, admission: AdmissionRequest, opts: { finishesJob: boolean }) {
  const call = await openCall(deps, admission, { stream: false, finishesJob: opts.finishesJob });
  const outcome = await collect(pumpOptions(call, deps.config, true));
  // The caller reads the job right after this answer, so the books are written first.
  const usage = await booksOf(deps, call)(outcome);
  if (outcome.status !== 'success') {
    const e = outcome.error!;
    throw new ApiError(502, 'upstream_error', e.code ?? 'upstream_error', e.message);
  }
  return { admitted: call.admitted, outcome, usage, served: call.upstream.model };
}
