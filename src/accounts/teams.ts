/**
 * The teams aggregate: its rows, the operator's edits, its ledger as a list, and which teams run
 * low. Credits move only through billing/ledger.ts.
 */
import { moveCredits } from '../billing/ledger';
import { type Accounts, accountDb, accountStub } from './account/db';
import { type Team, teams } from '../db/schema';
import { insertColumns, tableRows, updateRow } from '../db/rows';
import { type Database, batch, first, namedSql, rows, run, write } from '../db/statement';
import { conflict, notFound } from '../errors';
import { orgGone } from './references';

const byId = namedSql('SELECT * FROM teams WHERE id = :id');

/** The team with this id, or null. */
export const teamById = (id: string) => first(tableRows(teams, byId, { id }));

/** The team, or 404. */
export async function requireTeam(db: Database, id: string): Promise<Team> {
  const team = await run(db, teamById(id));
  if (!team) throw notFound('team', id);
  return team;
}

export type TeamColumns = Partial<typeof teams.$inferInsert>;

export interface TeamDeps {
  d1: D1Database;
  accounts: Accounts;
}

/**
 * A new team with its settings and, optionally, starting credits as a grant; 409 if the id is
 * taken. The row is made in D1 (where its organization is); its account takes it from there.
 */
export async function createTeam(
  deps: TeamDeps,
  id: string,
  columns: TeamColumns,
  credits: number | undefined,
  now: number,
): Promise<Team> {
  const insert = insertColumns(
    teams,
    { ...columns, id, name: columns.name ?? id, createdAt: now },
    { ignoreConflict: true },
  );
  const inserted = await run(deps.d1, insert).catch((err) => orgGone(err, columns.organizationId));
  if (inserted !== 1) throw conflict(`Team '${id}' already exists`, 'team_exists');
  const account = accountDb(deps.accounts, id);
  if (credits) await batch(account, moveCredits(id, credits, 'initial credits', now));
  return requireTeam(account, id);
}

/**
 * Changes the given settings (absent ones keep their value) in the team's account, which admits
 * its calls by them from the next one on; 404 for an unknown team. (The organization was checked
 * in D1 by the route: routes/admin/teams.ts.)
 */
export async function updateTeam(deps: TeamDeps, id: string, columns: TeamColumns): Promise<Team> {
  const [team] = await run(accountDb(deps.accounts, id), updateRow(teams, 'id', id, columns));
  if (!team) throw notFound('team', id);
  return team;
}

const page = namedSql(`SELECT * FROM teams
  WHERE (:after IS NULL OR id > :after) AND (:org IS NULL OR organization_id = :org)
    AND (:status IS NULL OR status = :status)
  ORDER BY id LIMIT :limit`);

/** Teams by id after `after`, `limit` of them, optionally of one organization or status. */
export const teamsPage = (opts: { after: string | null; org?: string; status?: string; limit: number }) =>
  tableRows(teams, page, { after: opts.after, org: opts.org ?? null, status: opts.status ?? null, limit: opts.limit });

const usage = namedSql(`SELECT
  (SELECT count(*) FROM jobs WHERE team_id = :id) AS jobs,
  (SELECT count(*) FROM credit_holds WHERE team_id = :id AND status = 'active') AS holds`);

// Every statement re-checks emptiness, so a job created meanwhile stops the whole delete.
const EMPTY = `EXISTS (SELECT 1 FROM teams WHERE id = :id AND credits_balance = 0 AND credits_held = 0)
  AND NOT EXISTS (SELECT 1 FROM jobs WHERE team_id = :id)
  AND NOT EXISTS (SELECT 1 FROM credit_holds WHERE team_id = :id AND status = 'active')`;
const deleteEmpty = ['api_keys', 'credit_ledger', 'credit_holds', 'credit_reports'].map((table) =>
  namedSql(`DELETE FROM ${table} WHERE team_id = :id AND ${EMPTY}`),
);
const deleteTeamRow = namedSql(`DELETE FROM teams WHERE id = :id AND ${EMPTY}`);

/**
 * Deletes a team that never ran a job, holds nothing and has a zero balance, with its keys,
 * ledger rows and reports; 404 for an unknown team, 409 naming what it still has.
 */
export async function deleteEmptyTeam(deps: TeamDeps, id: string): Promise<void> {
  const { d1 } = deps;
  const [team, counts] = await batch(d1, [teamById(id), rows<{ jobs: number; holds: number }>(usage, { id })]);
  if (!team) throw notFound('team', id);
  const { jobs = 0, holds = 0 } = counts[0] ?? {};
  const why = [
    jobs ? `${jobs} job(s)` : null,
    holds ? `${holds} active hold(s)` : null,
    team.creditsBalance !== 0 ? `a balance of ${team.creditsBalance} credits` : null,
  ].filter(Boolean);
  if (why.length) throw conflict(`Team '${id}' is not empty: it has ${why.join(', ')}`, 'team_not_empty');
  // The account checks its own state too (it may hold what D1 has not seen yet), then empties itself.
  if (!(await accountStub(deps.accounts, id).close()))
    throw conflict(`Team '${id}' changed while it was being deleted; nothing was deleted`, 'team_not_empty');
  const results = await batch(d1, [...deleteEmpty.map((q) => write(q, { id })), write(deleteTeamRow, { id })]);
  if (results.at(-1) !== 1)
    throw conflict(`Team '${id}' changed while it was being deleted; nothing was deleted`, 'team_not_empty');
}

/** Adds or takes credits (one ledger row); 409 when a removal would overdraw the team. */
export async function addCredits(deps: TeamDeps, id: string, amount: number, reason: string | null): Promise<Team> {
  const account = accountDb(deps.accounts, id);
  await requireTeam(account, id);
  try {
    await batch(account, moveCredits(id, amount, reason, Date.now()));
  } catch (err) {
    // The CHECK constraint on teams refuses a balance below what is held: nothing was written.
    if (String(err).includes('CHECK constraint failed'))
      throw conflict('That adjustment would take the team below zero available credits', 'insufficient_credits');
    throw err;
  }
  return requireTeam(account, id);
}

export interface LowCreditTeam {
  teamId: string;
  name: string;
  status: 'active' | 'suspended';
  available: number;
  threshold: number;
}

/** Team `t` is low on credits: its available credits are under its threshold (`:fallback` where it sets none). */
export const LOW_CREDITS = '(t.credits_balance - t.credits_held) < coalesce(t.low_credit_threshold, :fallback)';

const low = namedSql(`SELECT t.id AS teamId, t.name, t.status, t.credits_balance - t.credits_held AS available,
    coalesce(t.low_credit_threshold, :fallback) AS threshold
  FROM teams t WHERE ${LOW_CREDITS}
  ORDER BY available, t.id LIMIT :limit`);

/** Teams low on credits, lowest first. */
export const lowCreditTeams = (fallback: number, limit = 1000) => rows<LowCreditTeam>(low, { fallback, limit });
