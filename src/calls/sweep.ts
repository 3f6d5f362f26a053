import { type Accounts, accountDb } from '../accounts/account/db';
import { releaseStaleCallHolds } from '../billing/ledger';
import { batch, namedSql, rows, run } from '../db/statement';

const teamsWithStaleHolds = namedSql(`SELECT DISTINCT team_id AS teamId FROM credit_holds
  WHERE call_id IS NOT NULL AND status = 'active' AND created_at < :cutoff`);

/**
 * Call holds older than the job TTL whose call never settled (its isolate died), released back to
 * their teams: D1's copy names the teams, and each team's account releases its own. (A team's
 * stale concurrency slots and rate windows go with its calls' books: calls/books.ts.)
 */
export async function sweepStale(
  deps: { d1: D1Database; accounts: Accounts },
  opts: { now: number; ttlSeconds: number },
) {
  const cutoff = opts.now - opts.ttlSeconds * 1000;
  const teams = await run(deps.d1, rows<{ teamId: string }>(teamsWithStaleHolds, { cutoff }));
  let callHolds = 0;
  for (const { teamId } of teams) {
    const [, released] = await batch(accountDb(deps.accounts, teamId), releaseStaleCallHolds(cutoff, opts.now));
    callHolds += released ?? 0;
  }
  return { callHolds };
}
