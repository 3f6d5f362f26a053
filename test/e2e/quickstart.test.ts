/**
 * The README's quick start, for real: `npm start` on a fresh local D1 prints a demo key, and
 * the mock model streams through `wrangler dev` with that key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

let child: ChildProcess;
let output = '';
let base = '';
const persist = mkdtempSync(join(tmpdir(), 'sluice-quickstart-'));

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn('npm', ['start'], {
    env: { ...process.env, PORT: String(port), PERSIST_DIR: persist },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const until = Date.now() + 90_000;
  while (!/Demo key: +sk-sluice-/.test(output)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 120_000);

afterAll(() => {
  // npm, wrangler and workerd share the process group: stop them all.
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
  rmSync(persist, { recursive: true, force: true });
});

describe('npm start', () => {
  it('serves the gateway with a demo team and key, and the mock model streams', async () => {
    const key = /Demo key: +(sk-sluice-\S+)/.exec(output)![1]!;
    expect(output).toContain('Demo team: acme-corp (1000 credits)');
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
});
