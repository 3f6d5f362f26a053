// Admission throughput: many teams, each with a key of its own, and a fixed number of short calls at
// a fixed concurrency, spread round-robin over the teams' keys, at each team count of ADMIT_TEAMS.
// The D1 path (the baseline: admission and books are batches in the one D1 database) and the
// account path (Sluice: each team's batches run in its Account object, which copies the rows to D1)
// take turns, round by round, the order rotated. Beside calls per second and the time to the first
// byte, each turn counts the CPU of every process it loads, once they have gone quiet: the Worker's,
// the local D1's and, for the Sluice whose objects run apart, the Account objects' own process.
import http from 'node:http';
import { request, streamOnce } from '../lib/client.mjs';
import { ADMIN_KEY, ADMIT, baselineRev, cfg } from '../lib/config.mjs';
import { cpuEachWhenIdle } from '../lib/stats.mjs';
import { rotate } from '../lib/util.mjs';
import { clock } from '../upstream.mjs';
import { SHORT_STREAM } from './cpu-per-call.mjs';

/** Each team's starting credits: far more than its calls take, so that none is refused for credit. */
const TEAM_CREDITS = 10_000_000;
/** Admin requests at once while teams are made and keys revoked: the setup is not measured. */
const SETUP_CONCURRENCY = 4;
const CALL_TIMEOUT_MS = 15_000;
const admin = { 'x-admin-key': ADMIN_KEY };

/** Runs `fn(i)` for every i below `count`, `width` at a time; the first failure stops it and rejects. */
async function pool(width, count, fn) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count)
      await fn(next++).catch((err) => {
        failed = true;
        throw err;
      });
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}

async function adminCall(t, method, path, body, expected) {
  const r = await request(`${t.base}${path}`, method, body, admin, t.agent);
  if (r.status !== expected)
    throw new Error(`admission, ${t.name}: ${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
  return JSON.parse(r.text);
}

/**
 * Fills `teams` with teams of path `t`, made through its own admin API, each with a key: their ids
 * and the path as that team's key calls it (the path's own body, naming the team).
 */
async function makeTeams(t, teams) {
  await pool(SETUP_CONCURRENCY, teams.length, async (i) => {
    const teamId = `admit-${t.name}-${i}`;
    await adminCall(t, 'POST', '/admin/teams', { team_id: teamId, credits: TEAM_CREDITS }, 201);
    const key = await adminCall(t, 'POST', `/admin/teams/${teamId}/keys`, { name: 'admission' }, 201);
    teams[i] = {
      teamId,
      keyId: key.key_id,
      path: {
        ...t,
        headers: { authorization: `Bearer ${key.key}` },
        body: (shape, stream) => JSON.stringify({ ...JSON.parse(t.body(shape, stream)), team_id: teamId }),
      },
    };
  });
}

/** The phase's keys stop working: its teams ran jobs, so they stay (the run's D1 is thrown away). */
async function revokeKeys(t, teams) {
  await pool(SETUP_CONCURRENCY, teams.length, async (i) => {
    if (teams[i]) await adminCall(t, 'DELETE', `/admin/keys/${teams[i].keyId}`, null, 200);
  });
}

/**
 * One call per team before a team count's rounds: every key has been seen and every account is in
 * memory, so the turns measure calls, not a team's first call. (workerd evicts an object idle for
 * half a minute or so, and building it again costs the next call a few ms more; the teams of the
 * larger counts were last called when the phase made them.)
 */
async function warmUp(t, teams) {
  await pool(cfg.ADMIT_CONC, teams.length, async (i) => {
    const r = await streamOnce(teams[i].path, SHORT_STREAM, { agent: t.agent, timeoutMs: CALL_TIMEOUT_MS });
    if (!r.ok) throw new Error(`admission, ${t.name}: a warm-up call of ${teams[i].teamId} failed: ${r.error}`);
  });
}

/**
 * One turn: ADMIT_CALLS short streams, ADMIT_CONC at once, call i on team i mod teams.length. CPU of
 * the Worker's process, the local D1's and the objects' (when apart) from quiet to quiet, so the
 * books and the copies to D1 a call leaves behind count too.
 */
async function turn(t, teams) {
  const groups = [t.pids, t.d1Pids, t.objectPids];
  const before = await cpuEachWhenIdle(groups);
  const results = new Array(cfg.ADMIT_CALLS);
  const started = clock();
  await pool(cfg.ADMIT_CONC, cfg.ADMIT_CALLS, async (i) => {
    const { path } = teams[i % teams.length];
    results[i] = await streamOnce(path, SHORT_STREAM, { agent: t.agent, timeoutMs: CALL_TIMEOUT_MS });
  });
  const wallMs = clock() - started;
  const after = await cpuEachWhenIdle(groups);
  const [worker, d1, account] = after.map((v, i) => (v === null ? null : v - before[i]));
  const errors = results.filter((r) => !r.ok);
  return {
    calls: results.length,
    errors: errors.length,
    error_samples: [...new Set(errors.map((r) => r.error))].slice(0, 3),
    ...Object.fromEntries(
      ['head', 'firstByte', 'reach', 'ttft'].map((k) => [k, results.filter((r) => r[k] !== null).map((r) => r[k])]),
    ),
    wall_ms: wallMs,
    cpu_s: { worker, d1, account },
  };
}

/**
 * Resolves with {teams: {count: {path: [turn, ...]}}}, or null when the phase cannot run: it needs
 * the local D1 apart (its CPU is one of the phase's figures), and the D1 path needs BASELINE_REV.
 */
export async function admission({ admitTargets }) {
  if (cfg.D1 !== 'apart') {
    console.error('admission: skipped, it needs D1=apart (the local D1 in a process of its own)');
    return null;
  }
  const counts = cfg.ADMIT_TEAMS;
  if (!counts.length || !cfg.ADMIT_CALLS || !cfg.ADMIT_CONC || !cfg.ADMIT_ROUNDS) return null;
  if (!baselineRev)
    console.error('admission: no BASELINE_REV, so no D1 path (BASELINE_REV=1dc1608 is its last commit)');
  // Agents of the phase's own, so that it leaves no sockets behind.
  const targets = admitTargets.map((t) => ({ ...t, agent: new http.Agent({ keepAlive: true, maxSockets: Infinity }) }));
  const most = Math.max(...counts);
  const teams = {};
  try {
    for (const t of targets) {
      console.error(`admission: ${most} teams and keys on ${t.name}`);
      teams[t.name] = new Array(most);
      await makeTeams(t, teams[t.name]);
    }
    const out = {};
    for (const n of counts) {
      out[n] = Object.fromEntries(targets.map((t) => [t.name, []]));
      console.error(`admission: ${n} team(s), one warm-up call each per path`);
      for (const t of targets) await warmUp(t, teams[t.name].slice(0, n));
      for (let round = 0; round < cfg.ADMIT_ROUNDS; round++)
        for (const t of rotate(targets, round)) {
          console.error(
            `admission: ${n} team(s), ${cfg.ADMIT_CALLS} calls, ${cfg.ADMIT_CONC} at once, round ${round + 1}: ${t.name}`,
          );
          out[n][t.name].push(await turn(t, teams[t.name].slice(0, n)));
        }
    }
    failOnErrors(out);
    return { teams: out };
  } finally {
    for (const t of targets)
      await revokeKeys(t, teams[t.name] ?? []).catch((err) => console.error(`admission, ${t.name}: ${err.message}`));
    for (const t of targets) t.agent.destroy();
  }
}

/** Every call must succeed: one refused or broken call makes the phase's figures meaningless. */
function failOnErrors(out) {
  const failed = Object.entries(out).flatMap(([n, byPath]) =>
    Object.entries(byPath).flatMap(([name, turns]) => {
      const errors = turns.reduce((a, r) => a + r.errors, 0);
      const samples = [...new Set(turns.flatMap((r) => r.error_samples))].slice(0, 3);
      return errors ? [`${name}, ${n} team(s): ${errors} failed (${samples.join('; ')})`] : [];
    }),
  );
  if (failed.length) throw new Error(`admission: calls failed\n  ${failed.join('\n  ')}`);
}
