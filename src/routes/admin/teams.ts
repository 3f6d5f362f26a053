/** The operator's teams: settings, status, credits, ledger, and the low-credit alert. */
import { createRoute, z } from '@hono/zod-openapi';
import { checkReferences } from '../../accounts/references';
import {
  type TeamColumns,
  addCredits,
  createTeam,
  deleteEmptyTeam,
  lowCreditTeams,
  requireTeam,
  teamById,
  teamsPage,
  updateTeam,
} from '../../accounts/teams';
import { ledgerPage } from '../../billing/ledger';
import type { Team } from '../../db/schema';
import { batch, run } from '../../db/statement';
import { badRequest, notFound } from '../../errors';
import { stores } from '../../http/context';
import { adminAuth, adminErrors, errors, json, jsonBody } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { DAY_MS, dayStart, iso } from '../../lib/time';
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
} from '../../schemas/admin';
import { TeamIdParam } from '../../schemas/jobs';
import { decodeCursor, paginate } from '../../schemas/pagination';

export const adminTeams = createRouter();

const tags = ['Admin: teams'];
const teamErrors = { ...adminErrors, ...errors({ 404: 'Unknown team' }) };

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
    resumable_by_default: t.resumableByDefault,
    credits_balance: t.creditsBalance,
    credits_held: t.creditsHeld,
    credits_remaining: t.creditsBalance - t.creditsHeld,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
  };
}

/** The team columns a create or PATCH body sets; absent fields are left out. */
function teamColumns(s: TeamSettings): TeamColumns {
  const cols: TeamColumns = {
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
    resumableByDefault: s.resumable_by_default,
  };
  for (const k of Object.keys(cols) as (keyof TeamColumns)[]) if (cols[k] === undefined) delete cols[k];
  return cols;
}

adminTeams.openapi(
  createRoute({
    method: 'post',
    path: '/teams',
    tags,
    summary: 'Create a team with its settings, optionally with starting credits (a grant ledger row)',
    security: adminAuth,
    request: { body: jsonBody(CreateTeamBody) },
    responses: { 201: json(TeamResponse, 'The new team'), ...adminErrors, ...errors({ 409: 'Exists' }) },
  }),
  async (c) => {
    const body = c.req.valid('json');
    await checkReferences(c.env.DB, body);
    const team = await createTeam(stores(c), body.team_id, teamColumns(body), body.credits, Date.now());
    return c.json(teamView(team), 201);
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
    responses: { 200: json(TeamPage, 'A page of teams'), ...adminErrors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const after = decodeCursor(q.cursor, z.tuple([z.string()]));
    const page = teamsPage({ after: after?.[0] ?? null, org: q.organization_id, status: q.status, limit: q.limit + 1 });
    const rows = await run(c.env.DB, page);
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
    responses: { 200: json(TeamResponse, 'The team'), ...teamErrors },
  }),
  async (c) => c.json(teamView(await requireTeam(c.env.DB, c.req.valid('param').team_id)), 200),
);

adminTeams.openapi(
  createRoute({
    method: 'patch',
    path: '/teams/{team_id}',
    tags,
    summary: "Change a team's settings (absent fields keep their value; null clears a limit)",
    security: adminAuth,
    request: { params: TeamIdParam, body: jsonBody(UpdateTeamBody) },
    responses: { 200: json(TeamResponse, 'The team after the change'), ...teamErrors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const cols = teamColumns(body);
    if (!Object.keys(cols).length) return c.json(teamView(await requireTeam(c.env.DB, team_id)), 200);
    await checkReferences(c.env.DB, body);
    return c.json(teamView(await updateTeam(stores(c), team_id, { ...cols, updatedAt: Date.now() })), 200);
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
      responses: { 200: json(TeamResponse, 'The team'), ...teamErrors },
    }),
    async (c) => {
      const { team_id } = c.req.valid('param');
      return c.json(teamView(await updateTeam(stores(c), team_id, { status, updatedAt: Date.now() })), 200);
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
      ...teamErrors,
      ...errors({ 409: 'The team is not empty' }),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    await deleteEmptyTeam(stores(c), team_id);
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
      ...teamErrors,
      ...errors({ 409: 'The adjustment would overdraw the team' }),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    return c.json(teamView(await addCredits(stores(c), team_id, body.credits, body.reason ?? null)), 200);
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
    responses: { 200: json(TransactionPage, 'A page of ledger rows'), ...teamErrors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const q = c.req.valid('query');
    const from = q.from === undefined ? null : bound(q.from, false);
    const to = q.to === undefined ? null : bound(q.to, true);
    if (from !== null && to !== null && from > to) throw badRequest('to must not be before from', 'to');
    const after = decodeCursor(q.cursor, z.tuple([z.number().int(), z.string()]));
    const [team, rows] = await batch(c.env.DB, [
      teamById(team_id),
      ledgerPage(team_id, { kind: q.kind, from, to, after, limit: q.limit + 1 }),
    ]);
    if (!team) throw notFound('team', team_id);
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
          created_at: iso(r.createdAt),
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
    responses: { 200: json(LowCreditsResponse, 'Teams low on credits'), 401: adminErrors[401] },
  }),
  async (c) => {
    const rows = await run(c.env.DB, lowCreditTeams(c.var.config.lowCreditThreshold));
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
