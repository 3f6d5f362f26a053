import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dbFor } from '../../src/db/client';
import { fromRowJson, insertRow, insertRowQuery, rowJson } from '../../src/db/rows';
import { type LlmCall, apiKeys, jobs, llmCalls, models, teams } from '../../src/db/schema';
import { fakeModel, post, setupTeam } from '../support/api';

describe('rows as JSON (several tables in one statement)', () => {
  it('map back to exactly what a drizzle select returns: JSON text, booleans, reals and nulls included', async () => {
    const { teamId, key } = await setupTeam(50, {
      budget_mode: 'consumption_usd',
      credits_per_dollar: 12.5,
      allowed_models: ['mock', 'gpt-4o-mini'],
      rpm_limit: 7,
    });
    const alias = await fakeModel('answer', { input: 0.15, output: 2.5 });
    await env.DB.prepare('UPDATE models SET enabled = 0, fallbacks = ? WHERE alias = ?')
      .bind(JSON.stringify(['mock']), alias)
      .run();
    const created = await post(
      '/api/jobs/create',
      { team_id: teamId, job_type: 'q', metadata: { a: [1, 'é'], b: null } },
      key,
    );
    const jobId = ((await created.json()) as { job_id: string }).job_id;

    const db = dbFor(env.DB);
    const row = await env.DB.prepare(
      `SELECT (SELECT ${rowJson(teams, 't')} FROM teams t WHERE t.id = ?) AS team,
              (SELECT ${rowJson(models, 'm')} FROM models m WHERE m.alias = ?) AS model,
              (SELECT ${rowJson(jobs, 'j')} FROM jobs j WHERE j.id = ?) AS job,
              (SELECT ${rowJson(apiKeys, 'k')} FROM api_keys k WHERE k.team_id = ?) AS key,
              (SELECT ${rowJson(jobs, 'j')} FROM jobs j WHERE j.id = 'none') AS missing`,
    )
      .bind(teamId, alias, jobId, teamId)
      .first<Record<string, string | null>>();

    const [team] = await db.select().from(teams).where(eq(teams.id, teamId));
    const [model] = await db.select().from(models).where(eq(models.alias, alias));
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
    const [apiKey] = await db.select().from(apiKeys).where(eq(apiKeys.teamId, teamId));
    expect(fromRowJson(teams, row!.team)).toEqual(team);
    expect(fromRowJson(models, row!.model)).toEqual(model);
    expect(fromRowJson(jobs, row!.job)).toEqual(job);
    expect(fromRowJson(apiKeys, row!.key)).toEqual(apiKey);
    expect(fromRowJson(jobs, row!.missing)).toBeNull();
    // The values the mapping must get right, spelled out.
    expect(team!.allowedModels).toEqual(['mock', 'gpt-4o-mini']);
    expect(team!.creditsPerDollar).toBe(12.5);
    expect(model!.enabled).toBe(false);
    expect(model!.fallbacks).toEqual(['mock']);
    expect(job!.metadata).toEqual({ a: [1, 'é'], b: null });
  });
});

describe('whole-row inserts written once per table', () => {
  it('write the SQL and parameters drizzle writes, and the row reads back unchanged', async () => {
    const { teamId, key } = await setupTeam(50);
    const created = await post('/api/jobs/create', { team_id: teamId, job_type: 'q' }, key);
    const jobId = ((await created.json()) as { job_id: string }).job_id;
    const db = dbFor(env.DB);
    const row = (id: string, overrides: Partial<LlmCall> = {}): LlmCall => ({
      id,
      jobId,
      teamId,
      model: 'mock',
      provider: 'mock',
      upstreamModel: 'mock-1',
      servedBy: null,
      attempts: 2,
      purpose: 'é "quoted"',
      status: 'success',
      stream: true,
      content: 'Hello',
      toolCalls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      storedTruncated: false,
      finishReason: 'stop',
      promptTokens: 12,
      completionTokens: 3,
      usageSource: 'estimated',
      costUsd: 0.000125,
      ttftMs: 51.5,
      latencyMs: 240,
      error: null,
      createdAt: 1_700_000_000_123,
      ...overrides,
    });
    const rows = [
      row('call_a'),
      row('call_b', { stream: false, toolCalls: null, storedTruncated: true, ttftMs: null, error: 'cut' }),
    ];
    for (const r of rows) {
      const drizzles = db.insert(llmCalls).values(r).toSQL();
      expect(insertRowQuery(llmCalls, r)).toEqual({ sql: drizzles.sql, params: drizzles.params });
    }
    await db.$client.batch([insertRow(db, llmCalls, rows[0]!), insertRow(db, llmCalls, rows[1]!)]);
    const stored = await db.select().from(llmCalls).where(eq(llmCalls.jobId, jobId)).orderBy(llmCalls.id);
    expect(stored).toEqual(rows);
  });
});
