import { createRoute, z } from '@hono/zod-openapi';
import { asc, count, eq, gt, sql } from 'drizzle-orm';
import { stmt } from '../db/raw';
import { type Organization, organizations, teams } from '../db/schema';
import { conflict, notFound } from '../errors';
import { adminAuth, json, jsonBody } from '../http/openapi';
import { createRouter } from '../http/router';
import {
  CreateOrganizationBody,
  OrganizationIdParam,
  OrganizationListQuery,
  OrganizationPage,
  OrganizationResponse,
  UpdateOrganizationBody,
} from '../schemas/admin';
import { ErrorResponse } from '../schemas/jobs';
import { decodeCursor, paginate } from '../schemas/pagination';

export const adminOrganizations = createRouter();

const tags = ['Admin: organizations'];
const errors = {
  400: json(ErrorResponse, 'Invalid request'),
  401: json(ErrorResponse, 'Missing or invalid X-Admin-Key'),
  404: json(ErrorResponse, 'Unknown organization'),
};

// Spelled out: inside a subquery drizzle would render the outer column unqualified (`"id"`, i.e. teams.id).
const teamCount = sql<number>`(SELECT count(*) FROM teams t WHERE t.organization_id = "organizations"."id")`;

const orgView = (o: Organization, teamsInOrg: number) => ({
  organization_id: o.id,
  name: o.name,
  teams: teamsInOrg,
  created_at: new Date(o.createdAt).toISOString(),
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
      ...errors,
      409: json(ErrorResponse, 'Exists'),
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const [row] = await c.var.db
      .insert(organizations)
      .values({ id: body.organization_id, name: body.name ?? body.organization_id, createdAt: Date.now() })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`Organization '${body.organization_id}' already exists`, 'organization_exists');
    return c.json(orgView(row, 0), 201);
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
    responses: { 200: json(OrganizationPage, 'A page of organizations'), ...errors },
  }),
  async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = decodeCursor(cursor, z.tuple([z.string()]));
    const rows = await c.var.db
      .select({ org: organizations, teams: teamCount })
      .from(organizations)
      .where(after ? gt(organizations.id, after[0]) : undefined)
      .orderBy(asc(organizations.id))
      .limit(limit + 1);
    return c.json(
      paginate(
        rows,
        limit,
        (r) => [r.org.id],
        (r) => orgView(r.org, r.teams),
      ),
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
    responses: { 200: json(OrganizationResponse, 'The organization'), ...errors },
  }),
  async (c) => {
    const { organization_id } = c.req.valid('param');
    const [row] = await c.var.db
      .select({ org: organizations, teams: teamCount })
      .from(organizations)
      .where(eq(organizations.id, organization_id));
    if (!row) throw notFound('organization', organization_id);
    return c.json(orgView(row.org, row.teams), 200);
  },
);

adminOrganizations.openapi(
  createRoute({
    method: 'patch',
    path: '/organizations/{organization_id}',
    tags,
    summary: 'Rename an organization (its id never changes)',
    security: adminAuth,
    request: { params: OrganizationIdParam, body: jsonBody(UpdateOrganizationBody) },
    responses: { 200: json(OrganizationResponse, 'The organization'), ...errors },
  }),
  async (c) => {
    const { organization_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    const [, rows] = await db.batch([
      db
        .update(organizations)
        .set({ name: sql`coalesce(${body.name ?? null}, ${organizations.name})` })
        .where(eq(organizations.id, organization_id)),
      db
        .select({ org: organizations, teams: teamCount })
        .from(organizations)
        .where(eq(organizations.id, organization_id)),
    ]);
    const row = rows[0];
    if (!row) throw notFound('organization', organization_id);
    return c.json(orgView(row.org, row.teams), 200);
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
      ...errors,
      409: json(ErrorResponse, 'The organization still has teams'),
    },
  }),
  async (c) => {
    const { organization_id } = c.req.valid('param');
    const db = c.var.db;
    const [found, members, deleted] = await db.batch([
      db.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, organization_id)),
      db.select({ n: count() }).from(teams).where(eq(teams.organizationId, organization_id)),
      stmt(
        db,
        sql`DELETE FROM organizations WHERE id = ${organization_id}
          AND NOT EXISTS (SELECT 1 FROM teams WHERE organization_id = ${organization_id})`,
      ),
    ]);
    if (!found[0]) throw notFound('organization', organization_id);
    if (deleted.meta.changes !== 1)
      throw conflict(
        `Organization '${organization_id}' still has ${members[0]?.n ?? 0} team(s)`,
        'organization_not_empty',
      );
    return c.json({ organization_id, deleted: true as const }, 200);
  },
);
