/** A team's own view of itself: its credits. */
import { createRoute } from '@hono/zod-openapi';
import { teamById } from '../../accounts/teams';
import { requireSameTeam } from '../../auth/rule';
import { bearerAuth, json, teamErrors } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { CreditsResponse, TeamIdParam } from '../../schemas/jobs';

export const teamsApi = createRouter();

teamsApi.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/credits',
    tags: ['Teams'],
    summary: "The team's available and held credits",
    security: bearerAuth,
    request: { params: TeamIdParam },
    responses: { 200: json(CreditsResponse, 'Credits'), ...teamErrors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const [principal, team] = await c.var.caller.batch(c.env.DB, [teamById(team_id)]);
    requireSameTeam(principal, team_id);
    return c.json(
      { team_id, credits_remaining: team!.creditsBalance - team!.creditsHeld, credits_held: team!.creditsHeld },
      200,
    );
  },
);
