/** What a team used: a month's totals, its job history, a job's costs, and notes on a job. */
import { createRoute, z } from '@hono/zod-openapi';
import { keyAccount } from '../../accounts/account/db';
import { requireSameTeam } from '../../auth/rule';
import { bearerAuth, json, jsonBody, teamErrors } from '../../http/openapi';
import { stores } from '../../http/context';
import { createRouter } from '../../http/router';
import { orOtherTeams, requireJob } from '../../jobs/lifecycle';
import { callsOfJob, jobById, jobsPage, patchJobMetadata, teamOfJob } from '../../jobs/store';
import { callView, jobView, summarizeCosts } from '../../jobs/views';
import { summarizeUsage, usageStatements, currentPeriod, periodBounds } from '../../reports/usage';
import { JobIdParam, TeamIdParam } from '../../schemas/jobs';
import { decodeCursor, paginate } from '../../schemas/pagination';
import {
  JobCostsResponse,
  JobListQuery,
  JobPage,
  MetadataBody,
  MetadataResponse,
  UsageQuery,
  UsageResponse,
} from '../../schemas/usage';

export const usageApi = createRouter();

const tags = ['Usage'];

usageApi.openapi(
  createRoute({
    method: 'get',
    path: '/teams/{team_id}/usage',
    tags,
    summary: 'A month of usage: totals, by job type and by model',
    security: bearerAuth,
    request: { params: TeamIdParam, query: UsageQuery },
    responses: { 200: json(UsageResponse, 'Usage for the period'), ...teamErrors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const period = c.req.valid('query').period ?? currentPeriod(Date.now());
    const { start, end } = periodBounds(period);
    const [principal, ...results] = await c.var.caller.batch(c.env.DB, usageStatements(team_id, start, end));
    requireSameTeam(principal, team_id);
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
    request: { params: TeamIdParam, query: JobListQuery },
    responses: { 200: json(JobPage, 'A page of jobs'), ...teamErrors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const q = c.req.valid('query');
    const after = decodeCursor(q.cursor, z.tuple([z.number().int(), z.string()]));
    const [principal, rows] = await c.var.caller.batch(c.env.DB, [
      jobsPage(team_id, { status: q.status, limit: q.limit + 1, after }),
    ]);
    requireSameTeam(principal, team_id);
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
    request: { params: JobIdParam },
    responses: { 200: json(JobCostsResponse, 'Costs'), ...teamErrors },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const [principal, found, calls, team] = await c.var.caller.batch(c.env.DB, [
      jobById(job_id),
      callsOfJob(job_id),
      teamOfJob(job_id),
    ]);
    const job = requireJob(found, principal, job_id);
    return c.json(
      { job_id, status: job.status, costs: summarizeCosts(job, calls, team!), calls: calls.map(callView) },
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
    request: { params: JobIdParam, body: jsonBody(MetadataBody) },
    responses: { 200: json(MetadataResponse, 'The merged metadata'), ...teamErrors },
  }),
  async (c) => {
    const { job_id } = c.req.valid('param');
    const { metadata } = c.req.valid('json');
    const now = Date.now();
    const caller = c.var.caller;
    const [principal, , found] = await caller.batch(
      await keyAccount(stores(c), caller.keyHash, { record: 'now', jobIds: [job_id] }),
      [patchJobMetadata(caller.keyHash, job_id, metadata, now), jobById(job_id)],
      now,
    );
    const job = requireJob(await orOtherTeams(c.env.DB, found, job_id), principal, job_id);
    return c.json({ job_id, metadata: job.metadata ?? {} }, 200);
  },
);
