import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { eq, inArray } from 'drizzle-orm';
import { jobs, teams } from '../db/schema';
import type { AppEnv } from '../http/context';
import { bearerAuth, errorResponses, json, jsonBody } from '../http/openapi';
import { createRouter } from '../http/router';
import { virtualKey } from '../middleware/auth';
import { JobIdParam, TeamIdParam } from '../schemas/jobs';
import { decodeCursor, paginate } from '../schemas/pagination';
import {
  JobCostsResponse,
  JobListQuery,
  JobPage,
  MetadataBody,
  MetadataResponse,
  UsageQuery,
  UsageResponse,
} from '../schemas/usage';
import { callView, jobView, requireJob, selectCalls, selectJob, summarizeCosts } from '../services/jobs';
import { noteKeyUse, type Principal, requirePrincipal, requireSameTeam, selectPrincipal } from '../services/principal';
import {
  currentPeriod,
  patchMetadataStatement,
  periodBounds,
  selectJobsPage,
  summarizeUsage,
  usageStatements,
} from '../services/usage';

/**
 * The bearer key for team-facing reads. `jobsApi` and `teamsApi` already run `virtualKey` on
 * `/api/jobs/*` and `/api/teams/*`, so this only reads the header when they have not (keeps
 * these routes safe whatever the mount order, without hashing the key twice).
 */
export const bearerKey = createMiddleware<AppEnv>(async (c, next) => (c.get('keyHash') ? next() : virtualKey(c, next)));

/** Checks the key, then records its use off the response path. */
export function authorize(c: Context<AppEnv>, rows: Principal[], now: number): Principal {
  const principal = requirePrincipal(rows, now);
  c.executionCtx.waitUntil(noteKeyUse(c.var.db, principal.keyId, now).run());
  return principal;
}

export const usageApi = createRouter();

const tags = ['Usage'];

usageApi.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/usage',
    tags,
    summary: 'A month of usage: totals, by job type and by model',
    security: bearerAuth,
    middleware: [bearerKey] as const,
    request: { params: TeamIdParam, query: UsageQuery },
    responses: { 200: json(UsageResponse, 'Usage for the period'), ...errorResponses },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const now = Date.now();
    const period = c.req.valid('query').period ?? currentPeriod(now);
    const { start, end } = periodBounds(period);
    const db = c.var.db;
    const [principalRows, ...results] = await db.batch([
      selectPrincipal(db, c.var.keyHash),
      ...usageStatements(db, team_id, start, end),
    ]);
    requireSameTeam(authorize(c, principalRows, now), team_id);
    return c.json(
      {
        team_id,
        period,
        from: new Date(start).toISOString(),
        to: new Date(end).toISOString(),
        ...summarizeUsage(results),
      },
      200,
    );
  },
);

usageApi.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/jobs',
    tags,
    summary: "The team's jobs, newest first, a page at a time; filter by status",
    security: bearerAuth,
    middleware: [bearerKey] as const,
    request: { params: TeamIdParam, query: JobListQuery },
    responses: { 200: json(JobPage, 'A page of jobs'), ...errorResponses },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const q = c.req.valid('query');
    const after = decodeCursor(q.cursor, z.tuple([z.number().int(), z.string()]));
    const now = Date.now();
    const db = c.var.db;
    const [principalRows, rows] = await db.batch([
      selectPrincipal(db, c.var.keyHash),
      selectJobsPage(db, team_id, { status: q.status, limit: q.limit, after }),
    ]);
    requireSameTeam(authorize(c, principalRows, now), team_id);
    return c.json(
      paginate(rows, q.limit, (j) => [j.createdAt, j.id], jobView),
      200,
    );
  },
);

usageApi.openapi(
  createRoute({
    method: 'get',
    path: '/jobs/{job_id}/costs',
    tags,
    summary: "A job's costs and the per-call breakdown (tokens, USD, latency)",
    security: bearerAuth,
    middleware: [bearerKey] as const,
    request: { params: JobIdParam },
    responses: { 200: json(JobCostsResponse, 'Costs'), ...errorResponses },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const now = Date.now();
    const db = c.var.db;
    const [principalRows, jobRows, calls, teamRows] = await db.batch([
      selectPrincipal(db, c.var.keyHash),
      selectJob(db, job_id),
      selectCalls(db, job_id),
      db
        .select()
        .from(teams)
        .where(inArray(teams.id, db.select({ id: jobs.teamId }).from(jobs).where(eq(jobs.id, job_id)))),
    ]);
    const job = requireJob(jobRows, authorize(c, principalRows, now), job_id);
    return c.json(
      { job_id, status: job.status, costs: summarizeCosts(job, calls, teamRows[0]!), calls: calls.map(callView) },
      200,
    );
  },
);

usageApi.openapi(
  createRoute({
    method: 'patch',
    path: '/jobs/{job_id}/metadata',
    tags,
    summary: "Merge keys into a job's metadata (JSON merge patch; null removes a key), at any status",
    security: bearerAuth,
    middleware: [bearerKey] as const,
    request: { params: JobIdParam, body: jsonBody(MetadataBody) },
    responses: { 200: json(MetadataResponse, 'The merged metadata'), ...errorResponses },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const { metadata } = c.req.valid('json');
    const now = Date.now();
    const db = c.var.db;
    const [principalRows, , jobRows] = await db.batch([
      selectPrincipal(db, c.var.keyHash),
      patchMetadataStatement(db, c.var.keyHash, job_id, metadata, now),
      selectJob(db, job_id),
    ]);
    const job = requireJob(jobRows, authorize(c, principalRows, now), job_id);
    return c.json({ job_id, metadata: job.metadata ?? {} }, 200);
  },
);
