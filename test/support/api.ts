import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { accountDb } from '../../src/accounts/account/db';

export const ADMIN_KEY = 'test-admin-key';

interface CallOptions {
  body?: unknown;
  key?: string;
  admin?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** One request to the worker under test, through its real fetch handler. */
export function api(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.admin) headers['x-admin-key'] = ADMIN_KEY;
  return exports.default.fetch(
    new Request(`http://sluice.test${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
      signal: opts.signal,
    }),
  );
}

export const post = (path: string, body: unknown, key?: string) => api('POST', path, { body, key });
export const get = (path: string, key?: string) => api('GET', path, { key });

let counter = 0;
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/** A new team with `credits` and a key for it, made through the admin API. */
export async function setupTeam(credits = 100, extra: Record<string, unknown> = {}) {
  const teamId = uniqueId('team');
  const team = await api('POST', '/admin/teams', { admin: true, body: { team_id: teamId, credits, ...extra } });
  if (team.status !== 201) throw new Error(`team: ${team.status} ${await team.text()}`);
  const keyRes = await api('POST', `/admin/teams/${teamId}/keys`, { admin: true, body: { name: 'test' } });
  const { key, key_id } = (await keyRes.json()) as { key: string; key_id: string };
  return { teamId, key, keyId: key_id };
}

/** A catalog alias that routes to the fake upstream; `scenario` picks its behaviour. */
export async function fakeModel(scenario: string, prices = { input: 1, output: 2 }) {
  const alias = uniqueId(`fake-${scenario}`);
  await env.DB.prepare(
    `INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok)
     VALUES (?, 'openai', ?, ?, ?, ?)`,
  )
    .bind(alias, scenario, `${env.UPSTREAM_URL}/v1`, prices.input, prices.output)
    .run();
  return alias;
}

export type Upstream = 'openai' | 'anthropic' | 'gemini';

/** A catalog alias on the fake upstream, speaking `upstream`'s API, for the named scenario. */
export async function upstreamModel(upstream: Upstream, scenario: string) {
  if (upstream === 'openai') return fakeModel(scenario);
  const alias = uniqueId(`${upstream}-${scenario}`);
  await env.DB.prepare(
    `INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok)
     VALUES (?, ?, ?, ?, 1, 2)`,
  )
    .bind(alias, upstream, scenario, env.UPSTREAM_URL)
    .run();
  return alias;
}

/** Requests the fake upstream received whose body contains `needle`. */
export async function upstreamRequests(needle: string) {
  const res = await fetch(`${env.UPSTREAM_URL}/_requests?contains=${encodeURIComponent(needle)}`);
  return (await res.json()) as { path: string; headers: Record<string, string>; body: Record<string, unknown> }[];
}

/** The SSE body as text and as the list of `data:` payloads. */
export async function readSSE(res: Response) {
  const raw = await res.text();
  const data = raw
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
  return { raw, data };
}

/** Polls until `probe` returns a value (post-stream bookkeeping runs under waitUntil). */
export async function eventually<T>(probe: () => Promise<T | null | undefined>, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function callRows(jobId: string) {
  const { results } = await env.DB.prepare('SELECT * FROM llm_calls WHERE job_id = ? ORDER BY created_at')
    .bind(jobId)
    .all();
  return results as Record<string, unknown>[];
}

export async function teamRow(teamId: string) {
  return (await env.DB.prepare('SELECT * FROM teams WHERE id = ?').bind(teamId).first()) as {
    credits_balance: number;
    credits_held: number;
  };
}

/** The books balance: balance equals the ledger's sum, held equals the active holds' sum. */
export async function books(teamId: string) {
  const team = await teamRow(teamId);
  const ledger = await env.DB.prepare('SELECT coalesce(sum(amount), 0) AS s FROM credit_ledger WHERE team_id = ?')
    .bind(teamId)
    .first<{ s: number }>();
  const holds = await env.DB.prepare(
    "SELECT coalesce(sum(amount), 0) AS s FROM credit_holds WHERE team_id = ? AND status = 'active'",
  )
    .bind(teamId)
    .first<{ s: number }>();
  return { balance: team.credits_balance, held: team.credits_held, ledgerSum: ledger!.s, activeHolds: holds!.s };
}

export const user = (content: string) => [{ role: 'user' as const, content }];

/** A catalog alias with ordered fallbacks, pointing at the fake upstream. */
export async function fakeModelWithFallbacks(scenario: string, fallbacks: string[]) {
  const alias = await fakeModel(scenario);
  await env.DB.prepare('UPDATE models SET fallbacks = ? WHERE alias = ?').bind(JSON.stringify(fallbacks), alias).run();
  return alias;
}

/** What the fake upstream's slow stream saw of its client. */
export async function upstreamStreams(needle: string) {
  const res = await fetch(`${env.UPSTREAM_URL}/_streams?contains=${encodeURIComponent(needle)}`);
  return (await res.json()) as {
    written: number;
    total: number;
    closedEarly: boolean;
    lastWriteAt: number;
    closedAt: number | null;
    gapMs: number;
  }[];
}

/**
 * One statement run in the team's account, where the gateway's own writes of a team's state go
 * (its copy reaches D1 before this resolves). For the states no route sets (a key's past expiry).
 */
export async function inAccount(teamId: string, text: string, ...params: (string | number | null)[]) {
  const [result] = await accountDb(env.ACCOUNTS, teamId).run([{ text, params }]);
  return result!;
}

/**
 * The books as the team's account keeps them: balance equals its opening balance (what it took
 * from D1) plus its ledger, held equals its active holds.
 */
export async function accountBooks(teamId: string) {
  const { results } = await inAccount(
    teamId,
    `SELECT t.credits_balance AS balance, t.credits_held AS held,
      (SELECT coalesce(value, 0) FROM meta WHERE name = 'opening_balance')
        + (SELECT coalesce(sum(amount), 0) FROM credit_ledger) AS ledgerSum,
      (SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE status = 'active') AS activeHolds
    FROM teams t`,
  );
  return results[0] as { balance: number; held: number; ledgerSum: number; activeHolds: number };
}

/** Team settings written straight to the team's account (the admin API's PATCH covers the same columns). */
export async function setTeam(teamId: string, settings: Record<string, string | number | null>) {
  const cols = Object.keys(settings);
  await inAccount(
    teamId,
    `UPDATE teams SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`,
    ...cols.map((c) => settings[c]!),
    teamId,
  );
}

export async function ledger(teamId: string) {
  const { results } = await env.DB.prepare(
    'SELECT kind, amount, job_id, call_id, reason FROM credit_ledger WHERE team_id = ? ORDER BY created_at',
  )
    .bind(teamId)
    .all<{ kind: string; amount: number; job_id: string | null; call_id: string | null; reason: string | null }>();
  return results;
}
