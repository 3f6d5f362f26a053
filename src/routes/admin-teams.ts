import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, count, desc, eq, gt, gte, lt, or, sql } from 'drizzle-orm';
import { moveCredits } from '../billing/credits';
import { stmt } from '../db/raw';
import { creditHolds, creditLedger, jobs, models, organizations, type Team, teams } from '../db/schema';
import type { Db } from '../db/client';
import { badRequest, conflict, notFound } from '../errors';
import { adminAuth, json, jsonBody } from '../http/openapi';
import { createRouter } from '../http/router';
import {
  AddCreditsBody,
  CreateTeamBody,
  DeletedTeamResponse,
  LowCreditsResponse,
  TeamListQuery,
  TeamPage,
  TeamResponse,
  type TeamSettings,
  TransactionPage,
  TransactionsQuery,
  UpdateTeamBody,
} from '../schemas/admin';
import { ErrorResponse, TeamIdParam } from '../schemas/jobs';
import { decodeCursor, paginate } from '../schemas/pagination';
import { selectTeam } from '../services/jobs';
import { DAY_MS, dayStart, selectLowCreditTeams } from '../services/reports';

export const adminTeams = createRouter();

const tags = ['Admin: teams'];
const errors = {
  400: json(ErrorResponse, 'Invalid request'),
  401: json(ErrorResponse, 'Missing or invalid X-Admin-Key'),
  404: json(ErrorResponse, 'Unknown team'),
};
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function teamView(t: Team) {
  return {
    team_id: t.id,
    name: t.name,
    organization_id: t.organizationId,
    status: t.status,
    budget_mode: t.budgetMode,
    credits_per_job: t.creditsPerJob,
    credits_per_dollar: t.creditsPerDollar,
    tokens_per_credit: t.tokensPerCredit,
    rpm_limit: t.rpmLimit,
    tpm_limit: t.tpmLimit,
    max_concurrent_streams: t.maxConcurrentStreams,
    allowed_models: t.allowedModels ?? null,
    low_credit_threshold: t.lowCreditThreshold,
    credits_balance: t.creditsBalance,
    credits_held: t.creditsHeld,
    credits_remaining: t.creditsBalance - t.creditsHeld,
    created_at: iso(t.createdAt)!,
    updated_at: iso(t.updatedAt),
  };
}

/** The team columns a create or PATCH body sets; absent fields are left out. */
function teamColumns(s: TeamSettings): Partial<typeof teams.$inferInsert> {
  const cols: Partial<typeof teams.$inferInsert> = {
    name: s.name,
    organizationId: s.organization_id,
    budgetMode: s.budget_mode,
    creditsPerJob: s.credits_per_job,
    creditsPerDollar: s.credits_per_dollar,
    tokensPerCredit: s.tokens_per_credit,
    rpmLimit: s.rpm_limit,
    tpmLimit: s.tpm_limit,
    maxConcurrentStreams: s.max_concurrent_streams,
    allowedModels: s.allowed_models,
    lowCreditThreshold: s.low_credit_threshold,
  };
  for (const k of Object.keys(cols) as (keyof typeof cols)[]) if (cols[k] === undefined) delete cols[k];
  return cols;
}

/** `allowed_models` may only name catalog aliases, and the organization must exist: 400 otherwise. */
export async function checkReferences(
  db: Db,
  refs: { organization_id?: string | null; allowed_models?: string[] | null },
): Promise<void> {
  const aliases = refs.allowed_models ?? [];
  if (!refs.organization_id && !aliases.length) return;
  const [orgRows, known] = await db.batch([
    db
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, refs.organization_id ?? '')),
    db
      .select({ alias: models.alias })
      .from(models)
      .where(sql`${models.alias} IN (SELECT value FROM json_each(${JSON.stringify(aliases)}))`),
  ]);
  if (refs.organization_id && !orgRows[0])
    throw badRequest(`No organization '${refs.organization_id}'`, 'organization_id', 'organization_not_found');
  const have = new Set(known.map((m) => m.alias));
  const missing = aliases.findIndex((a) => !have.has(a));
  if (missing >= 0)
    throw badRequest(`No model '${aliases[missing]}' in the catalog`, `allowed_models.${missing}`, 'model_not_found');
}

/** A foreign key failing means the organization went away between the check and the write. */
function orgGone(err: unknown, orgId: string | null | undefined): never {
  if (orgId && String(err).includes('FOREIGN KEY constraint failed'))
    throw badRequest(`No organization '${orgId}'`, 'organization_id', 'organization_not_found');
  throw err;
}

async function requireTeam(db: Db, teamId: string): Promise<Team> {
  const [team] = await selectTeam(db, teamId);
  if (!team) throw notFound('team', teamId);
  return team;
}

adminTeams.openapi(
  createRoute({
    method: 'post',
    path: '/teams',
    tags,
    summary: 'Create a team with its settings, optionally with starting credits (a grant ledger row)',
    security: adminAuth,
    request: { body: jsonBody(CreateTeamBody) },
    responses: { 201: json(TeamResponse, 'The new team'), ...errors, 409: json(ErrorResponse, 'Exists') },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const db = c.var.db;
    const now = Date.now();
    await checkReferences(db, body);
    const inserted = await db
      .insert(teams)
      .values({ ...teamColumns(body), id: body.team_id, name: body.name ?? body.team_id, createdAt: now })
      .onConflictDoNothing()
      .returning({ id: teams.id })
      .catch((err) => orgGone(err, body.organization_id));
    if (!inserted[0]) throw conflict(`Team '${body.team_id}' already exists`, 'team_exists');
    if (body.credits) await db.batch(moveCredits(db, body.team_id, body.credits, 'initial credits', now));
    return c.json(teamView(await requireTeam(db, body.team_id)), 201);
  },
);

adminTeams.openapi(
  createRoute({
    method: 'get',
    path: '/teams',
    tags,
    summary: 'List teams by id, a page at a time; filter by organization_id or status',
    security: adminAuth,
    request: { query: TeamListQuery },
    responses: { 200: json(TeamPage, 'A page of teams'), ...errors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const after = decodeCursor(q.cursor, z.tuple([z.string()]));
    const rows = await c.var.db
      .select()
      .from(teams)
      .where(
        and(
          after ? gt(teams.id, after[0]) : undefined,
          q.organization_id ? eq(teams.organizationId, q.organization_id) : undefined,
          q.status ? eq(teams.status, q.status) : undefined,
        ),
      )
      .orderBy(asc(teams.id))
      .limit(q.limit + 1);
    return c.json(
      paginate(rows, q.limit, (t) => [t.id], teamView),
      200,
    );
  },
);

adminTeams.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}',
    tags,
    summary: 'A team: settings, status and credits',
    security: adminAuth,
    request: { params: TeamIdParam },
    responses: { 200: json(TeamResponse, 'The team'), ...errors },
  }),
  async (c) => c.json(teamView(await requireTeam(c.var.db, c.req.valid('param').team_id)), 200),
);

adminTeams.openapi(
  createRoute({
    method: 'patch',
    path: '/teams/{team_id}',
    tags,
    summary: "Change a team's settings (absent fields keep their value; null clears a limit)",
    security: adminAuth,
    request: { params: TeamIdParam, body: jsonBody(UpdateTeamBody) },
    responses: { 200: json(TeamResponse, 'The team after the change'), ...errors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    const cols = teamColumns(body);
    if (!Object.keys(cols).length) return c.json(teamView(await requireTeam(db, team_id)), 200);
    await checkReferences(db, body);
    const [row] = await db
      .update(teams)
      .set({ ...cols, updatedAt: Date.now() })
      .where(eq(teams.id, team_id))
      .returning()
      .catch((err) => orgGone(err, body.organization_id));
    if (!row) throw notFound('team', team_id);
    return c.json(teamView(row), 200);
  },
);

for (const [action, status] of [
  ['suspend', 'suspended'],
  ['resume', 'active'],
] as const) {
  adminTeams.openapi(
    createRoute({
      method: 'post',
      path: `/teams/{team_id}/${action}`,
      tags,
      summary:
        action === 'suspend'
          ? 'Suspend a team: its keys get 403 team_suspended from the next request on (jobs in flight finish)'
          : 'Resume a suspended team',
      security: adminAuth,
      request: { params: TeamIdParam },
      responses: { 200: json(TeamResponse, 'The team'), ...errors },
    }),
    async (c) => {
      const { team_id } = c.req.valid('param');
      const db = c.var.db;
      const [row] = await db
        .update(teams)
        .set({ status, updatedAt: Date.now() })
        .where(eq(teams.id, team_id))
        .returning();
      if (!row) throw notFound('team', team_id);
      return c.json(teamView(row), 200);
    },
  );
}

adminTeams.openapi(
  createRoute({
    method: 'delete',
    path: '/teams/{team_id}',
    tags,
    summary:
      'Delete an empty team: one that never ran a job, holds no credits and has a zero balance ' +
      '(take its credits back first). Its keys, ledger rows and reports go with it. Otherwise 409.',
    security: adminAuth,
    request: { params: TeamIdParam },
    responses: {
      200: json(DeletedTeamResponse, 'Deleted'),
      ...errors,
      409: json(ErrorResponse, 'The team is not empty'),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const db = c.var.db;
    const [teamRows, jobRows, holdRows] = await db.batch([
      selectTeam(db, team_id),
      db.select({ n: count() }).from(jobs).where(eq(jobs.teamId, team_id)),
      db
        .select({ n: count() })
        .from(creditHolds)
        .where(and(eq(creditHolds.teamId, team_id), eq(creditHolds.status, 'active'))),
    ]);
    const team = teamRows[0];
    if (!team) throw notFound('team', team_id);
    const why = [
      jobRows[0]?.n ? `${jobRows[0].n} job(s)` : null,
      holdRows[0]?.n ? `${holdRows[0].n} active hold(s)` : null,
      team.creditsBalance !== 0 ? `a balance of ${team.creditsBalance} credits` : null,
    ].filter(Boolean);
    if (why.length) throw conflict(`Team '${team_id}' is not empty: it has ${why.join(', ')}`, 'team_not_empty');

    // Every statement re-checks emptiness, so a job created meanwhile stops the whole delete.
    const empty = sql`EXISTS (SELECT 1 FROM teams WHERE id = ${team_id} AND credits_balance = 0 AND credits_held = 0)
      AND NOT EXISTS (SELECT 1 FROM jobs WHERE team_id = ${team_id})
      AND NOT EXISTS (SELECT 1 FROM credit_holds WHERE team_id = ${team_id} AND status = 'active')`;
    const results = await db.batch([
      stmt(db, sql`DELETE FROM api_keys WHERE team_id = ${team_id} AND ${empty}`),
      stmt(db, sql`DELETE FROM credit_ledger WHERE team_id = ${team_id} AND ${empty}`),
      stmt(db, sql`DELETE FROM credit_holds WHERE team_id = ${team_id} AND ${empty}`),
      stmt(db, sql`DELETE FROM credit_reports WHERE team_id = ${team_id} AND ${empty}`),
      stmt(db, sql`DELETE FROM teams WHERE id = ${team_id} AND ${empty}`),
    ]);
    if (results[4].meta.changes !== 1)
      throw conflict(`Team '${team_id}' changed while it was being deleted; nothing was deleted`, 'team_not_empty');
    return c.json({ team_id, deleted: true as const }, 200);
  },
);

adminTeams.openapi(
  createRoute({
    method: 'post',
    path: '/teams/{team_id}/credits',
    tags,
    summary: 'Add credits (positive) or adjust them down (negative); every change is a ledger row',
    security: adminAuth,
    request: { params: TeamIdParam, body: jsonBody(AddCreditsBody) },
    responses: {
      200: json(TeamResponse, 'The team after the change'),
      ...errors,
      409: json(ErrorResponse, 'The adjustment would overdraw the team'),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    await requireTeam(db, team_id);
    try {
      await db.batch(moveCredits(db, team_id, body.credits, body.reason ?? null, Date.now()));
    } catch (err) {
      // The CHECK constraint on teams refuses a balance below what is held: nothing was written.
      if (String(err).includes('CHECK constraint failed'))
        throw conflict('That adjustment would take the team below zero available credits', 'insufficient_credits');
      throw err;
    }
    return c.json(teamView(await requireTeam(db, team_id)), 200);
  },
);

/** `YYYY-MM-DD` covers that whole UTC day; a timestamp is taken as is. Both ends are included. */
function bound(value: string, end: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return dayStart(value) + (end ? DAY_MS - 1 : 0);
  return Date.parse(value);
}

adminTeams.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/transactions',
    tags,
    summary: "The team's ledger, newest first; filter by kind and by a from/to date range (both included)",
    security: adminAuth,
    request: { params: TeamIdParam, query: TransactionsQuery },
    responses: { 200: json(TransactionPage, 'A page of ledger rows'), ...errors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const q = c.req.valid('query');
    const from = q.from === undefined ? null : bound(q.from, false);
    const to = q.to === undefined ? null : bound(q.to, true);
    if (from !== null && to !== null && from > to) throw badRequest('to must not be before from', 'to');
    const after = decodeCursor(q.cursor, z.tuple([z.number().int(), z.string()]));
    const db = c.var.db;
    const [teamRows, rows] = await db.batch([
      selectTeam(db, team_id),
      db
        .select()
        .from(creditLedger)
        .where(
          and(
            eq(creditLedger.teamId, team_id),
            q.kind ? eq(creditLedger.kind, q.kind) : undefined,
            from !== null ? gte(creditLedger.createdAt, from) : undefined,
            to !== null ? lt(creditLedger.createdAt, to + 1) : undefined,
            after
              ? or(
                  lt(creditLedger.createdAt, after[0]),
                  and(eq(creditLedger.createdAt, after[0]), lt(creditLedger.id, after[1])),
                )
              : undefined,
          ),
        )
        .orderBy(desc(creditLedger.createdAt), desc(creditLedger.id))
        .limit(q.limit + 1),
    ]);
    if (!teamRows[0]) throw notFound('team', team_id);
    return c.json(
      paginate(
        rows,
        q.limit,
        (r) => [r.createdAt, r.id],
        (r) => ({
          id: r.id,
          kind: r.kind,
          amount: r.amount,
          reason: r.reason,
          job_id: r.jobId,
          call_id: r.callId,
          created_at: iso(r.createdAt)!,
        }),
      ),
      200,
    );
  },
);

adminTeams.openapi(
  createRoute({
    method: 'get',
    path: '/alerts/low-credits',
    tags,
    summary:
      'Teams whose available credits are under their low_credit_threshold (LOW_CREDIT_THRESHOLD when unset), lowest first, at most 1000',
    security: adminAuth,
    responses: { 200: json(LowCreditsResponse, 'Teams low on credits'), 401: errors[401] },
  }),
  async (c) => {
    const rows = await selectLowCreditTeams(c.var.db, c.var.config.lowCreditThreshold);
    return c.json(
      {
        data: rows.map((r) => ({
          team_id: r.teamId,
          name: r.name,
          status: r.status,
          credits_remaining: r.available,
          low_credit_threshold: r.threshold,
        })),
      },
      200,
    );
  },
);
