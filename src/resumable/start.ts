/**
 * The Worker's side of resumable calls: it starts one in the call's own object and hands the
 * object's stream to the client, and it attaches readers and cancels calls there. A call that is
 * not resumable keeps the request's own pump (calls/run.ts), untouched.
 */
import type { AdmissionRequest } from '../calls/admission';
import { type CallDeps, streamCall } from '../calls/run';
import { type StreamSpec, headersOf } from '../calls/stream-spec';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { newId } from '../lib/crypto';
import type { Access, Refusal } from './call-stream';

export interface StreamDeps extends CallDeps {
  callStreams: Env['CALL_STREAMS'];
}

export interface StreamRequest {
  finishesJob: boolean;
  spec: StreamSpec;
  /** Run by the call's own object, so a reader can drop and attach again. */
  resumable: boolean;
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

const objectOf = (ns: Env['CALL_STREAMS'], callId: string) => ns.get(ns.idFromName(callId));

/** Where a reader attaches to a call's stream, with the token that lets a browser do it without the key. */
export const streamUrl = (callId: string, token: string) =>
  `/api/calls/${encodeURIComponent(callId)}/stream?token=${encodeURIComponent(token)}`;

/** Streams one call's answer: in the request's own pump, or, when resumable, from the call's object. */
export async function streamAnswer(
  deps: StreamDeps,
  admission: AdmissionRequest,
  req: StreamRequest,
): Promise<Response> {
  if (!req.resumable) return streamCall(deps, admission, req);
  const callId = newId('call');
  const { caller, ...rest } = admission;
  const started = await objectOf(deps.callStreams, callId).start({
    keyHash: caller.keyHash,
    admission: { ...rest, callId },
    finishesJob: req.finishesJob,
    spec: req.spec,
  });
  if ('refusal' in started) throw thrown(started.refusal);
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

/** Cancels a resumable call; resolves with its final status once its books are written. */
export async function cancelStream(ns: Env['CALL_STREAMS'], callId: string, access: Access): Promise<string | null> {
  const result = await objectOf(ns, callId).cancel(access);
  if (result.refusal) throw thrown(result.refusal);
  return result.status;
}
