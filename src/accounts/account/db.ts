/**
 * The Worker's side of a team's account: a `Database` (db/statement.ts) whose batches run in that
 * team's object, so `batch(account, statements)` moves a team's credits as `batch(d1, ...)` did.
 */
import { keyTeam } from '../../auth/key-team';
import type { SqlTarget } from '../../db/statement';
import { accountUnavailable, unauthorized } from '../../errors';
import type { Env } from '../../env';
import { sleep } from '../../lib/event-loop';
import type { Account, RunOptions } from './object';

export type Accounts = Env['ACCOUNTS'];

/**
 * The waits before each new try of a batch with a `once` key, doubling, each stretched by up to
 * half again at random so that the calls of one flooded account do not come back together. They
 * add up to about 10 s at most, well inside the 30 s a Worker's `waitUntil` work is given.
 */
const RETRY_DELAYS_MS = [100, 200, 400, 800, 1600, 3200];

/**
 * An error the runtime raised for a call it could not deliver or finish: the object moving,
 * restarting or flooded (`.retryable`, `.overloaded`). An error the object's own code threw is
 * neither, and sending the batch again would fail the same way.
 */
function transient(err: unknown): boolean {
  const e = err as { retryable?: unknown; overloaded?: unknown } | null;
  return typeof e === 'object' && e !== null && (e.retryable === true || e.overloaded === true);
}

/**
 * The account of team `teamId`, its batches run with `opts`. The runtime itself sends a call
 * again when it never reached the object; a transient failure after that (the answer lost, the
 * object reset or flooded) is retried here, with backoff, only for a batch with a `once` key:
 * the account runs such a batch once however often it arrives. Any other batch, or one whose
 * retries run out, fails with 503 for its caller to send again.
 */
export function accountDb(accounts: Accounts, teamId: string, opts: RunOptions = { record: 'now' }): SqlTarget {
  return {
    run: async (statements) => {
      for (let attempt = 0; ; attempt++) {
        try {
          // A stub of its own each try: a failed call can leave its stub broken.
          return await accountStub(accounts, teamId).run(teamId, statements, opts);
        } catch (err) {
          if (!transient(err)) throw err;
          const wait = opts.once === undefined ? undefined : RETRY_DELAYS_MS[attempt];
          console.error(
            JSON.stringify({
              msg: wait === undefined ? 'account unreachable' : 'account unreachable; retrying',
              team_id: teamId,
              attempts: attempt + 1,
              error: String(err),
            }),
          );
          if (wait === undefined) throw accountUnavailable();
          await sleep(wait * (1 + Math.random() / 2));
        }
      }
    },
  };
}

/** The account's object itself, for what is not a batch of statements (closing it). */
export function accountStub(accounts: Accounts, teamId: string) {
  const ns = accounts as unknown as DurableObjectNamespace<Account>;
  return ns.get(ns.idFromName(teamId));
}

/** The account of the team the key with this hash belongs to; 401 for a key D1 does not know. */
export async function keyAccount(
  deps: { d1: D1Database; accounts: Accounts },
  keyHash: string,
  opts: RunOptions = { record: 'now' },
): Promise<SqlTarget> {
  const team = await keyTeam(deps.d1, keyHash);
  if (!team) throw unauthorized();
  return accountDb(deps.accounts, team.teamId, opts);
}
