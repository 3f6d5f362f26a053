import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { drizzle } from 'drizzle-orm/d1';
import { fromRowJson, insertColumns, insertRow, rowJson, tableRows, updateRow } from '../../src/db/rows';
import * as schema from '../../src/db/schema';
import { type LlmCall, apiKeys, jobs, llmCalls, models, teams } from '../../src/db/schema';
import { batch, namedSql, run } from '../../src/db/statement';
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

    const db = drizzle(env.DB, { schema });
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
    const db = drizzle(env.DB, { schema });
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
      cachedInputTokens: 4,
      cacheWriteTokens: 2,
      reasoningTokens: 1,
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
    // The values each column stores are the ones drizzle's own insert would bind.
    for (const r of rows) expect(insertRow(llmCalls, r).params).toEqual(db.insert(llmCalls).values(r).toSQL().params);
    expect(await batch(env.DB, [insertRow(llmCalls, rows[0]!), insertRow(llmCalls, rows[1]!)])).toEqual([1, 1]);
    const stored = await db.select().from(llmCalls).where(eq(llmCalls.jobId, jobId)).orderBy(llmCalls.id);
    expect(stored).toEqual(rows);
    // Read back whole rows the way the API reads them: the same as drizzle's select.
    const read = tableRows(llmCalls, namedSql('SELECT * FROM llm_calls WHERE job_id = :jobId ORDER BY id'), { jobId });
    expect(await run(env.DB, read)).toEqual(stored);
  });
});

describe('rows written with only some columns, and edits', () => {
  it('leave the other columns to their defaults, and change only what is given', async () => {
    const db = drizzle(env.DB, { schema });
    const id = `team_rows_${crypto.randomUUID().slice(0, 8)}`;
    const insert = insertColumns(teams, { id, name: 'Rows', allowedModels: ['mock'], createdAt: 5 });
    expect(await run(env.DB, insert)).toBe(1);
    // A taken key is a count of 0 when conflicts are ignored.
    expect(await run(env.DB, insertColumns(teams, { id, name: 'Again' }, { ignoreConflict: true }))).toBe(0);
    const [after] = await run(env.DB, updateRow(teams, 'id', id, { rpmLimit: 7, lowCreditThreshold: null }));
    const [theirs] = await db.select().from(teams).where(eq(teams.id, id));
    expect(after).toEqual(theirs);
    expect(after).toMatchObject({
      name: 'Rows',
      allowedModels: ['mock'],
      budgetMode: 'job_based',
      creditsPerJob: 1,
      rpmLimit: 7,
      lowCreditThreshold: null,
      createdAt: 5,
    });
    expect(await run(env.DB, updateRow(teams, 'id', 'no-such-team', { rpmLimit: 1 }))).toEqual([]);
  });
});
