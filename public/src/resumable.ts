/**
 * The chat page's call in flight, kept in localStorage beside the key: the gateway runs each
 * answer on its own, so a reloaded page, or a closed tab opened again, finds the call and reads
 * it whole. Reading, reattaching and cancelling are the typed client's; what is kept here is
 * what the client cannot know: which call this browser was waiting for, and what it asked.
 */
import { type ChatMessage, type ChatStream, SluiceClient } from '../../src/client';

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

/** The call a started stream runs, as it must be saved; `null` when the gateway did not run it resumably. */
export function inFlightOf(stream: ChatStream, messages: ChatMessage[]): InFlight | null {
  if (!stream.resumable || !stream.callId) return null;
  const h = stream.response.headers;
  const expires = h.get('x-sluice-stream-token-expires');
  return {
    callId: stream.callId,
    jobId: stream.jobId,
    streamUrl: h.get('x-sluice-stream-url'),
    tokenExpiresAt: expires ? Date.parse(expires) : null,
    messages,
  };
}

/**
 * A client that reads `call`'s stream with the token its start named, so a page whose key was
 * forgotten still shows the answer it left running; `null` once the token has expired. The
 * gateway takes the token only from a request that carries no key, so the placeholder key is
 * never sent; a cancel through this client is then refused, as the token may only read.
 */
export function tokenClient(call: InFlight, teamId: string): SluiceClient | null {
  if (!call.streamUrl || (call.tokenExpiresAt ?? 0) <= Date.now()) return null;
  const token = new URL(call.streamUrl, location.origin).searchParams.get('token');
  if (!token) return null;
  return new SluiceClient({
    baseUrl: location.origin,
    apiKey: 'stream-token',
    teamId,
    maxRetries: 1,
    fetch: (url, init) => {
      const withToken = new URL(url);
      withToken.searchParams.set('token', token);
      const headers = new Headers(init.headers);
      headers.delete('authorization');
      return globalThis.fetch(withToken, { ...init, headers });
    },
  });
}
