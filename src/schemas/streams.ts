import { z } from '@hono/zod-openapi';

/** `resumable` on a streaming request: the call is run by an object of its own, and a reader can attach again. */
export const Resumable = z
  .boolean()
  .optional()
  .openapi({
    description:
      'Stream the call from an object of its own: every event is numbered (SSE `id:`, NDJSON `seq`), a dropped ' +
      'reader attaches again with GET /api/calls/{call_id}/stream and Last-Event-ID, and the call goes on when ' +
      'the client leaves (POST /api/calls/{call_id}/cancel stops it).',
  });
