import { z } from '@hono/zod-openapi';
import { BufferConfigSchema, Resumable } from '../dialects/stream-options';
import { ChatParamsShape } from '../core/chat-params';

const Id = z.string().min(1).max(128);
const Metadata = z.record(z.string(), z.unknown()).openapi('Metadata');

export const TeamIdParam = z.object({ team_id: Id.openapi({ param: { name: 'team_id', in: 'path' } }) });
export const JobIdParam = z.object({ job_id: Id.openapi({ param: { name: 'job_id', in: 'path' } }) });
export const CallIdParams = z.object({
  job_id: Id.openapi({ param: { name: 'job_id', in: 'path' } }),
  call_id: Id.openapi({ param: { name: 'call_id', in: 'path' } }),
});

export const CreateJobBody = z
  .object({
    team_id: Id,
    job_type: z.string().min(1).max(100),
    user_id: z.string().max(200).optional(),
    metadata: Metadata.optional(),
  })
  .openapi('CreateJobRequest');

export const CreateJobResponse = z
  .object({ job_id: z.string(), status: z.literal('pending'), created_at: z.string() })
  .openapi('CreateJobResponse');

export const CallBody = z
  .object({ ...ChatParamsShape, resumable: Resumable, buffer_config: BufferConfigSchema })
  .openapi('LlmCallRequest');

export const CreateAndCallBody = z
  .object({
    team_id: Id,
    job_type: z.string().min(1).max(100),
    user_id: z.string().max(200).optional(),
    metadata: Metadata.optional(),
    ...ChatParamsShape,
    resumable: Resumable,
    buffer_config: BufferConfigSchema,
  })
  .openapi('CreateAndCallRequest');

export const CompleteJobBody = z
  .object({
    status: z.enum(['completed', 'failed']),
    metadata: Metadata.optional(),
    error_message: z.string().max(2000).optional(),
  })
  .openapi('CompleteJobRequest');

const ToolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

export const CallResult = z
  .object({
    content: z.string(),
    finish_reason: z.string().nullable(),
    tool_calls: z.array(ToolCall).optional(),
  })
  .openapi('CallResult');

export const CallMetadata = z
  .object({
    model: z.string(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    tokens_used: z.number().int(),
    latency_ms: z.number(),
  })
  .openapi('CallMetadata');

export const LlmCallResponse = z
  .object({ call_id: z.string(), response: CallResult, metadata: CallMetadata })
  .openapi('LlmCallResponse');

export const Costs = z
  .object({
    total_calls: z.number().int(),
    successful_calls: z.number().int(),
    failed_calls: z.number().int(),
    total_tokens: z.number().int(),
    total_cost_usd: z.number(),
    avg_latency_ms: z.number(),
    credits_charged: z.number().int(),
    credits_remaining: z.number().int(),
  })
  .openapi('JobCosts');

export const CallSummary = z
  .object({
    call_id: z.string(),
    model: z.string(),
    purpose: z.string().nullable(),
    status: z.string(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    cached_tokens: z.number().int().openapi({ description: "Of prompt_tokens, read from the provider's prompt cache" }),
    cache_write_tokens: z
      .number()
      .int()
      .openapi({ description: "Of prompt_tokens, written to the provider's prompt cache" }),
    reasoning_tokens: z.number().int().openapi({ description: "Of completion_tokens, the model's reasoning" }),
    usage_source: z.string(),
    cost_usd: z.number().openapi({ description: 'At the catalog list prices, each token class at its own' }),
    ttft_ms: z.number().nullable(),
    latency_ms: z.number(),
    finish_reason: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('CallSummary');

export const CallDetail = CallSummary.extend({
  job_id: z.string(),
  served_by: z.string().nullable().openapi({ description: 'The alias that answered (after any fallback)' }),
  provider: z.string(),
  upstream_model: z.string(),
  attempts: z.number().int(),
  stream: z.boolean(),
  content: z.string().openapi({ description: 'The answer text the call row stored' }),
  tool_calls: z.array(ToolCall),
  stored_truncated: z
    .boolean()
    .openapi({ description: 'The stored answer is only its start: the whole of it was too large for a row' }),
  created_at: z.string(),
}).openapi('CallDetail');

export const CompleteJobResponse = z
  .object({
    job_id: z.string(),
    status: z.string(),
    completed_at: z.string().nullable(),
    costs: Costs,
    calls: z.array(CallSummary),
  })
  .openapi('CompleteJobResponse');

export const CreateAndCallResponse = z
  .object({
    job_id: z.string(),
    call_id: z.string(),
    status: z.string(),
    response: CallResult,
    metadata: CallMetadata,
    costs: Costs,
    completed_at: z.string().nullable(),
  })
  .openapi('CreateAndCallResponse');

export const JobResponse = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    job_type: z.string(),
    user_id: z.string().nullable(),
    status: z.string(),
    metadata: Metadata.nullable(),
    error_message: z.string().nullable(),
    credits_charged: z.number().int(),
    created_at: z.string(),
    completed_at: z.string().nullable(),
    costs: Costs,
    calls: z.array(CallDetail),
  })
  .openapi('Job');

export const CreditsResponse = z
  .object({ team_id: z.string(), credits_remaining: z.number().int(), credits_held: z.number().int() })
  .openapi('Credits');
