/**
 * The Worker's side of resumable calls: it starts one in the call's own object and hands the
 * object's stream to the client, and it attaches readers and cancels calls there. A call that is
 * not resumable keeps the request's own pump (calls/run.ts), untouched.
 */
import type { AdmissionRequest } from '../calls/admission';
import { type CallDeps, streamCall } from '../calls/run';
import { type StreamSpec, headersOf } from '../calls/stream-spec';
import type { Env } from '../env';
import type { Context } from 'hono';
import { ApiError, badRequest } from '../errors';
import type { AppEnv } from '../http/context';
import { newId } from '../lib/crypto';
import { keyTeam } from '../auth/key-team';
import type { Access, CallStream, Refusal } from './call-stream';

export interface StreamDeps extends CallDeps {
  callStreams: Env['CALL_STREAMS'];
}

export interface StreamRequest {
  finishesJob: boolean;
  spec: StreamSpec;
  /** Run by the call's own object, so a reader can drop and attach again; unset: as the team's default. */
  resumable?: boolean;
}

const thrown = (r: Refusal) =>
  new ApiError(
    r.status,
    r.body.error.type,
    r.body.error.code ?? 'error',
    r.body.error.message,
    r.body.error.param,
    r.headers,
  );

const objectOf = (ns: Env['CALL_STREAMS'], callId: string) =>
  (ns as unknown as DurableObjectNamespace<CallStream>).get(ns.idFromName(callId));

/** Where a reader attaches to a call's stream, with the token that lets a browser do it without the key. */
export const streamUrl = (callId: string, token: string) =>
  `/api/calls/${encodeURIComponent(callId)}/stream?token=${encodeURIComponent(token)}`;

/** Starts a resumable call in its own object; `attach`: the caller reads it from the first event. */
export async function startResumable(
  deps: StreamDeps,
  admission: AdmissionRequest,
  req: StreamRequest,
  attach: boolean,
) {
  const callId = newId('call');
  const { caller, ...rest } = admission;
  const started = await objectOf(deps.callStreams, callId).start(
    { keyHash: caller.keyHash, admission: { ...rest, callId }, finishesJob: req.finishesJob, spec: req.spec },
    attach,
  );
  if ('refusal' in started) throw thrown(started.refusal);
  return { callId, ...started };
}

/** Starts a resumable call nobody reads yet (a Responses background request); resolves once it is admitted. */
export async function startInBackground(deps: StreamDeps, admission: AdmissionRequest, req: StreamRequest) {
  return startResumable(deps, admission, req, false);
}

/** Streams one call's answer: in the request's own pump, or, when resumable, from the call's object. */
export async function streamAnswer(
  deps: StreamDeps,
  admission: AdmissionRequest,
  req: StreamRequest,
): Promise<Response> {
  const resumable = req.resumable ?? (await keyTeam(deps.d1, admission.caller.keyHash))?.resumableByDefault ?? false;
  if (!resumable) return streamCall(deps, admission, req);
  const started = await startResumable(deps, admission, req, true);
  const { callId } = started;
  return new Response(started.stream, {
    headers: {
      ...headersOf(req.spec.dialect),
      'x-call-id': callId,
      'x-job-id': started.jobId,
      'x-sluice-resumable': 'true',
      'x-sluice-stream-url': streamUrl(callId, started.token),
      'x-sluice-stream-token-expires': new Date(started.tokenExpiresAt).toISOString(),
    },
  });
}

/** A reader on a call's stream, from the event after `after` (-1: from the start). */
export async function attachStream(ns: Env['CALL_STREAMS'], callId: string, access: Access, after: number) {
  const attached = await objectOf(ns, callId).attach(access, after);
  if ('refusal' in attached) throw thrown(attached.refusal);
  return attached;
}

/** Where a resumable call stands, and its answer so far. */
export async function callSnapshot(ns: Env['CALL_STREAMS'], callId: string, access: Access) {
  const snapshot = await objectOf(ns, callId).snapshot(access);
  if ('refusal' in snapshot) throw thrown(snapshot.refusal);
  return snapshot;
}

/** Who is asking: the key's team (checked in D1 here), or a stream token (checked by the call's object). */
export async function accessOf(c: Context<AppEnv>): Promise<Access> {
  const token = c.var.streamToken;
  if (token) return { token };
  const [principal] = await c.var.caller.batch(c.env.DB, []);
  return { teamId: principal.teamId };
}

/**
 * The last event a reader has: `Last-Event-ID` (EventSource sends it by itself), else the
 * query's `after` (or the name a dialect gives it, Responses' `starting_after`); none: -1.
 */
export function lastSeen(c: Context<AppEnv>, param = 'after'): number {
  const given = c.req.header('last-event-id') ?? c.req.query(param);
  if (given === undefined || given === '') return -1;
  if (!/^\d+$/.test(given.trim())) throw badRequest(`Last-Event-ID (or ${param}) must be an event number`, param);
  return Number(given);
}

/** Cancels a resumable call; resolves with its final status once its books are written. */
export async function cancelStream(ns: Env['CALL_STREAMS'], callId: string, access: Access): Promise<string | null> {
  const result = await objectOf(ns, callId).cancel(access);
  if (result.refusal) throw thrown(result.refusal);
  return result.status;
}
