/**
 * The chat page's calls as resumable calls: the gateway runs each answer on its own, so a
 * reloaded or reopened page attaches to it again and shows it whole, and Stop has to cancel it
 * (closing the request no longer does). The call in flight is kept in localStorage, beside the
 * key, so that a closed tab finds it too.
 */
import { APIConnectionError, APITimeoutError, ChatStream, type ChatMessage, SluiceError } from '../../src/client';
import { type RequestPolicy, send } from '../../src/client/http';
import type { Connection } from './connection';

const IN_FLIGHT = 'sluice.inFlight';

/** What a page needs to pick an answer up again: the call, and the conversation it answers. */
export interface InFlight {
  callId: string;
  jobId: string | null;
  /** `x-sluice-stream-url`: the call's stream with a token of its own, for when no key is saved. */
  streamUrl: string | null;
  /** When that token stops working (ms since the epoch); the key works for as long as the events are kept. */
  tokenExpiresAt: number | null;
  /** Every message the call was sent, the user's new one last. */
  messages: ChatMessage[];
}

export function loadInFlight(): InFlight | null {
  try {
    const saved = JSON.parse(localStorage.getItem(IN_FLIGHT) ?? 'null') as InFlight | null;
    return saved && typeof saved.callId === 'string' && Array.isArray(saved.messages) ? saved : null;
  } catch {
    return null;
  }
}

export function saveInFlight(call: InFlight): void {
  localStorage.setItem(IN_FLIGHT, JSON.stringify(call));
}

/** Forgets the call in flight, only if it is still `callId`: another tab may have started a newer one since. */
export function clearInFlight(callId?: string | null): void {
  if (callId === undefined || loadInFlight()?.callId === callId) localStorage.removeItem(IN_FLIGHT);
}

/** The page's client settings (one retry, before any byte), for the requests made here. */
const POLICY: RequestPolicy = {
  timeoutMs: 60_000,
  maxRetries: 1,
  initialRetryDelayMs: 500,
  maxRetryDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

const fetchFn = (url: string, init: RequestInit) => globalThis.fetch(url, init);
const seg = encodeURIComponent;

function headers(c: Connection, extra: Record<string, string> = {}): Record<string, string> {
  return c.apiKey ? { authorization: `Bearer ${c.apiKey}`, ...extra } : extra;
}

export interface Started {
  stream: ChatStream;
  /** The call as it must be saved to pick it up again; `null` when the gateway did not run it resumably. */
  call: InFlight | null;
}

/**
 * Starts one answer as a job of its own (`create-and-call-stream`), resumable. Resolves once the
 * response headers arrive, which name the call. No signal: a start that is already under way
 * must not be abandoned blind, or the call would run on with nobody knowing its id to cancel it.
 */
export async function startCall(c: Connection, params: { model?: string; messages: ChatMessage[] }): Promise<Started> {
  const body = {
    team_id: c.teamId || 'acme-corp',
    job_type: 'chat',
    model: params.model,
    messages: params.messages,
    resumable: true,
  };
  const sent = await send(fetchFn, POLICY, `${location.origin}/api/jobs/create-and-call-stream`, {
    method: 'POST',
    headers: headers(c, { accept: 'text/event-stream', 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  const stream = new ChatStream(sent);
  const h = sent.response.headers;
  const expires = h.get('x-sluice-stream-token-expires');
  const call =
    h.get('x-sluice-resumable') === 'true' && stream.callId
      ? {
          callId: stream.callId,
          jobId: stream.jobId,
          streamUrl: h.get('x-sluice-stream-url'),
          tokenExpiresAt: expires ? Date.parse(expires) : null,
          messages: params.messages,
        }
      : null;
  return { stream, call };
}

/**
 * Reads a call's stream from its first event (so the answer is rebuilt whole), then its live
 * ones until it ends. With the key when one is saved; else with the call's own stream token.
 */
export async function attachCall(c: Connection, call: InFlight, signal: AbortSignal): Promise<ChatStream> {
  const url =
    c.apiKey || !call.streamUrl
      ? `${location.origin}/api/calls/${seg(call.callId)}/stream`
      : new URL(call.streamUrl, location.origin).href;
  const sent = await send(
    fetchFn,
    POLICY,
    url,
    { method: 'GET', headers: headers(c, { accept: 'text/event-stream' }) },
    signal,
  );
  return new ChatStream(sent);
}

/**
 * Cancels a call: the gateway closes its upstream and charges what it produced, and the call's
 * stream ends with a `call_cancelled` error event. Resolves with the call's final status.
 */
export async function cancelCall(c: Connection, callId: string): Promise<string | null> {
  const sent = await send(fetchFn, POLICY, `${location.origin}/api/calls/${seg(callId)}/cancel`, {
    method: 'POST',
    headers: headers(c, { accept: 'application/json' }),
  });
  try {
    return ((await sent.response.json()) as { status: string | null }).status;
  } finally {
    sent.release();
  }
}

/** The error is the connection's, not the call's: the call may still be running, so attach again. */
export function connectionLost(err: unknown): boolean {
  if (err instanceof APIConnectionError || err instanceof APITimeoutError) return true;
  if (!(err instanceof SluiceError)) return false;
  if (err.code === 'stream_truncated') return true;
  return err.status !== undefined && (err.status === 429 || err.status >= 500);
}

/** The stream's last event said the call was cancelled (by this page's Stop, or another tab's). */
export const wasCancelled = (err: unknown) => err instanceof SluiceError && err.code === 'call_cancelled';
