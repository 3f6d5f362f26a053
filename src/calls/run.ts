/** A call from start to books: streamed to the client as it arrives, or collected whole. */
import type { RunOptions } from '../accounts/account/object';
import type { Config } from '../config';
import { ApiError } from '../errors';
import type { ChatParams } from '../core/chat-params';
import { collect, startPump } from '../streaming/pump/start';
import type { ClientFraming, PumpOptions, PumpOutcome } from '../streaming/pump/types';
import { CHAT_FRAMING } from '../dialects/openai-chat/dialect';
import type { UpstreamStream } from '../dialects/types';
import type { AdmissionRequest } from './admission';
import { writeBooks } from './books';
import { type CallDeps, type OpenCall, openCall } from './open';
import { type StreamSpec, dialectOf, priceOf } from './stream-spec';

export type { CallDeps } from './open';
export { priceOf } from './stream-spec';

export const modelAlias = (params: ChatParams, config: Config) => params.model ?? config.defaultModel;

/** The upstream side of an open call, as a client dialect sees it. */
export const upstreamOf = (call: OpenCall): UpstreamStream => ({
  format: call.upstream.provider.format,
  decoder: call.upstream.provider.decoder,
  model: call.upstream.target.upstreamModel,
});

/** The pump's settings for this call: its upstream, how its bytes reach the client, its timers. */
export function pumpOptions(
  call: OpenCall,
  config: Config,
  mode: PumpOptions['mode'],
  client: ClientFraming,
): PumpOptions {
  return {
    upstream: call.upstream.upstream.body!,
    mode,
    client,
    startedAt: call.startedAt,
    clientSignal: call.signal,
    keepaliveMs: config.keepaliveMs,
    idleTimeoutMs: config.streamIdleTimeoutMs,
  };
}

/** The call's books, once its pump has settled with `outcome`. */
export const booksOf =
  (deps: CallDeps, call: OpenCall, copy: RunOptions['record'] = 'soon') =>
  (outcome: PumpOutcome) =>
    writeBooks(
      deps.accounts,
      { ...call, served: call.upstream.model, attempts: call.upstream.attempts, outcome },
      copy,
    );

/**
 * Streams the answer to the client in its dialect; the books are written after it closes, under
 * `waitUntil`. `spec` says what the client asked of the stream's form.
 */
export async function streamCall(
  deps: CallDeps,
  admission: AdmissionRequest,
  opts: { finishesJob: boolean; spec: StreamSpec },
): Promise<Response> {
  const call = await openCall(deps, admission, { stream: true, finishesJob: opts.finishesJob });
  const dialect = dialectOf(opts.spec, call);
  const { mode, client } = dialect.open(upstreamOf(call));
  const { readable, outcome } = startPump(pumpOptions(call, deps.config, mode, client));
  deps.executionCtx.waitUntil(outcome.then(booksOf(deps, call)));
  const { callId, job } = call.admitted;
  return new Response(readable, { headers: { ...dialect.headers, 'x-call-id': callId, 'x-job-id': job.id } });
}

/**
 * Runs the call to its end and returns the whole answer, its books already written. Nobody
 * reads the stream as it goes, so it is only decoded, whatever its format.
 */
export async function collectCall(deps: CallDeps, admission: AdmissionRequest, opts: { finishesJob: boolean }) {
  const call = await openCall(deps, admission, { stream: false, finishesJob: opts.finishesJob });
  const mode = { relay: call.upstream.provider.decoder() };
  const outcome = await collect(pumpOptions(call, deps.config, mode, CHAT_FRAMING));
  // The caller reads the job right after this answer, so the books are written first, D1's copy too.
  const usage = await booksOf(deps, call, 'now')(outcome);
  if (outcome.status !== 'success') {
    const e = outcome.error!;
    throw new ApiError(502, 'upstream_error', e.code ?? 'upstream_error', e.message);
  }
  return { admitted: call.admitted, outcome, usage, served: call.upstream.model, price: priceOf(call) };
}
