// Runs the benchmark's Workers in workerd through Miniflare's API, one Miniflare (so one workerd
// process) per Worker, with no `wrangler dev` proxy in front. Started by bench/run.mjs in its own
// process group; it exits when its stdin closes (the parent went away) or on SIGTERM.
//
// argv[2]: JSON {workers: [{name, config, outdir | script, persist?, bindings, like?, d1From?}]},
//   started in the order given
//   persist: the `v3` folder under a `wrangler --persist-to` directory (local D1 and friends)
//   config: the Worker's wrangler.toml (bindings, compatibility settings)
//   outdir: its production bundle from `wrangler deploy --dry-run --outdir`
//   script: instead of a bundle, one module that gets only the config's D1 bindings
//           (bench/d1-host.worker.js)
//   d1From: the name of an earlier D1 host; this Worker's D1 bindings then reach their database there
//   objectsFrom: the name of an earlier Worker (the same bundle) whose process runs this Worker's
//           objects (its accounts and its resumable calls); its bindings then reach them there (below)
//   registry: a folder both ends of an `objectsFrom` share, where each instance says where it runs
//   like:   take compatibility date and flags from this other wrangler.toml
//   inspect: open workerd's inspector (for PROFILE=1); its address is reported as `inspector`
// Prints one line `BENCH_HOST {"workers": {name: {url, pids, inspector?}}}` once everything is ready.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { descendants } from './lib/proc.mjs';

// The Miniflare that wrangler itself uses (it is wrangler's dependency, not the project's).
const fromWrangler = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
const { Miniflare, convertV4MiniflareOptions, PLUGINS } = fromWrangler('miniflare');

// A D1 binding marked remote (`d1From`) reaches its database in another workerd process. Miniflare
// would put its remote-binding client, a Worker of its own, between the binding and that process,
// which is JavaScript on the measured thread that production does not run. Instead the binding's
// fetcher becomes a plain HTTP service at the D1 host's address, so the request leaves natively.
const d1Plugin = PLUGINS.d1;
const d1HostService = (url) => `bench:d1-host:${url.host}`;
const remoteD1 = (options) =>
  Object.entries(options.config.env ?? {}).filter(
    ([, b]) => b.type === 'd1' && b.dev?.remote && options.dev?.remoteProxyConnectionString,
  );
const localGetBindings = d1Plugin.getBindings;
d1Plugin.getBindings = function (options, ...rest) {
  const remote = new Set(remoteD1(options).map(([name]) => name));
  const url = options.dev?.remoteProxyConnectionString;
  return localGetBindings.call(this, options, ...rest).map((b) =>
    remote.has(b.name)
      ? {
          ...b,
          wrapped: { ...b.wrapped, innerBindings: [{ name: 'fetcher', service: { name: d1HostService(url) } }] },
        }
      : b,
  );
};
const localGetServices = d1Plugin.getServices;
d1Plugin.getServices = async function (args) {
  const services = await localGetServices.call(this, args);
  if (!remoteD1(args.options).length) return services;
  const url = args.options.dev.remoteProxyConnectionString;
  return [...services, { name: d1HostService(url), external: { address: url.host, http: {} } }];
};

// An `objectsFrom` Worker's ACCOUNTS and CALL_STREAMS bindings name the Account and CallStream
// classes of a Worker in another Miniflare, hence another workerd process. Miniflare reaches such an object through its dev
// registry (the `registry` folder): a proxy object in this process hands each call to the object
// itself, over workerd's own RPC between processes. The objects' work (their SQLite, their copies to
// D1) then runs on that process's thread, where its CPU can be read apart from the Worker's.
const objectsFrom = (name) => ({
  ACCOUNTS: { className: 'Account', scriptName: name, useSQLite: true },
  CALL_STREAMS: { className: 'CallStream', scriptName: name, useSQLite: true },
});

const spec = JSON.parse(process.argv[2]);
const instances = [];
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(instances.map((mf) => mf.dispose()));
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.stdin.on('end', () => void stop(0));
process.stdin.on('error', () => void stop(0));
process.stdin.resume();

const types = [
  [/\.(m?js|cjs)$/, 'ESModule'],
  [/\.wasm$/, 'CompiledWasm'],
  [/\.(txt|html|sql)$/, 'Text'],
  [/\.bin$/, 'Data'],
];

/** The bundle's modules, entry first, as Miniflare wants them. */
function bundleModules(outdir) {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(outdir);
  const modules = [];
  for (const path of files) {
    const type = types.find(([re]) => re.test(path))?.[1];
    if (type && !path.endsWith('.map')) modules.push({ type, path });
  }
  const entry = (m) => relative(outdir, m.path) === 'index.js';
  return [...modules.filter(entry), ...modules.filter((m) => !entry(m))];
}

try {
  const out = {};
  for (const w of spec.workers) {
    const { workerOptions } = unstable_getMiniflareWorkerOptions(w.config);
    const like = w.like ? unstable_getMiniflareWorkerOptions(w.like).workerOptions : workerOptions;
    const d1Databases = w.d1From
      ? Object.fromEntries(
          Object.entries(workerOptions.d1Databases ?? {}).map(([binding, db]) => [
            binding,
            { id: db.id, remoteProxyConnectionString: new URL(out[w.d1From].url) },
          ]),
        )
      : workerOptions.d1Databases;
    const code = w.script
      ? {
          modules: [{ type: 'ESModule', path: w.script }],
          modulesRoot: dirname(w.script),
          bindings: {},
          cronTriggers: [],
        }
      : {
          modules: bundleModules(w.outdir),
          modulesRoot: w.outdir,
          bindings: { ...workerOptions.bindings, ...w.bindings },
        };
    const before = new Set(descendants(process.pid).map((p) => p.pid));
    // wrangler hands out Miniflare 4-style options; this Miniflare takes them once converted.
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        host: '127.0.0.1',
        port: 0,
        logRequests: false,
        ...(w.inspect ? { inspectorPort: 0 } : {}),
        ...(w.persist ? { resourcePersistencePath: w.persist } : {}),
        ...(w.registry ? { unsafeDevRegistryPath: w.registry } : {}),
        workers: [
          {
            ...workerOptions,
            name: w.name,
            compatibilityDate: like.compatibilityDate,
            compatibilityFlags: like.compatibilityFlags,
            d1Databases,
            ...(w.objectsFrom
              ? { durableObjects: { ...workerOptions.durableObjects, ...objectsFrom(w.objectsFrom) } }
              : {}),
            ...code,
          },
        ],
      }),
    );
    instances.push(mf);
    const url = await mf.ready;
    const pids = descendants(process.pid)
      .filter((p) => !before.has(p.pid) && /workerd/.test(p.comm))
      .map((p) => p.pid);
    const inspector = w.inspect ? (await mf.getInspectorURL()).href.replace(/^ws/, 'http') : undefined;
    out[w.name] = { url: url.origin, pids, inspector };
  }
  process.stdout.write(`BENCH_HOST ${JSON.stringify({ workers: out })}\n`);
} catch (err) {
  process.stderr.write(`bench host: ${err?.stack ?? err}\n`);
  await stop(1);
}
