/**
 * The client's hand-written types (no zod at runtime) against the gateway's own schemas: what
 * the server sends must fit the client's response types, and what the client sends must fit
 * the server's request schemas. Checked by `tsc` (`npm run typecheck`); the runtime part is trivial.
 */
import type { z } from '@hono/zod-openapi';
import { expectTypeOf, it } from 'vitest';
import type * as C from '../../src/client';
import type {
  CallBody,
  CallDetail,
  CompleteJobResponse,
  CreateAndCallResponse,
  CreditsResponse,
  JobResponse,
  LlmCallResponse,
} from '../../src/schemas/jobs';
import type { ErrorResponse } from '../../src/schemas/errors';
import type { ModelList } from '../../src/schemas/openai';
import type { JobCostsResponse, JobPage, ReportsResponse, UsageResponse } from '../../src/schemas/usage';
import type { ChatCompletionChunk } from '../../src/dialects/openai-chat/chunk';
import type { NdjsonEvent } from '../../src/dialects/ndjson/events';

it('responses the gateway sends fit the client types', () => {
  expectTypeOf<z.infer<typeof CompleteJobResponse>>().toExtend<C.CompleteJobResult>();
  expectTypeOf<z.infer<typeof CreateAndCallResponse>>().toExtend<C.CreateAndCallResult>();
  expectTypeOf<z.infer<typeof LlmCallResponse>>().toExtend<C.LlmCallResult>();
  expectTypeOf<z.infer<typeof JobResponse>>().toExtend<C.Job>();
  expectTypeOf<z.infer<typeof CallDetail>>().toExtend<C.CallDetail>();
  expectTypeOf<z.infer<typeof CreditsResponse>>().toExtend<C.Credits>();
  expectTypeOf<z.infer<typeof ErrorResponse>>().toExtend<C.ErrorBody>();
  expectTypeOf<z.infer<typeof UsageResponse>>().toExtend<C.TeamUsage>();
  expectTypeOf<z.infer<typeof JobPage>>().toExtend<C.Page<C.JobSummary>>();
  expectTypeOf<z.infer<typeof JobCostsResponse>>().toExtend<C.JobCosts>();
  expectTypeOf<z.infer<typeof ReportsResponse>>().toExtend<C.Reports>();
  expectTypeOf<z.infer<typeof ModelList>>().toExtend<C.ModelList>();
  expectTypeOf<ChatCompletionChunk>().toExtend<C.ChatCompletionChunk>();
  // Both ways: the client reads every line the gateway writes, and expects no line it never writes.
  expectTypeOf<NdjsonEvent>().toExtend<C.NdjsonEvent>();
  expectTypeOf<C.NdjsonEvent>().toExtend<NdjsonEvent>();
});

it('requests the client sends fit the gateway schemas', () => {
  expectTypeOf<C.ChatParams>().toExtend<z.input<typeof CallBody>>();
});
