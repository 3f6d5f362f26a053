/**
 * The money side of a finished call, as statements for the batch that writes its books
 * (calls/books.ts): in a consumption mode, its hold released and what it really cost charged;
 * when the call is its job's only one (create-and-call, `/v1`), the job's end and its credit.
 * An upstream failure is never charged; a client that left pays for what was produced.
 */
import type { CallStatus, TokenUsage } from '../core/completion';
import type { Statement } from '../db/statement';
import { type TeamRates, callCredits } from './budget';
import type { TokenPrices } from './token-prices';
import { type FinishedStatus, finishJob, settleCallHold } from './ledger';

export interface CallToSettle {
  callId: string;
  job: { id: string; teamId: string };
  /** The team's settings as the call was admitted with them. */
  team: TeamRates;
  /** The catalog entry that answered (its prices). */
  model: TokenPrices;
  status: CallStatus;
  usage: TokenUsage;
  /** The job ends with this call. */
  finishesJob: boolean;
  errorMessage: string | null;
}

/**
 * The credits this call is charged: nothing for an upstream failure, nor in job_based mode; else
 * what `callCost` (billing/pricing.ts) tells the client, both being `callCredits`.
 */
export const creditsFor = (call: Pick<CallToSettle, 'team' | 'model' | 'status' | 'usage'>) =>
  call.status === 'error' ? 0 : callCredits(call.team, call.model, call.usage);

/** How a job that ends with its call ends. */
const jobStatusOf = (status: CallStatus): FinishedStatus =>
  status === 'success' ? 'completed' : status === 'error' ? 'failed' : 'cancelled';

export function settleCall(call: CallToSettle, now: number): Statement<number>[] {
  const { job, callId } = call;
  return [
    // (A call on an existing job moved it to in_progress at admission; `complete` ends it.)
    ...(call.finishesJob ? finishJob(job, jobStatusOf(call.status), now, { errorMessage: call.errorMessage }) : []),
    ...(call.team.budgetMode !== 'job_based'
      ? settleCallHold({ teamId: job.teamId, jobId: job.id, callId, credits: creditsFor(call) }, now)
      : []),
  ];
}
