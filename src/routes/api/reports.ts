/** A team's daily credit reports, as JSON or CSV. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireSameTeam } from '../../auth/rule';
import { badRequest } from '../../errors';
import { bearerAuth, json, teamErrors } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { DAY_MS, dayStart, previousUtcDay, utcDay } from '../../lib/time';
import { reportView, reportsCsv, reportsOf } from '../../reports/daily';
import { TeamIdParam } from '../../schemas/jobs';
import { ReportsQuery, ReportsResponse } from '../../schemas/usage';

export const reportsApi = createRouter();

/** The longest range one request may ask for. */
const MAX_DAYS = 366;

reportsApi.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/reports',
    tags: ['Usage'],
    summary:
      'Daily credit reports (written by the cron job just after midnight UTC) for from..to, both included; ' +
      'JSON, or CSV with Accept: text/csv (a header row, then one row per day)',
    security: bearerAuth,
    request: { params: TeamIdParam, query: ReportsQuery },
    responses: {
      200: {
        description: 'The reports, oldest first',
        content: {
          'application/json': { schema: ReportsResponse },
          'text/csv': { schema: z.string().openapi({ description: 'day,jobs,calls,tokens,cost_usd,…' }) },
        },
      },
      ...teamErrors,
    },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const q = c.req.valid('query');
    const to = q.to ?? previousUtcDay(Date.now());
    const from = q.from ?? utcDay(dayStart(to) - 29 * DAY_MS);
    if (from > to) throw badRequest('to must not be before from', 'to');
    if ((dayStart(to) - dayStart(from)) / DAY_MS >= MAX_DAYS)
      throw badRequest(`from..to may span at most ${MAX_DAYS} days`, 'from');
    const [principal, rows] = await c.var.caller.batch(c.env.DB, [reportsOf(team_id, from, to)]);
    requireSameTeam(principal, team_id);
    const data = rows.map(reportView);
    if (/\btext\/csv\b/i.test(c.req.header('accept') ?? '')) {
      return c.body(reportsCsv(data), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="sluice-${team_id}-${from}-${to}.csv"`,
      });
    }
    return c.json({ team_id, from, to, data }, 200);
  },
);
