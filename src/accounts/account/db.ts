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

/** How a batch with a `once` name is sent again after a transient failure. */
export interface Retries {
  /**
   * The waits before each new try, each stretched by up to half again at random, so that the
   * calls of one account in trouble do not come back together.
   */
  waits: readonly number[];
  /** Whether a flooded account (`.overloaded`) is tried again, or the caller told at once. */
  whenOverloaded: boolean;
}

export const RETRIES = {
  /**
   * While a client waits (admission): long enough for an object to restart, about a second in
   * all. A flooded account is not tried again: the client gets its 503 at once and backs off.
   */
  client: { waits: [50, 150, 400], whenOverloaded: false },
  /**
   * After the call (its books), under `waitUntil`: about 10 s of waits at most, well inside the
   * 30 s that work is given. A flooded account is tried again too: books never written are a call
   * never billed, and a few backed-off tries a call are a small load.
   */
  background: { waits: [100, 200, 400, 800, 1600, 3200], whenOverloaded: true },
} as const satisfies Record<string, Retries>;

/**
 * What the runtime said of a call it could not deliver or finish: the object moving or
 * restarting, or the answer lost (`retryable`), or the object flooded (`overloaded`). An error the
 * object's own code threw is neither (null), and sending the batch again would fail the same way.
 */
function transient(err: unknown): 'retryable' | 'overloaded' | null {
  const e = err as { retryable?: unknown; overloaded?: unknown } | null;
  if (typeof e !== 'object' || e === null) return null;
  return e.overloaded === true ? 'overloaded' : e.retryable === true ? 'retryable' : null;
}

/**
 * The account of team `teamId`, its batches run with `opts`. The runtime itself sends a call
 * again when it never reached the object; a transient failure after that (the answer lost, the
 * object reset or flooded) is retried here, as `retries` says, only for a batch with a `once`
 * name: the account runs such a batch once however often it arrives. Any other batch, or one
 * whose retries run out, fails with 503 for its caller to send again.
 */
export function accountDb(
  accounts: Accounts,
  teamId: string,
  opts: RunOptions = { record: 'now' },
  retries: Retries = RETRIES.background,
): SqlTarget {
  return {
    run: async (statements) => {
      for (let attempt = 0; ; attempt++) {
        try {
          // A stub of its own each try: a failed call can leave its stub broken.
          return await accountStub(accounts, teamId).run(teamId, statements, opts);
        } catch (err) {
          const failure = transient(err);
          if (!failure) throw err;
          const again = opts.once !== undefined && (failure === 'retryable' || retries.whenOverloaded);
          const wait = again ? retries.waits[attempt] : undefined;
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
  retries: Retries = RETRIES.background,
): Promise<SqlTarget> {
  const team = await keyTeam(deps.d1, keyHash);
  if (!team) throw unauthorized();
  return accountDb(deps.accounts, team.teamId, opts, retries);
}
