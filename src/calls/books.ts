/**
 * A finished call's books, written in one batch in its team's account: its row (calls/record.ts),
 * its concurrency slot freed and its tokens counted, and its settlement (billing/settle.ts).
 * Streams write them under `waitUntil`, so a client that disconnects cannot lose them; the
 * account copies them to D1 until D1 has them.
 */
import { type Accounts, accountDb } from '../accounts/account/db';
import type { RunOptions } from '../accounts/account/object';
import { NO_USAGE, type TokenUsage } from '../core/completion';
import { settleCall } from '../billing/settle';
import { estimateUsage } from '../billing/tokens';
import { insertRow } from '../db/rows';
import { type Model, llmCalls } from '../db/schema';
import { batch } from '../db/statement';
import { trackSettling } from '../jobs/settling';
import type { ChatParams } from '../core/chat-params';
import type { PumpOutcome } from '../streaming/pump/types';
import type { Admitted } from './admission';
import { countTokens, dropStaleCounters, releaseSlot } from './limits';
import { callRecord } from './record';

export interface FinishedCall {
  admitted: Admitted;
  params: ChatParams;
  stream: boolean;
  /** The job ends with this call (create-and-call, `/v1`). */
  finishesJob: boolean;
  served: Model;
  attempts: number;
  outcome: PumpOutcome;
}

/** How often this isolate's books also clear a team's stale counters, and when it last did, by team. */
const PRUNE_EVERY_MS = 10 * 60_000;
const pruned = new Map<string, number>();

/**
 * The statements that drop the counters no limit reads any more from the team's account (slots of
 * streams whose isolate died, past rate windows), once per PRUNE_EVERY_MS per team in this isolate.
 */
function pruneCounters(teamId: string, now: number) {
  if ((pruned.get(teamId) ?? 0) > now - PRUNE_EVERY_MS) return [];
  if (pruned.size > 10_000) pruned.clear();
  pruned.set(teamId, now);
  return dropStaleCounters(now);
}

/** The provider's usage when it sent one (zeros included), else counted with the tokenizer. */
async function resolveUsage(call: FinishedCall): Promise<{ usage: TokenUsage; estimated: boolean }> {
  const { completion, ttftMs } = call.outcome;
  if (completion.usage) return { usage: completion.usage, estimated: false };
  const nothing = !completion.content && !completion.toolCalls.length && ttftMs === null;
  if (nothing) return { usage: NO_USAGE, estimated: false };
  return { usage: await estimateUsage(call.params, completion), estimated: true };
}

/**
 * Writes the books in the call's account and resolves to the usage they record; the account
 * copies them to D1 soon after, or before this resolves with `now`. The batch is keyed by the
 * call, so a failure the runtime calls transient is retried without charging twice
 * (accounts/account/db.ts). It never rejects: a batch the account could not run is logged (it
 * shows in `wrangler tail` and Workers Logs) and the call's hold is left for the scheduled sweep
 * to release.
 */
export async function writeBooks(
  accounts: Accounts,
  call: FinishedCall,
  /** `now`: resolve once D1 has their copy too, for a caller that reads D1 next. */
  copy: RunOptions['record'] = 'soon',
): Promise<TokenUsage> {
  const { admitted, outcome } = call;
  const { callId, job, team, key } = admitted;
  let usage: TokenUsage = NO_USAGE;
  const work = (async () => {
    const resolved = await resolveUsage(call);
    usage = resolved.usage;
    const now = Date.now();
    const record = callRecord({
      callId,
      job,
      alias: admitted.model.alias,
      served: call.served,
      attempts: call.attempts,
      purpose: call.params.purpose ?? null,
      stream: call.stream,
      outcome,
      usage,
      estimated: resolved.estimated,
      now,
    });
    await batch(accountDb(accounts, team.id, { record: copy, once: { key: `books:${callId}`, at: now } }), [
      insertRow(llmCalls, record),
      releaseSlot(callId),
      // Only what this team's settings (as admitted) need: every statement costs on the hot path.
      ...(team.tpmLimit !== null || key.tpmLimit !== null
        ? [
            countTokens(
              { teamId: team.id, keyId: key.id, windowStart: admitted.windowStart },
              usage.input + usage.output,
            ),
          ]
        : []),
      ...pruneCounters(team.id, now),
      ...settleCall(
        {
          callId,
          job,
          team,
          model: call.served,
          status: outcome.status,
          usage,
          finishesJob: call.finishesJob,
          errorMessage: outcome.error?.message ?? null,
        },
        now,
      ),
    ]);
  })().catch((err: unknown) => {
    console.error(
      JSON.stringify({ msg: 'call bookkeeping failed', call_id: callId, job_id: job.id, error: String(err) }),
    );
  });
  await trackSettling([job.id, callId], work);
  return usage;
}
