/**
 * The shapes Sluice sends and accepts, written out by hand so the client carries no runtime
 * dependency (test/client/types.test.ts checks them against the server's own schemas).
 */

/**
 * One part of a multi-part message (`{ type: 'text', text }`, `{ type: 'image_url', ... }`).
 *
 * @example
 * const part: ContentPart = { type: 'text', text: 'What is in this picture?' };
 */
export interface ContentPart {
  type: string;
  [key: string]: unknown;
}

/**
 * A tool call as the assistant made it.
 *
 * @example
 * const call: ToolCall = { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } };
 */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * One message of a conversation, in OpenAI's format.
 *
 * @example
 * const messages: ChatMessage[] = [
 *   { role: 'system', content: 'You are terse.' },
 *   { role: 'user', content: 'Hello' },
 * ];
 */
export type ChatMessage =
  | { role: 'system' | 'developer' | 'user'; content: string | ContentPart[]; name?: string }
  | { role: 'assistant'; content?: string | ContentPart[] | null; name?: string; tool_calls?: ToolCall[] }
  | { role: 'tool'; content: string | ContentPart[]; tool_call_id: string };

/**
 * A function the model may call.
 *
 * @example
 * const tool: Tool = {
 *   type: 'function',
 *   function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
 * };
 */
export interface Tool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
}

/**
 * Whether and which tool the model must call.
 *
 * @example
 * const choice: ToolChoice = { type: 'function', function: { name: 'weather' } };
 */
export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/**
 * Generation parameters every call endpoint takes (OpenAI's names).
 *
 * @example
 * const params: ChatParams = { messages: [{ role: 'user', content: 'Hi' }], model: 'mock', max_tokens: 100 };
 */
export interface ChatParams {
  messages: ChatMessage[];
  /** A model alias from `GET /v1/models`; the gateway's `DEFAULT_MODEL` when left out. */
  model?: string;
  temperature?: number;
  max_tokens?: number;
  stop?: string | string[];
  top_p?: number;
  tools?: Tool[];
  tool_choice?: ToolChoice;
  response_format?: { type: 'text' | 'json_object' | 'json_schema'; [key: string]: unknown };
  /** A label stored with the call (for example `plan`, `summarize`). */
  purpose?: string;
}

/**
 * Why the model stopped.
 *
 * @example
 * const reason: FinishReason = 'length'; // max_tokens reached
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/**
 * Token counts for one call.
 *
 * @example
 * const usage: TokenUsage = { prompt_tokens: 4, completion_tokens: 20, total_tokens: 24 };
 */
export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * A piece of a tool call inside a stream chunk; pieces with the same `index` belong together.
 *
 * @example
 * const delta: ToolCallDelta = { index: 0, function: { arguments: '{"ci' } };
 */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/**
 * One `chat.completion.chunk` event of a stream.
 *
 * @example
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
 */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: ToolCallDelta[]; refusal?: string | null };
    finish_reason: FinishReason | null;
    logprobs?: null;
  }[];
  /** Only on the last chunk (the one with `choices: []`). */
  usage?: TokenUsage | null;
  system_fingerprint?: string | null;
}

/**
 * A job's costs so far (or final ones, once it is settled).
 *
 * @example
 * const { costs } = await client.completeJob(jobId, 'completed');
 * console.log(costs.credits_remaining);
 */
export interface Costs {
  total_calls: number;
  successful_calls: number;
  failed_calls: number;
  total_tokens: number;
  total_cost_usd: number;
  avg_latency_ms: number;
  credits_charged: number;
  credits_remaining: number;
}

/**
 * One LLM call of a job, as the job's reports list it.
 *
 * @example
 * const job = await client.getJob(jobId);
 * for (const call of job.calls) console.log(call.model, call.completion_tokens, call.latency_ms);
 */
export interface CallSummary {
  call_id: string;
  model: string;
  purpose: string | null;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  /** Of `prompt_tokens`, read from the provider's prompt cache. */
  cached_tokens: number;
  /** Of `prompt_tokens`, written to the provider's prompt cache. */
  cache_write_tokens: number;
  /** Of `completion_tokens`, the model's reasoning. */
  reasoning_tokens: number;
  usage_source: string;
  cost_usd: number;
  ttft_ms: number | null;
  latency_ms: number;
  finish_reason: string | null;
  error: string | null;
}

/**
 * A whole answer from a non-stream call.
 *
 * @example
 * const { response } = await client.chat(jobId, { messages });
 * console.log(response.content, response.finish_reason);
 */
export interface CallResult {
  content: string;
  finish_reason: string | null;
  tool_calls?: ToolCall[];
}

/**
 * Model and token counts of one non-stream call.
 *
 * @example
 * const { metadata } = await client.chat(jobId, { messages });
 * console.log(`${metadata.tokens_used} tokens in ${metadata.latency_ms} ms`);
 */
export interface CallMetadata {
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_used: number;
  latency_ms: number;
}

/**
 * What `POST /api/jobs/{id}/llm-call` returns.
 *
 * @example
 * const result: LlmCallResult = await client.chat(jobId, { messages });
 */
export interface LlmCallResult {
  call_id: string;
  response: CallResult;
  metadata: CallMetadata;
}

/**
 * Job states: `pending` until its first call, `in_progress` during calls, then one of the three final ones.
 *
 * @example
 * const page = await client.jobs({ status: 'failed' satisfies JobStatus });
 */
export type JobStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled';

/**
 * What `POST /api/jobs/{id}/complete` returns: the settled job, its costs and calls.
 *
 * @example
 * const result: CompleteJobResult = await client.completeJob(jobId, 'completed');
 * console.log(`Credits remaining: ${result.costs.credits_remaining}`);
 */
export interface CompleteJobResult {
  job_id: string;
  status: string;
  completed_at: string | null;
  costs: Costs;
  calls: CallSummary[];
}

/**
 * What `POST /api/jobs/create-and-call` returns: the answer and the settled job.
 *
 * @example
 * const result: CreateAndCallResult = await client.createAndCall({ jobType: 'chat', messages });
 * console.log(result.response.content, result.costs.credits_remaining);
 */
export interface CreateAndCallResult extends LlmCallResult {
  job_id: string;
  status: string;
  costs: Costs;
  completed_at: string | null;
}

/**
 * A job as the team's job list shows it.
 *
 * @example
 * const { data } = await client.jobs({ limit: 10 });
 * for (const job of data) console.log(job.job_id, job.status, job.credits_charged);
 */
export interface JobSummary {
  job_id: string;
  team_id: string;
  job_type: string;
  user_id: string | null;
  status: JobStatus;
  metadata: Record<string, unknown> | null;
  error_message: string | null;
  credits_charged: number;
  created_at: string;
  completed_at: string | null;
}

/**
 * A job with its calls and costs (`GET /api/jobs/{id}`).
 *
 * @example
 * const job: Job = await client.getJob(jobId);
 */
/**
 * A call with the answer it stored: its text and tool calls. `stored_truncated` says the row
 * kept only the start of an answer too large for it (the client's stream always got all of it).
 *
 * @example
 * const call = await client.getCall(jobId, callId);
 * console.log(call.content, call.stored_truncated ? '(cut)' : '');
 */
export interface CallDetail extends CallSummary {
  job_id: string;
  served_by: string | null;
  provider: string;
  upstream_model: string;
  attempts: number;
  stream: boolean;
  content: string;
  tool_calls: ToolCall[];
  stored_truncated: boolean;
  created_at: string;
}

export interface Job extends Omit<JobSummary, 'status'> {
  status: string;
  costs: Costs;
  calls: CallDetail[];
}

/**
 * One page of a list; pass `next_cursor` back as `cursor` until it is `null`.
 *
 * @example
 * let page = await client.jobs();
 * while (page.next_cursor) page = await client.jobs({ cursor: page.next_cursor });
 */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * A team's available and held credits.
 *
 * @example
 * const { credits_remaining } = await client.credits();
 */
export interface Credits {
  team_id: string;
  credits_remaining: number;
  credits_held: number;
}

/**
 * Usage counts for a period, overall or for one job type.
 *
 * @example
 * const { totals } = await client.usage('2026-11');
 * console.log(totals.calls, totals.tokens, totals.cost_usd);
 */
export interface UsageCounts {
  jobs: number;
  successful: number;
  failed: number;
  calls: number;
  tokens: number;
  cost_usd: number;
  credits: number;
}

/**
 * A month of a team's usage (`GET /api/teams/{id}/usage`).
 *
 * @example
 * const usage: TeamUsage = await client.usage();
 * for (const m of usage.by_model) console.log(m.model, m.tokens);
 */
export interface TeamUsage {
  team_id: string;
  period: string;
  from: string;
  to: string;
  totals: UsageCounts;
  by_job_type: ({ job_type: string } & UsageCounts)[];
  by_model: { model: string; calls: number; successful: number; failed: number; tokens: number; cost_usd: number }[];
}

/**
 * One day's credit report, written by the gateway's nightly job.
 *
 * @example
 * const { data } = await client.reports({ from: '2026-11-01', to: '2026-11-30' });
 * for (const r of data) console.log(r.day, r.credits_remaining, r.low_credits);
 */
export interface DailyReport {
  day: string;
  jobs: number;
  calls: number;
  tokens: number;
  cost_usd: number;
  credits_charged: number;
  credits_remaining: number;
  low_credits: boolean;
  top_models: { model: string; calls: number; tokens: number }[];
  created_at: string;
}

/**
 * Daily reports for a range of days, oldest first.
 *
 * @example
 * const reports: Reports = await client.reports();
 */
export interface Reports {
  team_id: string;
  from: string;
  to: string;
  data: DailyReport[];
}

/**
 * A job's costs and per-call breakdown (`GET /api/jobs/{id}/costs`).
 *
 * @example
 * const { calls } = await client.jobCosts(jobId);
 */
export interface JobCosts {
  job_id: string;
  status: JobStatus;
  costs: Costs;
  calls: CallSummary[];
}

/**
 * A model alias the key may call.
 *
 * @example
 * const { data } = await client.models();
 * console.log(data.map((m) => m.id));
 */
export interface Model {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/**
 * What `GET /v1/models` returns.
 *
 * @example
 * const list: ModelList = await client.models();
 */
export interface ModelList {
  object: 'list';
  data: Model[];
}

/**
 * The body of every Sluice error response and of an in-band stream error event.
 *
 * @example
 * const body: ErrorBody = { error: { message: 'Not enough credits', type: 'insufficient_credits', code: 'insufficient_credits', param: null } };
 */
export interface ErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/**
 * Token counts of one streamed call, as the NDJSON `done` line reports them; `cost_usd` and
 * `credits` only where the gateway priced the call as it streamed.
 *
 * @example
 * const usage: NdjsonUsage = { prompt_tokens: 11, completion_tokens: 3, cached_tokens: 0, reasoning_tokens: 0, total_tokens: 14 };
 */
export interface NdjsonUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Of `prompt_tokens`, read from the provider's prompt cache. */
  cached_tokens: number;
  /** Of `completion_tokens`, the model's reasoning. */
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd?: number;
  credits?: number;
}

/**
 * A part of a streamed answer that is not its text: reasoning, or a piece of a tool call
 * (`tool_args` fragments of one `index`, concatenated, are its JSON arguments).
 *
 * @example
 * const piece: NdjsonChunk = { tool_args: { index: 0, args: '{"city":' } };
 */
export type NdjsonChunk =
  | { reasoning: string }
  | { tool_call: { index: number; id: string; name: string } }
  | { tool_args: { index: number; args: string } };

/**
 * One line of an NDJSON stream (`format: 'ndjson'`): `metadata` first, then `token` and `chunk`
 * events, then `done`; or, on failure, `error` last (the client throws it as a `StreamError`).
 * A resumable call's lines also carry `seq`, their number from 0.
 *
 * @example
 * for await (const event of stream) if (event.type === 'token') process.stdout.write(event.data);
 */
export type NdjsonEvent = (
  | {
      type: 'metadata';
      data: '';
      metadata: { job_id: string; call_id: string; model: string; upstream_model: string };
    }
  | { type: 'token'; data: string; metadata: Record<string, never> }
  | { type: 'chunk'; data: NdjsonChunk; metadata: Record<string, never> }
  | { type: 'done'; data: ''; metadata: { finish_reason: FinishReason | null; usage: NdjsonUsage | null } }
  | { type: 'error'; data: string; metadata: { type: string; code: string | null } }
) & { seq?: number };

/**
 * What `POST /api/calls/{call_id}/cancel` returns: the call, ended, and its status as recorded
 * (`client_aborted` when it was cancelled mid-answer; `success` or `error` if it had already ended).
 *
 * @example
 * const { status }: CancelledCall = await client.cancel(stream.callId!);
 */
export interface CancelledCall {
  call_id: string;
  status: string | null;
}
