/**
 * The README's quick start, for real: `npm start` on a fresh local D1 prints a demo key, and
 * the mock model streams through `wrangler dev` with that key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from './support/gateway';

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway('quickstart');
}, 120_000);

afterAll(() => gateway?.stop());

describe('npm start', () => {
  it('serves the gateway with a demo team and key, and the mock model streams', async () => {
    const { base, key } = gateway;
    expect(gateway.output()).toContain('Demo team: acme-corp (1000 credits)');
    const res = await fetch(`${base}/api/jobs/create-and-call-stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ team_id: 'acme-corp', job_type: 'chat', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    // Tokens arrive as separate reads, spaced by MOCK_TOKEN_DELAY_MS (20 ms by default).
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    let text = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now());
      text += decoder.decode(value, { stream: true });
    }
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(arrivals.length).toBeGreaterThan(10);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(200);

    const credits = await fetch(`${base}/api/teams/acme-corp/credits`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await credits.json()) as { credits_remaining: number };
    expect(body.credits_remaining).toBeLessThan(1000);
  }, 60_000);

  it("runs the cron triggers by hand, as docs/operating.md's recipe does", async () => {
    const triggers: [cron: string, task: string][] = [
      ['5+0+*+*+*', 'daily_report'],
      ['*/10+*+*+*+*', 'job_expiry'],
    ];
    for (const [cron, task] of triggers) {
      const res = await fetch(`${gateway.base}/__scheduled?cron=${cron}`);
      expect(res.status, cron).toBe(200);
      await res.text();
      const done = `"msg":"cron done","cron":"${cron.replaceAll('+', ' ')}","task":"${task}"`;
      for (let i = 0; i < 50 && !gateway.output().includes(done); i++) await new Promise((r) => setTimeout(r, 100));
      expect(gateway.output()).toContain(done);
    }
  }, 30_000);
});
