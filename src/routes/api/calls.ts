/**
 * Resumable calls, by their id: attach to one's stream (again), or cancel it. A reader needs the
 * call's team's key, or the stream token the call's start named (all a browser's EventSource can
 * carry); the call's object checks which team it belongs to and the token.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { accessOf, attachStream, cancelStream, lastSeen } from '../../resumable/start';
import { bearerAuth, json, jobStreamResponse, teamErrors } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { headersOf } from '../../calls/stream-spec';

export const callsApi = createRouter();

const tags = ['Resumable calls'];

const CallParam = z.object({
  call_id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'call_id', in: 'path' } }),
});

callsApi.openapi(
  createRoute({
    method: 'get',
    path: '/calls/{call_id}/stream',
    tags,
    summary:
      "Attach to a resumable call's stream: the events after Last-Event-ID (or ?after=N), then the live ones until the call ends",
    description:
      "Authenticated by the key of the call's team, or by `?token=` (the stream token its start named in `x-sluice-stream-url`, for a browser's EventSource).",
    security: [...bearerAuth, { streamToken: [] }],
    request: {
      params: CallParam,
      query: z.object({ after: z.string().optional(), token: z.string().optional() }),
    },
    responses: {
      200: jobStreamResponse("The call's events, in the dialect it was started in, each numbered"),
      ...teamErrors,
    },
  }),
  async (c) => {
    const { call_id } = c.req.valid('param');
    const after = lastSeen(c);
    const { stream, dialect, jobId } = await attachStream(c.env.CALL_STREAMS, call_id, await accessOf(c), after);
    const headers = { 'x-call-id': call_id, 'x-job-id': jobId };
    // Ended, and nothing after the reader's last event: 204 tells an EventSource to stop reconnecting.
    if (!stream) return new Response(null, { status: 204, headers });
    return new Response(stream, { headers: { ...headersOf(dialect), ...headers } });
  },
);

callsApi.openapi(
  createRoute({
    method: 'post',
    path: '/calls/{call_id}/cancel',
    tags,
    summary: 'Cancel a resumable call: its upstream is closed at once; what it produced is recorded and charged',
    security: bearerAuth,
    request: { params: CallParam },
    responses: {
      200: json(
        z.object({ call_id: z.string(), status: z.string().nullable() }).openapi('CancelledCall'),
        'The call, ended; its status as recorded (client_aborted when cancelled mid-answer)',
      ),
      ...teamErrors,
    },
  }),
  async (c) => {
    const { call_id } = c.req.valid('param');
    const status = await cancelStream(c.env.CALL_STREAMS, call_id, await accessOf(c));
    return c.json({ call_id, status }, 200);
  },
);
