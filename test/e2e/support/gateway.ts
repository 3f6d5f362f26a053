/**
 * `npm start` for end-to-end tests: its own free port and a temporary local D1, the demo key it
 * prints, and a `stop()` that ends the whole process group (npm, wrangler and both workerd
 * processes), so no copy outlives the test run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

export interface Gateway {
  base: string;
  /** The demo key `npm start` printed. */
  key: string;
  /** Everything `npm start` printed so far. */
  output(): string;
  stop(): void;
}

export async function startGateway(name: string, env: Record<string, string> = {}): Promise<Gateway> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const persist = mkdtempSync(join(tmpdir(), `sluice-${name}-`));
  let output = '';
  const child: ChildProcess = spawn('npm', ['start'], {
    env: { ...process.env, ...env, PORT: String(port), PERSIST_DIR: persist },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = () => {
    // npm, wrangler and workerd share the process group: stop them all.
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
    }
    rmSync(persist, { recursive: true, force: true });
  };
  const until = Date.now() + 90_000;
  while (!/Demo key: +sk-sluice-/.test(output)) {
    if (Date.now() > until || child.exitCode !== null) {
      stop();
      throw new Error(`npm start did not come up:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const key = /Demo key: +(sk-sluice-\S+)/.exec(output)![1]!;
  return { base, key, output: () => output, stop };
}
