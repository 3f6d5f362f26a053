/**
 * The teams aggregate: its rows, the operator's edits, its ledger as a list, and which teams run
 * low. Credits move only through billing/ledger.ts.
 */
import { moveCredits } from '../billing/ledger';
import { type Team, teams } from '../db/schema';
import { insertColumns, tableRows, updateRow } from '../db/rows';
import { batch, first, namedSql, rows, run, write } from '../db/statement';
import { conflict, notFound } from '../errors';
import { orgGone } from './references';

const byId = namedSql('SELECT * FROM teams WHERE id = :id');

/** The team with this id, or null. */
export const teamById = (id: string) => first(tableRows(teams, byId, { id }));

const resumableByKey = namedSql(
  'SELECT t.resumable_by_default AS resumable FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = :keyHash',
);

/**
 * Whether the team of the key with this hash streams resumably by default (null: no such key). Not
 * a check of the key: the call that follows is admitted, or refused, as any other.
 */
export const resumableDefaultOfKey = (keyHash: string) =>
  first(rows<{ resumable: number }>(resumableByKey, { keyHash }));

/** The team, or 404. */
export async function requireTeam(d1: D1Database, id: string): Promise<Team> {
  const team = await run(d1, teamById(id));
  if (!team) throw notFound('team', id);
  return team;
}

export type TeamColumns = Partial<typeof teams.$inferInsert>;

/** A new team with its settings and, optionally, starting credits as a grant; 409 if the id is taken. */
export async function createTeam(
  d1: D1Database,
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
  const inserted = await run(d1, insert).catch((err) => orgGone(err, columns.organizationId));
  if (inserted !== 1) throw conflict(`Team '${id}' already exists`, 'team_exists');
  if (credits) await batch(d1, moveCredits(id, credits, 'initial credits', now));
  return requireTeam(d1, id);
}

/** Changes the given settings (absent ones keep their value); 404 for an unknown team. */
export async function updateTeam(d1: D1Database, id: string, columns: TeamColumns): Promise<Team> {
  const [team] = await run(d1, updateRow(teams, 'id', id, columns)).catch((err) =>
    orgGone(err, columns.organizationId),
  );
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
export async function deleteEmptyTeam(d1: D1Database, id: string): Promise<void> {
  const [team, counts] = await batch(d1, [teamById(id), rows<{ jobs: number; holds: number }>(usage, { id })]);
  if (!team) throw notFound('team', id);
  const { jobs = 0, holds = 0 } = counts[0] ?? {};
  const why = [
    jobs ? `${jobs} job(s)` : null,
    holds ? `${holds} active hold(s)` : null,
    team.creditsBalance !== 0 ? `a balance of ${team.creditsBalance} credits` : null,
  ].filter(Boolean);
  if (why.length) throw conflict(`Team '${id}' is not empty: it has ${why.join(', ')}`, 'team_not_empty');
  const results = await batch(d1, [...deleteEmpty.map((q) => write(q, { id })), write(deleteTeamRow, { id })]);
  if (results.at(-1) !== 1)
    throw conflict(`Team '${id}' changed while it was being deleted; nothing was deleted`, 'team_not_empty');
}

/** Adds or takes credits (one ledger row); 409 when a removal would overdraw the team. */
export async function addCredits(d1: D1Database, id: string, amount: number, reason: string | null): Promise<Team> {
  await requireTeam(d1, id);
  try {
    await batch(d1, moveCredits(id, amount, reason, Date.now()));
  } catch (err) {
    // The CHECK constraint on teams refuses a balance below what is held: nothing was written.
    if (String(err).includes('CHECK constraint failed'))
      throw conflict('That adjustment would take the team below zero available credits', 'insufficient_credits');
    throw err;
  }
  return requireTeam(d1, id);
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
