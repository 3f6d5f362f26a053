import type { TokenUsage } from '../core/completion';
import type { LlmCall, Model } from '../db/schema';
import { costUsd } from '../billing/pricing';
import type { PumpOutcome } from '../streaming/pump/types';
import { storedAnswer } from './stored-answer';

export interface CallFacts {
  callId: string;
  job: { id: string; teamId: string };
  /** The alias the caller asked for. */
  alias: string;
  /** The catalog entry that answered, after any fallback, and how many attempts it took. */
  served: Model;
  attempts: number;
  purpose: string | null;
  stream: boolean;
  outcome: PumpOutcome;
  /** The usage the books count, and whether it was counted here (the upstream sent none). */
  usage: TokenUsage;
  estimated: boolean;
  now: number;
}

/** The call's row, from what happened: a pure function, so every way a call can end is testable without D1. */
export function callRecord(f: CallFacts): LlmCall {
  const { completion } = f.outcome;
  const stored = storedAnswer(completion.content, completion.toolCalls);
  return {
    id: f.callId,
    jobId: f.job.id,
    teamId: f.job.teamId,
    model: f.alias,
    provider: f.served.provider,
    upstreamModel: f.served.upstreamModel,
    servedBy: f.served.alias,
    attempts: f.attempts,
    purpose: f.purpose,
    status: f.outcome.status,
    stream: f.stream,
    content: stored.content,
    toolCalls: stored.toolCalls.length ? stored.toolCalls : null,
    storedTruncated: stored.truncated,
    finishReason: completion.finishReason,
    promptTokens: f.usage.input,
    completionTokens: f.usage.output,
    cachedInputTokens: f.usage.cachedInput,
    cacheWriteTokens: f.usage.cacheWrite,
    reasoningTokens: f.usage.reasoning,
    usageSource: f.estimated ? 'estimated' : 'provider',
    costUsd: costUsd(f.served, f.usage),
    ttftMs: f.outcome.ttftMs,
    latencyMs: f.outcome.latencyMs,
    error: f.outcome.error?.message ?? null,
    createdAt: f.now,
  };
}
