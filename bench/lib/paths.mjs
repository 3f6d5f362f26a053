// The paths a run measures, and how a request looks on each. A path (called a `target` in the
// phases' code: what a request is aimed at) is a name, a base URL, the routes for a stream and for
// a call, the headers and body it needs, the pids of its Worker's workerd process and an agent:
//   direct      the upstream itself
//   reference   bench/reference: a Worker that only forwards the upstream's body
//   sluice      Sluice, through create-and-call(-stream) with a virtual key
//   baseline    with BASELINE_REV, that commit's Sluice, in the phases it joins
// plus the re-encoded phase's variants of the reference and Sluice (Anthropic's and Gemini's APIs),
// the dialects phase's: Sluice's /v1 routes of other dialects, and the reference forwarding
// each upstream format they are served from (bench/lib/dialects.mjs), and the resumable phase's:
// Sluice's /v1/chat/completions with and without `resumable: true` beside the reference, and the
// admission phase's: the baseline, Sluice, and Sluice with its Account objects in a process apart.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { request, callOnce, streamOnce } from './client.mjs';
import { ADMIN_KEY, ADMIT, baselineRev, cfg, JS_FLOOR, RESUME, root, runs } from './config.mjs';
import { DIALECTS, referenceFor, UPSTREAMS } from './dialects.mjs';
import { startHost } from './processes.mjs';
import { sleep } from './util.mjs';

/**
 * Starts every Worker in workerd (bench/host.mjs), the local D1 apart unless D1=shared, and for the
 * admission phase (which needs D1 apart) the Sluice whose Account objects run in a process apart.
 */
export function startWorkers({ app, baselineApp, sluiceOut, baselineOut, refOut }, persist, upstream) {
  console.error('starting the Workers in workerd (Miniflare)...');
  const sluiceBindings = {
    ADMIN_API_KEY: ADMIN_KEY,
    OPENAI_API_KEY: 'sk-bench',
    ANTHROPIC_API_KEY: 'sk-ant-bench',
    GEMINI_API_KEY: 'gm-bench',
  };
  const d1Apart = cfg.D1 === 'apart';
  const apart =
    (runs('admission') || runs('per-call') || runs('resumable')) && d1Apart
      ? objectsApart(app, sluiceOut, persist, sluiceBindings)
      : [];
  return startHost({
    workers: [
      ...(d1Apart
        ? [
            {
              name: 'd1',
              config: join(app, 'wrangler.toml'),
              script: join(root, 'bench', 'd1-host.worker.js'),
              persist: join(persist, 'v3'),
              inspect: cfg.PROFILE,
            },
          ]
        : []),
      {
        name: 'sluice',
        config: join(app, 'wrangler.toml'),
        outdir: sluiceOut,
        ...(d1Apart ? { d1From: 'd1' } : { persist: join(persist, 'v3') }),
        inspect: cfg.PROFILE,
        bindings: sluiceBindings,
      },
      ...apart,
      ...(baselineApp
        ? [
            {
              name: 'baseline',
              config: join(baselineApp, 'wrangler.toml'),
              outdir: baselineOut,
              d1From: 'd1',
              inspect: cfg.PROFILE,
              bindings: sluiceBindings,
            },
          ]
        : []),
      {
        name: 'reference',
        config: join(root, 'bench', 'reference', 'wrangler.toml'),
        like: join(app, 'wrangler.toml'),
        outdir: refOut,
        inspect: cfg.PROFILE,
        bindings: { UPSTREAM_URL: `${upstream.url}/v1` },
      },
    ],
  });
}

/**
 * The second Sluice of the per-call, admission and resumable phases: the same bundle twice, in two
 * workerd processes. The first (`accounts`) serves nothing; its process runs the objects of the
 * second (ADMIT.apart): its accounts and its resumable calls, which its ACCOUNTS and CALL_STREAMS
 * bindings reach there (bench/host.mjs, `objectsFrom`). Both reach the one local D1, so the objects
 * read their teams from it and copy their rows to it as Sluice's do.
 */
function objectsApart(app, sluiceOut, persist, bindings) {
  const registry = join(persist, 'registry');
  mkdirSync(registry, { recursive: true });
  const config = join(app, 'wrangler.toml');
  return [
    { name: 'accounts', config, outdir: sluiceOut, d1From: 'd1', registry, bindings, inspect: cfg.PROFILE },
    {
      name: ADMIT.apart,
      config,
      outdir: sluiceOut,
      d1From: 'd1',
      registry,
      objectsFrom: 'accounts',
      bindings,
      inspect: cfg.PROFILE,
    },
  ];
}

/** A bench team (`bench` unless named), with ample credits, and a virtual key of it, through Sluice's admin API. */
async function benchKey(sluiceUrl, teamId = 'bench') {
  const team = await request(
    `${sluiceUrl}/admin/teams`,
    'POST',
    { team_id: teamId, name: 'Bench', credits: 10_000_000 },
    { 'x-admin-key': ADMIN_KEY },
  );
  if (team.status !== 201) throw new Error(`creating the bench team failed: ${team.status} ${team.text}`);
  const keyRes = await request(
    `${sluiceUrl}/admin/teams/${teamId}/keys`,
    'POST',
    { name: 'bench' },
    { 'x-admin-key': ADMIN_KEY },
  );
  if (keyRes.status !== 201) throw new Error(`issuing the bench key failed: ${keyRes.status} ${keyRes.text}`);
  return JSON.parse(keyRes.text).key;
}

const messages = (shape) => [
  { role: 'system', content: 'You are a benchmark.' },
  { role: 'user', content: JSON.stringify(shape) },
];
const openaiBody = (shape, stream) =>
  JSON.stringify({
    model: 'bench',
    messages: messages(shape),
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
const keepAlive = () => new http.Agent({ keepAlive: true, maxSockets: Infinity });

// Streams Sluice must re-encode: the reference forwards the provider's own events (its URL
// keeps the path after /v1), Sluice answers OpenAI chunks for a catalog model of that provider.
export const RECODED = {
  anthropic: {
    streamPath: '/v1/messages',
    done: 'event: message_stop',
    body: (shape) =>
      JSON.stringify({
        model: 'bench',
        max_tokens: 1024,
        stream: true,
        messages: [{ role: 'user', content: JSON.stringify(shape) }],
      }),
  },
  gemini: {
    streamPath: '/v1/v1beta/models/bench:streamGenerateContent?alt=sse',
    done: '"finishReason":"STOP"',
    body: (shape) => JSON.stringify({ contents: [{ role: 'user', parts: [{ text: JSON.stringify(shape) }] }] }),
  },
};

/**
 * Creates the bench team and key, then describes every path. Resolves with
 *   targets        direct, reference, sluice: the paths of every phase
 *   seqTargets     those, and the baseline when there is one: the sequential, per-call and re-encoded phases
 *   byName(name)   one of them
 *   recodeTargets(provider)   the re-encoded phase's paths for `anthropic` or `gemini`
 *   dialectTargets  the dialects phase's paths: the reference once per upstream format, then
 *                   Sluice once per dialect (named as in bench/lib/dialects.mjs)
 *   resumeTargets   the resumable phase's paths (named in RESUME): the reference, Sluice's plain
 *                   chat stream, the same resumable
 *   admitTargets    the admission phase's paths (named in ADMIT), those that run: the baseline,
 *                   Sluice, and Sluice with its Account objects apart (`objectPids`)
 *   callTargets     the per-call phase's: the reference, Sluice, the baseline, and Sluice with its
 *                   objects apart (on a team of its own, `bench-apart`)
 */
export async function benchPaths(host, upstream) {
  const sluiceUrl = host.workers.sluice.url;
  const key = await benchKey(sluiceUrl);
  const targets = [
    {
      name: 'direct',
      base: upstream.url,
      streamPath: '/v1/chat/completions',
      callPath: '/v1/chat/completions',
      headers: {},
      body: openaiBody,
      pids: [],
      agent: keepAlive(),
    },
    {
      name: 'reference',
      base: host.workers.reference.url,
      streamPath: '/v1/chat/completions',
      callPath: '/v1/chat/completions',
      headers: {},
      body: openaiBody,
      pids: host.workers.reference.pids,
      agent: keepAlive(),
    },
    {
      name: 'sluice',
      base: sluiceUrl,
      streamPath: '/api/jobs/create-and-call-stream',
      callPath: '/api/jobs/create-and-call',
      headers: { authorization: `Bearer ${key}` },
      body: (shape) =>
        JSON.stringify({ team_id: 'bench', job_type: 'bench', model: 'bench', messages: messages(shape) }),
      pids: host.workers.sluice.pids,
      d1Pids: host.workers.d1?.pids ?? [], // the local D1's own process, when it runs apart
      agent: keepAlive(),
    },
  ];
  const byName = (name) => targets.find((t) => t.name === name);
  // The baseline Sluice (BASELINE_REV) shares the bench team and key: both use the same local D1.
  const seqTargets = baselineRev
    ? [
        ...targets,
        {
          ...byName('sluice'),
          name: 'baseline',
          base: host.workers.baseline.url,
          pids: host.workers.baseline.pids,
          agent: keepAlive(),
        },
      ]
    : targets;
  for (const t of seqTargets)
    if (t.name !== 'direct' && !t.pids.length) throw new Error(`no workerd process found for ${t.name}`);

  const recodeTargets = (provider) => [
    { ...byName('reference'), ...RECODED[provider] },
    // The same Worker moving each chunk through JavaScript: what touching every chunk costs at all.
    { ...byName('reference'), ...RECODED[provider], name: JS_FLOOR, headers: { 'x-bench-relay': 'js' } },
    // Sluice, and its baseline when there is one (the same request: both share the bench team).
    ...seqTargets
      .filter((t) => t.name === 'sluice' || t.name === 'baseline')
      .map((t) => ({
        ...t,
        body: (shape) =>
          JSON.stringify({
            team_id: 'bench',
            job_type: 'bench',
            model: `bench-${provider}`,
            messages: messages(shape),
          }),
      })),
  ];
  // Not the baseline: a commit from before a dialect's route would fail the phase.
  const dialectTargets = [
    ...[...new Set(DIALECTS.map((d) => d.upstream))].map((upstream) => ({
      ...byName('reference'),
      ...UPSTREAMS[upstream],
      name: referenceFor(upstream),
    })),
    ...DIALECTS.map((d) => ({
      ...byName('sluice'),
      name: d.name,
      streamPath: d.route,
      headers: d.headers(key),
      body: d.body,
      done: d.done,
      events: d.events,
    })),
  ];
  // Sluice with its objects apart gets a team of its own: the bench team's account lives in
  // Sluice's process, and two accounts of one team would both write its record. (The admission
  // phase makes teams and keys of its own on every path.)
  const apart = host.workers[ADMIT.apart];
  const apartPaths = apart ? [await apartPath(apart, host.workers.accounts, byName('sluice'))] : [];
  // Not the baseline either: a commit from before resumable calls would answer the plain stream.
  const resumeTargets = resumablePaths(byName, key, apartPaths[0]);
  const admitTargets = Object.values(ADMIT)
    .map((name) => [...seqTargets, ...apartPaths].find((t) => t.name === name))
    .filter(Boolean);
  const callTargets = [...seqTargets.filter((t) => t.pids.length), ...apartPaths];
  return { targets, seqTargets, byName, recodeTargets, dialectTargets, resumeTargets, admitTargets, callTargets };
}

/** Sluice whose Account objects run in the `accounts` process, calling as the team `bench-apart`. */
async function apartPath(worker, accounts, sluice) {
  const teamId = 'bench-apart';
  const key = await benchKey(worker.url, teamId);
  return {
    ...sluice,
    name: ADMIT.apart,
    base: worker.url,
    headers: { authorization: `Bearer ${key}` },
    body: (shape, stream) => JSON.stringify({ ...JSON.parse(sluice.body(shape, stream)), team_id: teamId }),
    pids: worker.pids,
    objectPids: accounts.pids,
    agent: keepAlive(),
  };
}

/**
 * The resumable phase's paths: Sluice's /v1/chat/completions with and without `resumable: true`,
 * and the reference forwarding the same upstream stream. All three send one body (usage asked for,
 * so the plain stream is the one Sluice relays natively, the cheapest it has); the stamps ride in
 * the text (`stamp: 'text'` in every shape of the phase), since a resumable call's object writes
 * the chat chunks anew and keeps only what they say.
 */
function resumablePaths(byName, key, apart) {
  const chat = { streamPath: '/v1/chat/completions', headers: { authorization: `Bearer ${key}` }, body: openaiBody };
  const resumable = (shape, stream) => JSON.stringify({ ...JSON.parse(openaiBody(shape, stream)), resumable: true });
  return [
    { ...byName('reference'), name: RESUME.reference },
    { ...byName('sluice'), ...chat, name: RESUME.plain },
    { ...byName('sluice'), ...chat, name: RESUME.resumable, body: resumable },
    // The same stream where each call's object runs in the objects' process (`objectPids`), as on
    // Workers: the Worker's process then spends only what a Worker would.
    ...(apart ? [{ ...apart, ...chat, headers: apart.headers, name: RESUME.apart, body: resumable }] : []),
  ];
}

/** Every path must work before anything is measured: one short stream (and call) on each. */
export async function checkPaths({ seqTargets, recodeTargets, dialectTargets, resumeTargets }, host) {
  const dialects = runs('dialects') && (cfg.DIALECT_SEQ || cfg.DIALECT_CONC) ? dialectTargets : [];
  const recoded = runs('reencoded') && cfg.RECODE ? Object.keys(RECODED).flatMap(recodeTargets) : [];
  const resumable = runs('resumable') && (cfg.RESUME_SEQ || cfg.RESUME_CONC) ? resumeTargets : [];
  for (const t of [...recoded, ...dialects, ...resumable]) {
    const s = await streamOnce(t, { first: 1, n: 5, gap: 1, stamp: 'text' }, { agent: t.agent, timeoutMs: 15_000 });
    if (!s.ok) await sleep(500);
    if (!s.ok)
      throw new Error(`${t.name} (${t.streamPath}): a test stream failed: ${s.error}\n${host.log().slice(-3000)}`);
  }
  for (const t of seqTargets) {
    const s = await streamOnce(t, { first: 1, n: 5, gap: 1 }, { agent: t.agent, timeoutMs: 15_000 });
    if (!s.ok) await sleep(500); // let the Worker's own log line arrive
    if (!s.ok) throw new Error(`${t.name}: a test stream failed: ${s.error}\n${host.log().slice(-3000)}`);
    const c = await callOnce(t, { first: 1, n: 5, gap: 0 }, { agent: t.agent, timeoutMs: 15_000 });
    if (!c.ok) await sleep(500);
    if (!c.ok) throw new Error(`${t.name}: a test call failed: ${c.error}\n${host.log().slice(-3000)}`);
  }
}
