/**
 * The final usage a client is told carries what the call cost: `cost_usd` (list price) and the
 * `credits` the team is charged, in every dialect where Sluice writes the usage itself. Each is
 * held to the books: the call row's cost and the ledger's usage row for the same call.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, eventually, post, setTeam, setupTeam, upstreamModel, user } from '../support/api';

/** A consumption_usd team, 1,000,000 credits a dollar, so even a small call costs credits worth reading. */
async function payingTeam() {
  const team = await setupTeam(10_000);
  await setTeam(team.teamId, { budget_mode: 'consumption_usd', credits_per_dollar: 1_000_000 });
  return team;
}

/** The call's row cost and the credits its ledger row took, once its books are written. */
async function booksOf(callId: string) {
  return eventually(async () => {
    const call = await env.DB.prepare('SELECT cost_usd FROM llm_calls WHERE id = ?')
      .bind(callId)
      .first<{ cost_usd: number }>();
    const charged = await env.DB.prepare(
      "SELECT -sum(amount) AS credits FROM credit_ledger WHERE call_id = ? AND kind = 'usage'",
    )
      .bind(callId)
      .first<{ credits: number | null }>();
    return call && charged?.credits != null ? { costUsd: call.cost_usd, credits: charged.credits } : null;
  });
}

/** The `data:` payloads of an SSE body. */
const dataOf = (sse: string) =>
  sse
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)) as Record<string, any>);

describe('cost_usd and credits in the final usage, as the books have them', () => {
  it('/v1/responses, streamed and not (Anthropic upstream, cache classes priced)', async () => {
    const { key } = await payingTeam();
    const model = await upstreamModel('anthropic', 'tool');
    const res = await post('/v1/responses', { model, input: 'Weather?', stream: true }, key);
    const completed = dataOf(await res.text()).at(-1)!;
    expect(completed.type).toBe('response.completed');
    const streamed = completed.response.usage;
    expect(streamed.credits).toBeGreaterThan(0);
    expect({ costUsd: streamed.cost_usd, credits: streamed.credits }).toEqual(
      await booksOf(res.headers.get('x-call-id')!),
    );

    const whole = await post('/v1/responses', { model, input: 'Weather?' }, key);
    const body = (await whole.json()) as { usage: { cost_usd: number; credits: number } };
    expect({ costUsd: body.usage.cost_usd, credits: body.usage.credits }).toEqual(
      await booksOf(whole.headers.get('x-call-id')!),
    );
  });

  it('/v1/messages re-encoded (message_delta usage) and whole (the message’s usage)', async () => {
    const { key } = await payingTeam();
    const model = await upstreamModel('gemini', 'text');
    const messages = user('hello');
    const headers = { 'x-api-key': key };
    const res = await api('POST', '/v1/messages', { body: { model, max_tokens: 50, messages, stream: true }, headers });
    const delta = dataOf(await res.text()).find((d) => d.type === 'message_delta')!;
    expect({ costUsd: delta.usage.cost_usd, credits: delta.usage.credits }).toEqual(
      await booksOf(res.headers.get('x-call-id')!),
    );
    const whole = await api('POST', '/v1/messages', { body: { model, max_tokens: 50, messages }, headers });
    const message = (await whole.json()) as { usage: { cost_usd: number; credits: number } };
    expect({ costUsd: message.usage.cost_usd, credits: message.usage.credits }).toEqual(
      await booksOf(whole.headers.get('x-call-id')!),
    );
  });

  it('/v1/chat/completions: the usage chunk Sluice writes (a re-encoded stream) and a whole completion', async () => {
    const { key } = await payingTeam();
    const model = await upstreamModel('anthropic', 'text');
    const body = { model, messages: user('hello'), stream: true, stream_options: { include_usage: true } };
    const res = await post('/v1/chat/completions', body, key);
    const last = dataOf(await res.text()).at(-1)!;
    expect({ costUsd: last.usage.cost_usd, credits: last.usage.credits }).toEqual(
      await booksOf(res.headers.get('x-call-id')!),
    );
    const whole = await post('/v1/chat/completions', { model, messages: user('hello') }, key);
    const completion = (await whole.json()) as { usage: { cost_usd: number; credits: number } };
    expect({ costUsd: completion.usage.cost_usd, credits: completion.usage.credits }).toEqual(
      await booksOf(whole.headers.get('x-call-id')!),
    );
  });

  it('NDJSON on the job API: the done line', async () => {
    const { teamId, key } = await payingTeam();
    const res = await api('POST', '/api/jobs/create-and-call-stream', {
      key,
      headers: { accept: 'application/x-ndjson' },
      body: { team_id: teamId, job_type: 'chat', model: await upstreamModel('openai', 'answer'), messages: user('x') },
    });
    const lines = new TextDecoder()
      .decode(await res.arrayBuffer())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; metadata: { usage?: { cost_usd: number; credits: number } } });
    const { usage } = lines.at(-1)!.metadata;
    expect({ costUsd: usage!.cost_usd, credits: usage!.credits }).toEqual(await booksOf(res.headers.get('x-call-id')!));
  });
});
