import { stmt } from '../db/raw';
import { createRoute } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { moveCredits } from '../billing/credits';
import { apiKeys, type Team } from '../db/schema';
import { conflict, notFound } from '../errors';
import { generateKey, hashKey, keyPrefix, newId } from '../lib/crypto';
import { adminAuth, json, jsonBody } from '../lib/openapi';
import { createRouter } from '../lib/router';
import { adminKey } from '../middleware/auth';
import {
  AddCreditsBody,
  CreateKeyBody,
  CreateKeyResponse,
  CreateTeamBody,
  KeyIdParam,
  RevokeKeyResponse,
  TeamResponse,
} from '../schemas/admin';
import { ErrorResponse, TeamIdParam } from '../schemas/jobs';
import { selectTeam } from '../services/jobs';

export const admin = createRouter();
admin.use('*', adminKey);

const tags = ['Admin'];
const errors = {
  400: json(ErrorResponse, 'Invalid request'),
  401: json(ErrorResponse, 'Missing or invalid X-Admin-Key'),
  404: json(ErrorResponse, 'Unknown team or key'),
  409: json(ErrorResponse, 'Conflict'),
};

function teamView(t: Team) {
  return {
    team_id: t.id,
    name: t.name,
    status: t.status,
    budget_mode: t.budgetMode,
    credits_per_job: t.creditsPerJob,
    credits_balance: t.creditsBalance,
    credits_held: t.creditsHeld,
    credits_remaining: t.creditsBalance - t.creditsHeld,
    created_at: new Date(t.createdAt).toISOString(),
  };
}

admin.openapi(
  createRoute({
    method: 'post',
    path: '/teams',
    tags,
    summary: 'Create a team, optionally with starting credits',
    security: adminAuth,
    request: { body: jsonBody(CreateTeamBody) },
    responses: { 201: json(TeamResponse, 'The new team'), ...errors },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const db = c.var.db;
    const now = Date.now();
    const [inserted] = await db.batch([
      stmt(
        db,
        sql`INSERT INTO teams (id, name, credits_per_job, created_at)
        VALUES (${body.team_id}, ${body.name ?? body.team_id}, ${body.credits_per_job ?? 1}, ${now})
        ON CONFLICT (id) DO NOTHING`,
      ),
    ]);
    if (inserted.meta.changes !== 1) throw conflict(`Team '${body.team_id}' already exists`, 'team_exists');
    if (body.credits) await db.batch(moveCredits(db, body.team_id, body.credits, 'initial credits', now));
    const [team] = await selectTeam(db, body.team_id);
    return c.json(teamView(team!), 201);
  },
);

admin.openapi(
  createRoute({
    method: 'post',
    path: '/teams/{team_id}/credits',
    tags,
    summary: 'Add credits (positive) or adjust them down (negative); every change is a ledger row',
    security: adminAuth,
    request: { params: TeamIdParam, body: jsonBody(AddCreditsBody) },
    responses: { 200: json(TeamResponse, 'The team after the change'), ...errors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    const [existing] = await selectTeam(db, team_id);
    if (!existing) throw notFound('team', team_id);
    try {
      await db.batch(moveCredits(db, team_id, body.credits, body.reason ?? null, Date.now()));
    } catch (err) {
      // The CHECK constraint on teams refuses a balance below what is held: nothing was written.
      if (String(err).includes('CHECK constraint failed'))
        throw conflict('That adjustment would take the team below zero available credits', 'insufficient_credits');
      throw err;
    }
    const [team] = await selectTeam(db, team_id);
    return c.json(teamView(team!), 200);
  },
);

admin.openapi(
  createRoute({
    method: 'post',
    path: '/teams/{team_id}/keys',
    tags,
    summary: 'Issue a virtual key; the secret is returned once and only its hash is stored',
    security: adminAuth,
    request: { params: TeamIdParam, body: jsonBody(CreateKeyBody) },
    responses: { 201: json(CreateKeyResponse, 'The new key'), ...errors },
  }),
  async (c) => {
    const { team_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const db = c.var.db;
    const secret = generateKey();
    const keyId = newId('key');
    const now = Date.now();
    const [inserted] = await db.batch([
      stmt(
        db,
        sql`INSERT INTO api_keys (id, team_id, name, key_hash, prefix, created_at)
        SELECT ${keyId}, id, ${body.name ?? null}, ${await hashKey(secret)}, ${keyPrefix(secret)}, ${now}
        FROM teams WHERE id = ${team_id}`,
      ),
    ]);
    if (inserted.meta.changes !== 1) throw notFound('team', team_id);
    c.header('cache-control', 'no-store');
    return c.json(
      {
        key_id: keyId,
        key: secret,
        prefix: keyPrefix(secret),
        team_id,
        name: body.name ?? null,
        created_at: new Date(now).toISOString(),
      },
      201,
    );
  },
);

admin.openapi(
  createRoute({
    method: 'delete',
    path: '/keys/{key_id}',
    tags,
    summary: 'Revoke a key; it is refused from the next request on',
    security: adminAuth,
    request: { params: KeyIdParam },
    responses: { 200: json(RevokeKeyResponse, 'Revoked'), ...errors },
  }),
  async (c) => {
    const { key_id } = c.req.valid('param');
    const db = c.var.db;
    const now = Date.now();
    const [row] = await db
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now})` })
      .where(eq(apiKeys.id, key_id))
      .returning({ revokedAt: apiKeys.revokedAt });
    if (!row) throw notFound('key', key_id);
    return c.json({ key_id, revoked: true as const, revoked_at: new Date(row.revokedAt!).toISOString() }, 200);
  },
);
