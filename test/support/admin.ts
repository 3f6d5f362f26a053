/** Helpers for the operator-side and usage tests, on top of `api.ts`. */
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { api, post, uniqueId } from './api';

export interface ErrorJson {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** One `/admin` request with the right key; `key: false` sends none, a string sends that one. */
export function admin(method: string, path: string, body?: unknown, key: string | false = 'test-admin-key') {
  const headers: Record<string, string> = key === false ? {} : { 'x-admin-key': key };
  return api(method, path, { body, headers });
}

/** The same request as JSON: status and parsed body. */
export async function adminJson<T = any>(method: string, path: string, body?: unknown) {
  const res = await admin(method, path, body);
  return { status: res.status, body: (await res.json()) as T };
}

/** Asserts the OpenAI error shape, the status, the code and (when given) `param`. */
export async function expectError(res: Response, status: number, code: string, param?: string | null) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorJson;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

/** 401 without the admin key and with a wrong one, in the error shape. */
export async function expectAdminOnly(method: string, path: string, body?: unknown) {
  await expectError(await admin(method, path, body, false), 401, 'invalid_admin_key');
  await expectError(await admin(method, path, body, 'not-the-key'), 401, 'invalid_admin_key');
}

const TABLES = [
  'organizations',
  'teams',
  'api_keys',
  'models',
  'jobs',
  'llm_calls',
  'credit_ledger',
  'credit_holds',
  'credit_reports',
] as const;

/**
 * Every row of the tables the operator side touches: equal before and after means nothing was
 * written. `last_used_at` is left out: noting that a key was used is not a write the caller asked for.
 */
export async function snapshot() {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const { results } = await env.DB.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all();
    out[t] = JSON.stringify(results.map(({ last_used_at: _, ...row }) => row));
  }
  return out;
}

/** A job through the public API; returns its id. */
export async function createJob(key: string, teamId: string, jobType = 'chat', metadata?: Record<string, unknown>) {
  const res = await post('/api/jobs/create', { team_id: teamId, job_type: jobType, metadata }, key);
  if (res.status !== 200) throw new Error(`create: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { job_id: string }).job_id;
}

export async function completeJob(key: string, jobId: string, status: 'completed' | 'failed' = 'completed') {
  const res = await post(`/api/jobs/${jobId}/complete`, { status }, key);
  if (res.status !== 200) throw new Error(`complete: ${res.status} ${await res.text()}`);
}

/** Makes an organization and returns its id. */
export async function setupOrganization(name = 'Org') {
  const id = uniqueId('org');
  const res = await admin('POST', '/admin/organizations', { organization_id: id, name });
  if (res.status !== 201) throw new Error(`org: ${res.status} ${await res.text()}`);
  return id;
}

/** An extra key for a team, with settings. */
export async function issueKey(teamId: string, body: Record<string, unknown> = {}) {
  const res = await admin('POST', `/admin/teams/${teamId}/keys`, body);
  if (res.status !== 201) throw new Error(`key: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; key_id: string; prefix: string } & Record<string, unknown>;
}

export const ledgerRows = async (teamId: string) =>
  (
    await env.DB.prepare('SELECT kind, amount, reason, job_id FROM credit_ledger WHERE team_id = ? ORDER BY rowid')
      .bind(teamId)
      .all()
  ).results as { kind: string; amount: number; reason: string | null; job_id: string | null }[];

let calls = 0;

/** An `llm_calls` row written straight to D1, so usage figures are known to the token. */
export async function insertCall(
  teamId: string,
  jobId: string,
  c: { model?: string; status?: string; prompt?: number; completion?: number; cost?: number; at?: number } = {},
) {
  const id = `call_test_${Date.now().toString(36)}_${(calls++).toString(36)}`;
  await env.DB.prepare(
    `INSERT INTO llm_calls (id, job_id, team_id, model, provider, upstream_model, status, stream, prompt_tokens,
       completion_tokens, cost_usd, latency_ms, created_at)
     VALUES (?, ?, ?, ?, 'openai', ?, ?, 1, ?, ?, ?, 12, ?)`,
  )
    .bind(
      id,
      jobId,
      teamId,
      c.model ?? 'gpt-4o-mini',
      c.model ?? 'gpt-4o-mini',
      c.status ?? 'success',
      c.prompt ?? 10,
      c.completion ?? 5,
      c.cost ?? 0.001,
      c.at ?? Date.now(),
    )
    .run();
  return id;
}
