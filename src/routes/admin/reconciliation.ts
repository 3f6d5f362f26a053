/** The operator's view of reconciliation: each team's account held against its copy in D1. */
import { createRoute, z } from '@hono/zod-openapi';
import { differingAccounts, reconcileAll, reconcileTeam } from '../../accounts/reconciliation';
import { requireTeam } from '../../accounts/teams';
import type { AccountCheck } from '../../db/schema';
import { run } from '../../db/statement';
import { stores } from '../../http/context';
import { adminAuth, adminErrors, errors, json } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { iso } from '../../lib/time';
import { AccountCheckPage, ReconcileQuery, ReconcileResponse } from '../../schemas/admin';
import { PageQueryShape, decodeCursor, paginate } from '../../schemas/pagination';

export const adminReconciliation = createRouter();

const tags = ['Admin: reconciliation'];

const checkView = (c: Pick<AccountCheck, 'teamId' | 'checkedAt' | 'inStep' | 'pending' | 'differences'>) => ({
  team_id: c.teamId,
  checked_at: iso(c.checkedAt),
  in_step: c.inStep,
  pending: c.pending,
  differences: c.differences,
});

adminReconciliation.openapi(
  createRoute({
    method: 'get',
    path: '/reconciliation',
    tags,
    summary: "Teams whose account and D1's copy of it differed when last checked (none, once the copies have landed)",
    security: adminAuth,
    request: { query: z.object(PageQueryShape) },
    responses: { 200: json(AccountCheckPage, 'A page of teams apart, by team id'), ...adminErrors },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const after = decodeCursor(q.cursor, z.tuple([z.string()]));
    const rows = await run(c.env.DB, differingAccounts(after?.[0] ?? null, q.limit + 1));
    return c.json(
      paginate(rows, q.limit, (r) => [r.teamId], checkView),
      200,
    );
  },
);

adminReconciliation.openapi(
  createRoute({
    method: 'post',
    path: '/reconciliation',
    tags,
    summary: 'Check every team now (as the daily run does), or one team',
    security: adminAuth,
    request: { query: ReconcileQuery },
    responses: {
      200: json(ReconcileResponse, 'What the run found'),
      ...adminErrors,
      ...errors({ 404: 'Unknown team' }),
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid('query');
    const now = Date.now();
    if (team_id) {
      await requireTeam(c.env.DB, team_id);
      const check = await reconcileTeam(stores(c), team_id, now);
      const view = checkView({ ...check, checkedAt: now });
      return c.json({ checked: 1, differing: check.inStep ? 0 : 1, errors: 0, differences: [view] }, 200);
    }
    const result = await reconcileAll(stores(c), now);
    const differences = result.apart.map((a) => checkView({ ...a, checkedAt: now }));
    return c.json({ checked: result.checked, differing: result.differing, errors: result.errors, differences }, 200);
  },
);
