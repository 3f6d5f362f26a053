import { createRoute } from '@hono/zod-openapi';
import { bearerAuth, errorResponses, json } from '../http/openapi';
import { createRouter } from '../http/router';
import { virtualKey } from '../middleware/auth';
import { CreditsResponse, TeamIdParam } from '../schemas/jobs';
import { selectTeam } from '../services/jobs';
import { requirePrincipal, requireSameTeam, selectPrincipal } from '../services/principal';

export const teamsApi = createRouter();
teamsApi.use('/teams/*', virtualKey);

teamsApi.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/credits',
    tags: ['Teams'],
    summary: "The team's available and held credits",
    security: bearerAuth,
    request: { params: TeamIdParam },
    responses: { 200: json(CreditsResponse, 'Credits'), ...errorResponses },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const db = c.var.db;
    const [principalRows, teamRows] = await db.batch([selectPrincipal(db, c.var.keyHash), selectTeam(db, team_id)]);
    requireSameTeam(requirePrincipal(principalRows), team_id);
    const team = teamRows[0]!;
    return c.json(
      { team_id, credits_remaining: team.creditsBalance - team.creditsHeld, credits_held: team.creditsHeld },
      200,
    );
  },
);
