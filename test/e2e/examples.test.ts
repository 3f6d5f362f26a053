/**
 * Every example under examples/ runs as a user would run it (`npx tsx examples/NN-*.ts`) against
 * `npm start`, exits 0 and prints what it promises.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from './support/gateway';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const scratch = mkdtempSync(join(tmpdir(), 'sluice-examples-'));

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway('examples');
}, 120_000);

afterAll(() => {
  gateway?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs one example to completion (30 s at most) and returns its exit code and output. */
function run(file: string, args: string[] = [], stdin = '') {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(
      tsx,
      [join('examples', file), ...args],
      {
        cwd: root,
        timeout: 30_000,
        env: { ...process.env, SLUICE_URL: gateway.base, SLUICE_KEY: gateway.key, SLUICE_TEAM: 'acme-corp' },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
    child.stdin!.end(stdin);
  });
}

const reply = (said: string) => `You said: "${said}". This reply streams one token at a time`;
const credits = (out: string) => Number(/Credits(?: remaining)?: (\d+)/.exec(out)?.[1]);

describe('examples/', () => {
  it('01-basic streams an answer and prints the credits left', async () => {
    const { code, out } = await run('01-basic.ts');
    expect(code, out).toBe(0);
    expect(out).toContain(`Assistant: Hello from Sluice's mock model! ${reply('Write a short poem about Python')}`);
    expect(credits(out)).toBeLessThan(1000);
  });

  it('02-accumulate keeps the whole answer and its token counts', async () => {
    const { code, out } = await run('02-accumulate.ts');
    expect(code, out).toBe(0);
    const streamed = out.slice(0, out.indexOf('\n\nFull response length'));
    expect(out).toContain(`Full response length: ${streamed.length} characters`);
    expect(out).toMatch(/Tokens: \d+ in, \d+ out/);
  });

  it('03-multi-turn holds a conversation from stdin in one job', async () => {
    const { code, out } = await run('03-multi-turn.ts', [], 'What is Sluice?\nAnd credits?\nquit\n');
    expect(code, out).toBe(0);
    expect(out).toContain(
      `You: What is Sluice?\nAssistant: Hello from Sluice's mock model! ${reply('What is Sluice?')}`,
    );
    expect(out).toContain(reply('And credits?'));
    expect(out).toContain('Goodbye!');
    expect(out).toContain('Chat ended. Total messages: 4');
    expect(credits(out)).toBeLessThan(1000);
  });

  it('04-system-prompt answers the user message', async () => {
    const { code, out } = await run('04-system-prompt.ts');
    expect(code, out).toBe(0);
    expect(out).toContain(reply('How do I read a CSV file in Python?'));
  });

  it('05-multi-document analyses three documents in three calls of one job', async () => {
    const { code, out } = await run('05-multi-document.ts');
    expect(code, out).toBe(0);
    for (const n of [1, 2, 3]) expect(out).toContain(`Document ${n}/3`);
    expect(out).toContain('Remote work has changed how companies operate globally');
    expect(out).toContain('Analyzed 3 documents in 3 calls');
    expect(credits(out)).toBeLessThan(1000);
  });

  it('06-progress prints its statistics', async () => {
    const { code, out } = await run('06-progress.ts');
    expect(code, out).toBe(0);
    expect(Number(/Chunks received: (\d+)/.exec(out)?.[1])).toBeGreaterThan(5);
    expect(out).toMatch(/First token: \d+ ms/);
    expect(out).toMatch(/Speed: [\d.]+ chars\/sec/);
  });

  it('07-error-handling succeeds once, then catches the typed errors it provokes', async () => {
    const { code, out } = await run('07-error-handling.ts');
    expect(code, out).toBe(0);
    expect(out).toMatch(/Stream completed successfully \(\d+ chunks\)/);
    expect(out).toContain('Caught NotFoundError (status 404, code model_not_found');
    expect(out).toContain("Not found: No model 'no-such-model'");
    expect(out).toContain('Caught BadRequestError (status 400');
    expect(out).toContain('Bad request (temperature)');
    expect(out.match(/Job completed as failed; credits charged: 0/g)).toHaveLength(2);
  });

  it('08-concurrent answers three questions at once', async () => {
    const { code, out } = await run('08-concurrent.ts');
    expect(code, out).toBe(0);
    for (const q of ['What is machine learning?', 'What is deep learning?', 'What is a neural network?'])
      expect(out).toContain(reply(q));
    // Concurrent: the wall time is well under the three streams' sum.
    const [, wall, sum] = /answered in ([\d.]+)s \(([\d.]+)s one after another\)/.exec(out)!;
    expect(Number(wall)).toBeLessThan(Number(sum) * 0.8);
  });

  it('09-stream-to-file writes exactly what it streamed', async () => {
    const file = join(scratch, 'post.txt');
    const { code, out } = await run('09-stream-to-file.ts', [file]);
    expect(code, out).toBe(0);
    const saved = readFileSync(file, 'utf8');
    expect(saved).toContain(reply('Write a technical blog post about microservices (500 words)'));
    expect(out.startsWith(saved)).toBe(true);
    expect(out).toContain(`Content saved to: ${file}`);
  });

  it('10-timeout finishes within a generous deadline and stops at a short one', async () => {
    const { code, out } = await run('10-timeout.ts');
    expect(code, out).toBe(0);
    expect(out).toContain('Stream completed within 30s');
    expect(out).toContain('Stream exceeded 0.25s timeout');
  });

  it('without SLUICE_KEY, an example says how to get one', async () => {
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      execFile(
        tsx,
        [join('examples', '01-basic.ts')],
        { cwd: root, env: { ...process.env, SLUICE_KEY: '' } },
        (err, o, e) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, text: `${o}${e}` }),
      );
    });
    expect(out.code).toBe(1);
    expect(out.text).toContain('npm start` prints a demo key');
  });
});
