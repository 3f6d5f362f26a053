/** How jobs and their calls read in the API (snake_case, ISO dates): one place for every route that shows them. */
import type { Job, LlmCall, Team } from '../db/schema';
import { iso } from '../lib/time';

export function jobView(job: Job) {
  return {
    job_id: job.id,
    team_id: job.teamId,
    job_type: job.jobType,
    user_id: job.userId,
    status: job.status,
    metadata: job.metadata ?? null,
    error_message: job.errorMessage,
    credits_charged: job.creditsCharged,
    created_at: iso(job.createdAt),
    completed_at: iso(job.completedAt),
  };
}

/** A call in a list of costs: what it used and how it went, not what it said. */
export function callView(c: LlmCall) {
  return {
    call_id: c.id,
    model: c.model,
    purpose: c.purpose,
    status: c.status,
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    cached_tokens: c.cachedInputTokens,
    cache_write_tokens: c.cacheWriteTokens,
    reasoning_tokens: c.reasoningTokens,
    usage_source: c.usageSource,
    cost_usd: c.costUsd,
    ttft_ms: c.ttftMs,
    latency_ms: c.latencyMs,
    finish_reason: c.finishReason,
    error: c.error,
  };
}

/** A call with the answer it stored: its text and tool calls, cut and marked if they were too large for a row. */
export function callDetail(c: LlmCall) {
  return {
    ...callView(c),
    job_id: c.jobId,
    served_by: c.servedBy,
    provider: c.provider,
    upstream_model: c.upstreamModel,
    attempts: c.attempts,
    stream: c.stream,
    content: c.content,
    tool_calls: (c.toolCalls ?? []) as {
      id: string;
      type: 'function';
      function: { name: string; arguments: string };
    }[],
    stored_truncated: c.storedTruncated,
    created_at: iso(c.createdAt),
  };
}

export function summarizeCosts(job: Job, calls: LlmCall[], team: Team) {
  const ok = calls.filter((c) => c.status === 'success');
  const totalLatency = calls.reduce((n, c) => n + c.latencyMs, 0);
  return {
    total_calls: calls.length,
    successful_calls: ok.length,
    failed_calls: calls.length - ok.length,
    total_tokens: calls.reduce((n, c) => n + c.promptTokens + c.completionTokens, 0),
    total_cost_usd: Math.round(calls.reduce((n, c) => n + c.costUsd, 0) * 1e6) / 1e6,
    avg_latency_ms: calls.length ? Math.round(totalLatency / calls.length) : 0,
    credits_charged: job.creditsCharged,
    credits_remaining: team.creditsBalance - team.creditsHeld,
  };
}
