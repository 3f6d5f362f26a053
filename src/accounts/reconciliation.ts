/**
 * Reconciliation: every team's account held against its copy in D1 (account/reconcile.ts says
 * what is compared). The scheduled run checks each team and keeps the last result per team in
 * `account_checks`; the operator lists the teams whose account and D1 disagree.
 */
import { tableRows } from '../db/rows';
import { type AccountCheck, accountChecks } from '../db/schema';
import { namedSql, rows, run, write } from '../db/statement';
import { type Accounts, accountStub } from './account/db';

/** Teams read from D1 per page, and accounts asked at once. */
const PAGE = 200;
const PARALLEL = 8;

const teamsAfter = namedSql('SELECT id FROM teams WHERE id > :after ORDER BY id LIMIT :limit');
const keep = namedSql(`INSERT INTO account_checks (team_id, checked_at, in_step, pending, differences)
  VALUES (:teamId, :now, :inStep, :pending, :differences)
  ON CONFLICT (team_id) DO UPDATE SET checked_at = excluded.checked_at, in_step = excluded.in_step,
    pending = excluded.pending, differences = excluded.differences`);

/** Checks one team's account and keeps the result. */
export async function reconcileTeam(deps: { d1: D1Database; accounts: Accounts }, teamId: string, now: number) {
  const { differences, pending } = await accountStub(deps.accounts, teamId).reconcile(teamId);
  const inStep = differences.length === 0 && pending === 0;
  await run(
    deps.d1,
    write(keep, { teamId, now, inStep: inStep ? 1 : 0, pending, differences: JSON.stringify(differences) }),
  );
  if (!inStep) console.error(JSON.stringify({ msg: 'account and D1 differ', team_id: teamId, pending, differences }));
  return { teamId, inStep, pending, differences };
}

/** Teams apart named in a run's result, at most (every one is kept in `account_checks`). */
const MAX_LISTED = 200;

/** Checks every team's account: how many were checked, and those that differ. */
export async function reconcileAll(deps: { d1: D1Database; accounts: Accounts }, now: number) {
  let after = '';
  let checked = 0;
  let differing = 0;
  let errors = 0;
  const apart: Awaited<ReturnType<typeof reconcileTeam>>[] = [];
  for (;;) {
    const ids = await run(deps.d1, rows<{ id: string }>(teamsAfter, { after, limit: PAGE }));
    for (let i = 0; i < ids.length; i += PARALLEL) {
      const results = await Promise.allSettled(ids.slice(i, i + PARALLEL).map((t) => reconcileTeam(deps, t.id, now)));
      for (const r of results) {
        if (r.status === 'rejected') {
          errors++;
          console.error(JSON.stringify({ msg: 'reconciliation failed', error: String(r.reason) }));
        } else {
          checked++;
          if (r.value.inStep) continue;
          differing++;
          if (apart.length < MAX_LISTED) apart.push(r.value);
        }
      }
    }
    if (ids.length < PAGE) break;
    after = ids.at(-1)!.id;
  }
  return { checked, differing, errors, apart };
}

const differingPage = namedSql(`SELECT * FROM account_checks WHERE in_step = 0 AND team_id > :after
  ORDER BY team_id LIMIT :limit`);

/** Teams whose last check found their account and D1 apart, by team id after `after`. */
export const differingAccounts = (after: string | null, limit: number) =>
  tableRows(accountChecks, differingPage, { after: after ?? '', limit });
