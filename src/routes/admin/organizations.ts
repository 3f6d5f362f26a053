/** The operator's organizations: named groups of teams. */
import { createRoute, z } from '@hono/zod-openapi';
import {
  type OrganizationWithTeams,
  createOrganization,
  deleteOrganization,
  organizationsPage,
  renameOrganization,
  requireOrganization,
} from '../../accounts/organizations';
import { run } from '../../db/statement';
import { adminAuth, adminErrors, errors, json, jsonBody } from '../../http/openapi';
import { createRouter } from '../../http/router';
import { iso } from '../../lib/time';
import {
  CreateOrganizationBody,
  OrganizationIdParam,
  OrganizationListQuery,
  OrganizationPage,
  OrganizationResponse,
  UpdateOrganizationBody,
} from '../../schemas/admin';
import { decodeCursor, paginate } from '../../schemas/pagination';

export const adminOrganizations = createRouter();

const tags = ['Admin: organizations'];
const orgErrors = { ...adminErrors, ...errors({ 404: 'Unknown organization' }) };

const orgView = ({ org, teams }: OrganizationWithTeams) => ({
  organization_id: org.id,
  name: org.name,
  teams,
  created_at: iso(org.createdAt),
});

adminOrganizations.openapi(
  createRoute({
    method: 'post',
    path: '/organizations',
    tags,
    summary: 'Create an organization (a group of teams)',
    security: adminAuth,
    request: { body: jsonBody(CreateOrganizationBody) },
    responses: {
      201: json(OrganizationResponse, 'The new organization'),
      ...adminErrors,
      ...errors({ 409: 'Exists' }),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const org = await createOrganization(c.env.DB, body.organization_id, body.name ?? body.organization_id, Date.now());
    return c.json(orgView(org), 201);
  },
);

adminOrganizations.openapi(
  createRoute({
    method: 'get',
    path: '/organizations',
    tags,
    summary: 'List organizations by id, a page at a time',
    security: adminAuth,
    request: { query: OrganizationListQuery },
    responses: { 200: json(OrganizationPage, 'A page of organizations'), ...adminErrors },
  }),
  async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor, z.tuple([z.string()]));
    const rows = await run(c.env.DB, organizationsPage(after?.[0] ?? null, limit + 1));
    return c.json(
      paginate(rows, limit, (r) => [r.org.id], orgView),
      200,
    );
  },
);

adminOrganizations.openapi(
  createRoute({
    method: 'get',
    path: '/organizations/{organization_id}',
    tags,
    summary: 'An organization and how many teams it has',
    security: adminAuth,
    request: { params: OrganizationIdParam },
    responses: { 200: json(OrganizationResponse, 'The organization'), ...orgErrors },
  }),
  async (c) => c.json(orgView(await requireOrganization(c.env.DB, c.req.valid('param').organization_id)), 200),
);

adminOrganizations.openapi(
  createRoute({
    method: 'patch',
    path: '/organizations/{organization_id}',
    tags,
    summary: 'Rename an organization (its id never changes)',
    security: adminAuth,
    request: { params: OrganizationIdParam, body: jsonBody(UpdateOrganizationBody) },
    responses: { 200: json(OrganizationResponse, 'The organization'), ...orgErrors },
  }),
  async (c) => {
    const { organization_id } = c.req.valid('param');
    const body = c.req.valid('json');
    return c.json(orgView(await renameOrganization(c.env.DB, organization_id, body.name ?? null)), 200);
  },
);

adminOrganizations.openapi(
  createRoute({
    method: 'delete',
    path: '/organizations/{organization_id}',
    tags,
    summary: 'Delete an organization that has no teams (otherwise 409: move or delete its teams first)',
    security: adminAuth,
    request: { params: OrganizationIdParam },
    responses: {
      200: json(z.object({ organization_id: z.string(), deleted: z.literal(true) }), 'Deleted'),
      ...orgErrors,
      ...errors({ 409: 'The organization still has teams' }),
    },
  }),
  async (c) => {
    const { organization_id } = c.req.valid('param');
    await deleteOrganization(c.env.DB, organization_id);
    return c.json({ organization_id, deleted: true as const }, 200);
  },
);
