import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { HUGE_ARGUMENTS, HUGE_CHUNKS, HUGE_PIECE } from '../support/fixtures';
import {
  books,
  callRows,
  eventually,
  fakeModel,
  get,
  ledger,
  post,
  readSSE,
  setTeam,
  setupTeam,
  user,
} from '../support/api';

const utf8 = (s: string) => new TextEncoder().encode(s).byteLength;

describe('an answer larger than a D1 row', () => {
  it('reaches the client whole; the books land, with the stored copy cut and marked', async () => {
    const { teamId, key } = await setupTeam(10);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 1_000_000 });
    const res = await post(
      '/api/jobs/create-and-call-stream',
      { team_id: teamId, job_type: 'x', model: await fakeModel('huge'), messages: user('everything') },
      key,
    );
    expect(res.status).toBe(200);
    const { data } = await readSSE(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(content).toBe(HUGE_PIECE.repeat(HUGE_CHUNKS));

    const jobId = res.headers.get('x-job-id')!;
    const [call] = await eventually(async () => {
      const rows = await callRows(jobId);
      return rows.length ? rows : null;
    }, 10_000);
    expect(call).toMatchObject({ status: 'success', finish_reason: 'tool_calls', stored_truncated: 1 });
    expect(call!.completion_tokens).toBe(900_000);

    // What is stored is a prefix of what was said, cut on a character boundary, within the cap.
    const stored = String(call!.content);
    const storedCalls = JSON.parse(String(call!.tool_calls)) as { function: { name: string; arguments: string } }[];
    expect(content.startsWith(stored)).toBe(true);
    expect(stored.length).toBeGreaterThan(100_000);
    expect(stored.endsWith('\uFFFD')).toBe(false);
    expect(storedCalls).toHaveLength(1);
    expect(storedCalls[0]!.function.name).toBe('save');
    expect(HUGE_ARGUMENTS.startsWith(storedCalls[0]!.function.arguments)).toBe(true);
    expect(utf8(stored) + utf8(String(call!.tool_calls))).toBeLessThanOrEqual(1_000_000);
    // The API reads back exactly what is stored, and says it is only the start.
    const read = (await (await get(`/api/jobs/${jobId}/calls/${call!.id}`, key)).json()) as any;
    expect(read).toMatchObject({ stored_truncated: true, content: stored, tool_calls: storedCalls });

    // Billed as produced: ceil(900,020 / 1,000,000) = 1 credit, through the ledger.
    expect(await books(teamId)).toEqual({ balance: 9, held: 0, ledgerSum: 9, activeHolds: 0 });
    const usage = (await ledger(teamId)).filter((r) => r.kind === 'usage');
    expect(usage).toEqual([{ kind: 'usage', amount: -1, job_id: jobId, call_id: call!.id, reason: 'call usage' }]);
    const job = await env.DB.prepare('SELECT status FROM jobs WHERE id = ?').bind(jobId).first();
    expect(job).toEqual({ status: 'completed' });
  });
});
