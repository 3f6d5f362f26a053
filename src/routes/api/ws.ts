/**
 * Seed 004's WebSocket transport: one socket, many calls. A client sends `call` (on a job, or
 * creating one), `cancel` and `resume` messages as JSON; it gets each call's events as JSON
 * frames, the NDJSON events of the job API (`metadata`, `token`, `chunk`, `done`, `error`), each
 * with its `call_id` and `seq`. Every call made here is resumable: closing the socket stops the
 * frames, not the calls, and a new socket takes a call up again with `resume` after the last
 * `seq` it got (an `ended` frame says there is nothing after it). While a call runs, a `ping` frame goes out when nothing else has for KEEPALIVE_MS
 * (the Workers runtime answers protocol pings but cannot send them, so the heartbeat is a frame).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { modelAlias } from '../../calls/run';
import { ChatParamsShape, chatParams } from '../../core/chat-params';
import { ApiError, badRequest } from '../../errors';
import type { AppEnv } from '../../http/context';
import { callDeps } from '../../http/context';
import { bearerAuth, errors, teamErrors } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { newId } from '../../lib/crypto';
import type { Access } from '../../resumable/call-stream';
import { accessOf, attachStream, cancelStream, startResumable } from '../../resumable/start';
import { BufferConfigSchema } from '../../dialects/stream-options';

export const wsApi = createRouter();

const CallMessage = z.object({
  type: z.literal('call'),
  /** Echoed on the frames about this request that come before it has a call id (its errors). */
  request_id: z.string().max(128).optional(),
  /** A call on this job; without it, a new job on the key's team that ends with the call. */
  job_id: z.string().min(1).max(128).optional(),
  job_type: z.string().min(1).max(100).default('websocket'),
  user_id: z.string().max(200).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  buffer_config: BufferConfigSchema,
  ...ChatParamsShape,
});

const ClientMessage = z.discriminatedUnion('type', [
  CallMessage,
  z.object({ type: z.literal('cancel'), call_id: z.string().min(1).max(128) }),
  z.object({
    type: z.literal('resume'),
    call_id: z.string().min(1).max(128),
    /** The last `seq` the client got (-1 or absent: from the start). */
    after: z.number().int().min(-1).default(-1),
  }),
]);
type ClientMessage = z.infer<typeof ClientMessage>;

const utf8 = new TextDecoder();

/** One socket: the calls it follows, and how it answers. */
class Session {
  /** The readers of the calls this socket follows, by call id. */
  private readonly following = new Map<string, ReadableStreamDefaultReader<Uint8Array>>();

  constructor(
    private readonly c: Context<AppEnv>,
    private readonly socket: WebSocket,
    /** The key's team, checked when the socket opened (a stream token stands for itself). */
    private readonly access: Access,
  ) {}

  async receive(data: string | ArrayBuffer) {
    let message: ClientMessage;
    try {
      const parsed = ClientMessage.safeParse(JSON.parse(typeof data === 'string' ? data : utf8.decode(data)));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw badRequest(`Invalid message: ${issue.path.join('.') || 'type'}: ${issue.message}`, issue.path.join('.'));
      }
      message = parsed.data;
    } catch (err) {
      return this.fail(err instanceof ApiError ? err : badRequest('Messages are JSON objects'), {});
    }
    const about = 'call_id' in message ? { call_id: message.call_id } : { request_id: message.request_id };
    try {
      if (message.type === 'call') await this.call(message);
      else if (message.type === 'cancel') await this.cancel(message.call_id);
      else {
        const { stream } = await this.attach(message.call_id, message.after);
        // Ended, and nothing after `after`: the client has the whole call.
        if (stream) await this.follow(message.call_id, stream);
        else this.send(JSON.stringify({ type: 'ended', call_id: message.call_id }));
      }
    } catch (err) {
      if (err instanceof ApiError) this.fail(err, about);
      else throw err;
    }
  }

  /** Stops forwarding; the calls go on in their objects. */
  close() {
    for (const reader of this.following.values()) void reader.cancel().catch(() => {});
    this.following.clear();
  }

  private async call(m: z.infer<typeof CallMessage>) {
    if (this.c.var.streamToken)
      throw new ApiError(
        401,
        'authentication_error',
        'missing_api_key',
        'A stream token can only resume its call: send the key to make calls',
      );
    const { config } = this.c.var;
    const admission = {
      caller: this.c.var.caller,
      alias: modelAlias(m, config),
      params: chatParams(m),
      now: Date.now(),
      ...(m.job_id
        ? { jobId: m.job_id }
        : {
            newJob: {
              id: newId('job'),
              teamId: null,
              jobType: m.job_type,
              userId: m.user_id ?? null,
              metadata: m.metadata ?? null,
            },
          }),
    };
    const started = await startResumable(
      callDeps(this.c),
      admission,
      { finishesJob: !m.job_id, spec: { dialect: 'ndjson', buffer: m.buffer_config }, resumable: true },
      true,
    );
    await this.follow(started.callId, started.stream!);
  }

  private async attach(callId: string, after: number) {
    const attached = await attachStream(this.c.env.CALL_STREAMS, callId, this.access, after);
    if (attached.dialect !== 'ndjson') {
      void attached.stream?.cancel().catch(() => {});
      throw badRequest('This call streams in another dialect: attach with GET /api/calls/{call_id}/stream', 'call_id');
    }
    return attached;
  }

  private async cancel(callId: string) {
    if (this.c.var.streamToken)
      throw new ApiError(401, 'authentication_error', 'missing_api_key', 'A stream token cannot cancel: send the key');
    const status = await cancelStream(this.c.env.CALL_STREAMS, callId, this.access);
    this.send(JSON.stringify({ type: 'cancelled', call_id: callId, status }));
  }

  /** Sends a call's NDJSON events as frames, each naming its call, until the call ends or the socket closes. */
  private async follow(callId: string, stream: ReadableStream<Uint8Array>) {
    this.following
      .get(callId)
      ?.cancel()
      .catch(() => {});
    const reader = stream.getReader();
    this.following.set(callId, reader);
    const tail = `,"call_id":${JSON.stringify(callId)}}`;
    let pending = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += utf8.decode(value, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop()!;
        // A blank line is the stream's keep-alive; a frame says so instead.
        for (const l of lines) this.send(l ? l.slice(0, -1) + tail : `{"type":"ping"${tail}`);
      }
    } catch {
      // The socket closed (the reader was cancelled) or the call's object went away.
    } finally {
      if (this.following.get(callId) === reader) this.following.delete(callId);
    }
  }

  private fail(err: ApiError, about: { call_id?: string; request_id?: string }) {
    this.send(JSON.stringify({ type: 'error', ...about, ...err.toJSON() }));
  }

  private send(frame: string) {
    try {
      this.socket.send(frame);
    } catch {
      this.close(); // the socket is gone
    }
  }
}

wsApi.openapi(
  createRoute({
    method: 'get',
    path: '/ws',
    tags: ['Resumable calls'],
    summary: 'A WebSocket for calls: send call, cancel and resume messages; get each call’s events as JSON frames',
    description:
      'Upgrade with `Upgrade: websocket` and the key (or `?token=`, a stream token, which can only resume its call). ' +
      'Messages: `{"type":"call", job_id?, model, messages, ..., buffer_config?}`, `{"type":"cancel", call_id}`, ' +
      '`{"type":"resume", call_id, after}`. Frames: the NDJSON events of the job API with `call_id` and `seq`, ' +
      '`ping` frames while a call is quiet, `cancelled`, `ended` and `error` frames. Closing the socket does not cancel calls.',
    security: [...bearerAuth, { streamToken: [] }],
    responses: {
      101: { description: 'Switching to the WebSocket protocol' },
      ...teamErrors,
      ...errors({ 426: 'Not a WebSocket upgrade request' }),
    },
  }),
  // The upgrade's answer is a 101 with the socket, which the route's typed responses cannot say.
  (async (c: Context<AppEnv>) => {
    // The key is checked before the socket opens, so a bad one is an HTTP 401, not a frame.
    const access = await accessOf(c);
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket')
      throw new ApiError(426, 'invalid_request_error', 'upgrade_required', 'Send Upgrade: websocket');
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    const session = new Session(c, server, access);
    server.addEventListener('message', (event) => {
      c.executionCtx.waitUntil(session.receive(event.data as string | ArrayBuffer));
    });
    server.addEventListener('close', () => session.close());
    server.addEventListener('error', () => session.close());
    return new Response(null, { status: 101, webSocket: client });
  }) as never,
);
