// Child processes: every command (git, npm, wrangler) and the Worker host (bench/host.mjs) runs in a
// process group of its own, and every group still alive is killed on the way out: at the end, on an
// error, on Ctrl-C. Also what workerd's log says went wrong behind the requests' back.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, env, nodeBin, root } from './config.mjs';
import { sleep } from './util.mjs';

/** Process groups we started; each is killed on the way out, whatever happens. */
const groups = new Set();
export function killGroups(signal) {
  for (const pid of groups) {
    try {
      process.kill(-pid, signal);
    } catch {
      groups.delete(pid);
    }
  }
}

/** The run's scratch folder (bundles, local D1), removed on the way out. */
let scratch = null;
export function makeScratch() {
  scratch = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  return scratch;
}

/** Kills every group (and removes the scratch folder) when this process exits or is signalled. */
export function cleanUpOnExit() {
  process.on('exit', () => {
    killGroups('SIGKILL');
    if (scratch) rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping`);
      killGroups('SIGKILL');
      process.exit(130);
    });
  }
}

/** Runs a command in its own process group; the whole group dies on timeout. */
export function run(cmd, args, { timeoutMs = 120_000, cwd = root } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, CI: 'true', PATH: `${bin}:${env.PATH}`, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
    groups.add(child.pid);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid, 'SIGKILL'); // anything it left behind
      } catch {}
      groups.delete(child.pid);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}):\n${out.slice(-3000)}`));
    });
  });
}

/** Starts bench/host.mjs (Miniflare) in its own group; resolves with its Workers' URLs and pids. */
export function startHost(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [join(root, 'bench', 'host.mjs'), JSON.stringify(spec)], {
      cwd: root,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'], // the host exits when this stdin closes, i.e. when we die
      env: { ...env, PATH: `${bin}:${env.PATH}`, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
    groups.add(child.pid);
    let log = '';
    let settled = false;
    const fail = (msg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${msg}\n${log.slice(-4000)}`));
    };
    const timer = setTimeout(() => fail('the Workers did not start within 90 s'), 90_000);
    child.stderr.on('data', (d) => (log += d));
    child.stdout.on('data', (d) => {
      log += d;
      const line = /^BENCH_HOST (.*)$/m.exec(log);
      if (line && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ ...JSON.parse(line[1]), child, log: () => log });
      }
    });
    child.on('exit', (code) => {
      groups.delete(child.pid);
      fail(`the Worker host exited (${code})`);
    });
  });
}

export async function stopHost(host) {
  if (!host?.child || host.child.exitCode !== null) return;
  const exited = new Promise((r) => host.child.once('exit', r));
  try {
    process.kill(-host.child.pid, 'SIGTERM');
  } catch {}
  await Promise.race([exited, sleep(5000)]);
  try {
    process.kill(-host.child.pid, 'SIGKILL');
  } catch {}
  groups.delete(host.child.pid);
}

/**
 * What workerd says it did to requests behind their back: continuations it canceled because the
 * request that was to run them had already ended (cross-request promises), requests it
 * canceled as hung, and code that ran in another request's context and touched its own I/O.
 * Each is a request or a `waitUntil` task that did not finish its work.
 */
export function runtimeTrouble(log) {
  const count = (re) => (log.match(re) ?? []).length;
  return {
    canceled_continuations: count(/A promise was resolved or rejected from a different request context/g),
    hung_requests: count(/detected that your Worker's code had hung/g),
    cross_request_io: count(/Cannot perform I\/O on behalf of a different request/g),
  };
}
