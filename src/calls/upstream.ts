import { modelsIn } from '../catalog/models';
import type { Model } from '../db/schema';
import { run } from '../db/statement';
import type { Config } from '../config';
import { ApiError, upstreamError, upstreamTimeout, upstreamUnreachable } from '../errors';
import { providers } from '../providers/registry';
import type { NativeRequest, Provider, Target } from '../providers/types';
import type { ChatParams } from '../core/chat-params';

/** Attempts on one target before moving to the next (the first try plus one retry). */
const TRIES_PER_TARGET = 2;
/** Attempts across all targets. */
const MAX_ATTEMPTS = 4;
/** A `Retry-After` longer than this moves on to the next target instead of waiting. */
const MAX_RETRY_AFTER_MS = 5_000;

export interface OpenedUpstream {
  upstream: Response;
  model: Model;
  provider: Provider;
  target: Target;
  attempts: number;
}

/** Every attempt failed before a byte reached the client. */
export class UpstreamFailure extends Error {
  constructor(
    readonly error: ApiError,
    readonly model: Model,
    readonly attempts: number,
  ) {
    super(error.message);
  }
}

const targetOf = (m: Model): Target => ({
  alias: m.alias,
  provider: m.provider,
  upstreamModel: m.upstreamModel,
  baseUrl: m.baseUrl,
});

/** The retry-worthy failures: rate limits, server errors, timeouts and connection errors. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** The model, then its fallbacks in order (read from D1 only once the first target has failed). */
async function* targets(d1: D1Database, model: Model): AsyncGenerator<Model> {
  yield model;
  const aliases = (model.fallbacks ?? []).filter((a) => a !== model.alias);
  if (!aliases.length) return;
  const rows = await run(d1, modelsIn(aliases));
  for (const alias of aliases) {
    const row = rows.find((r) => r.alias === alias && r.enabled);
    if (row) yield row;
  }
}

interface Attempt {
  upstream?: Response;
  error?: ApiError;
  retry: boolean;
  waitMs?: number | null;
}

async function attempt(
  model: Model,
  params: ChatParams,
  native: NativeRequest | undefined,
  config: Config,
  signal: AbortSignal,
): Promise<Attempt> {
  const provider = providers[model.provider];
  if (!provider)
    return {
      error: new ApiError(500, 'api_error', 'provider_unavailable', `Model '${model.alias}' names an unknown provider`),
      retry: false,
    };
  // Time to response headers; once the stream has started, the pump's own rules apply.
  const attemptAbort = new AbortController();
  const onAbort = () => attemptAbort.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = config.upstreamTimeoutMs;
  let timedOut = false;
  const timer = setTimeout(() => ((timedOut = true), attemptAbort.abort()), timeoutMs);
  try {
    const upstream = await provider.send(targetOf(model), params, config, attemptAbort.signal, native);
    if (upstream.ok && upstream.body) return { upstream, retry: false };
    const detail = await upstreamDetail(upstream);
    return {
      error: upstreamError(upstream.status, detail, upstream.headers.get('retry-after')),
      retry: retryable(upstream.status),
      waitMs: retryAfterMs(upstream.headers.get('retry-after')),
    };
  } catch (err) {
    if (timedOut) return { error: upstreamTimeout(`no response from ${model.alias} in ${timeoutMs} ms`), retry: true };
    return { error: upstreamUnreachable(err instanceof Error ? err.message : String(err)), retry: !signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens the upstream stream for a model. Before anything reaches the client, a retryable
 * failure is retried once with backoff (honouring `Retry-After` up to 5 s) and then moves on
 * to the model's fallbacks, at most four attempts in all. After this returns, the target is
 * fixed: a later failure becomes an in-band error, never a silent switch mid-answer.
 */
export async function openUpstream(
  d1: D1Database,
  config: Config,
  model: Model,
  params: ChatParams,
  signal: AbortSignal,
  native?: NativeRequest,
): Promise<OpenedUpstream> {
  const baseDelay = config.upstreamRetryBaseMs;
  let attempts = 0;
  let last: { error: ApiError; model: Model } | null = null;
  for await (const target of targets(d1, model)) {
    for (let tryNo = 0; tryNo < TRIES_PER_TARGET && attempts < MAX_ATTEMPTS; tryNo++) {
      if (signal.aborted) break;
      attempts++;
      const result = await attempt(target, params, native, config, signal);
      if (result.upstream) {
        const provider = providers[target.provider]!;
        return { upstream: result.upstream, model: target, provider, target: targetOf(target), attempts };
      }
      last = { error: result.error!, model: target };
      if (!result.retry) throw new UpstreamFailure(last.error, target, attempts);
      if (tryNo + 1 >= TRIES_PER_TARGET || attempts >= MAX_ATTEMPTS) break;
      const wait = result.waitMs ?? baseDelay * 2 ** tryNo * (1 + Math.random() / 2);
      if (wait > MAX_RETRY_AFTER_MS) break;
      await sleep(wait, signal);
    }
    if (attempts >= MAX_ATTEMPTS || signal.aborted) break;
  }
  throw new UpstreamFailure(last?.error ?? upstreamUnreachable('client went away'), last?.model ?? model, attempts);
}

/** The upstream's own error message, kept short. */
async function upstreamDetail(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).slice(0, 2000);
  try {
    const json = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const msg = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (msg) return msg.slice(0, 300);
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || res.statusText || 'no detail';
}
