/** Request fields about a stream that the routes of every dialect share. */
import { z } from '@hono/zod-openapi';
import { BUFFER_DEFAULTS } from './ndjson/coalesce';

/** `resumable` on a streaming request: the call is run by an object of its own, and a reader can attach again. */
export const Resumable = z
  .boolean()
  .optional()
  .openapi({
    description:
      'Stream the call from an object of its own: every event is numbered (SSE `id:`, NDJSON `seq`), a dropped ' +
      'reader attaches again with GET /api/calls/{call_id}/stream and Last-Event-ID, and the call goes on when ' +
      "the client leaves (POST /api/calls/{call_id}/cancel stops it). Unset: the team's resumable_by_default.",
  });

/** Seed 004's `BufferConfig`: coalesce an NDJSON or WebSocket stream's text into fewer events. */
export const BufferConfigSchema = z
  .object({
    min_chunk_size: z.number().int().min(1).max(10_000).default(BUFFER_DEFAULTS.min_chunk_size),
    max_chunk_size: z.number().int().min(1).max(100_000).default(BUFFER_DEFAULTS.max_chunk_size),
    flush_interval_ms: z.number().int().min(0).max(60_000).default(BUFFER_DEFAULTS.flush_interval_ms),
    buffer_by_sentence: z.boolean().default(BUFFER_DEFAULTS.buffer_by_sentence),
    buffer_by_word: z.boolean().default(BUFFER_DEFAULTS.buffer_by_word),
  })
  .optional()
  .openapi('BufferConfig', {
    description:
      'NDJSON and WebSocket streams only: hold text until it reaches max_chunk_size, ends a sentence or word ' +
      '(when asked), or flush_interval_ms has passed with min_chunk_size held; then send it as one token event. ' +
      'Unset: one event per upstream event.',
  });
