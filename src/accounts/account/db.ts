/**
 * The Worker's side of a team's account: a `Database` (db/statement.ts) whose batches run in that
 * team's object, so `batch(account, statements)` moves a team's credits as `batch(d1, ...)` did.
 */
import { keyTeam } from '../../auth/key-team';
import type { SqlTarget } from '../../db/statement';
import { unauthorized } from '../../errors';
import type { Env } from '../../env';
import type { Account, RunOptions } from './object';

export type Accounts = Env['ACCOUNTS'];

/** The account of team `teamId`, its batches run with `opts`. */
export function accountDb(accounts: Accounts, teamId: string, opts: RunOptions = { record: 'now' }): SqlTarget {
  const stub = accountStub(accounts, teamId);
  return { run: (statements) => stub.run(teamId, statements, opts) };
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
