// Before anything runs: the production bundles of Sluice (the work tree, or SLUICE_REV), of its
// baseline (BASELINE_REV) and of the reference Worker, each built the way it is deployed
// (`wrangler deploy --dry-run --outdir`); their sizes; and a fresh local D1 with the migrations
// applied and the bench's catalog rows.
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { baselineRev, bin, env, root } from './config.mjs';
import { run } from './processes.mjs';
import { sum } from './stats.mjs';

const wrangler = join(bin, 'wrangler');

/** Exports a commit with `git archive` into `dir`, beside the work tree's node_modules. */
async function exportRev(rev, dir) {
  mkdirSync(dir);
  console.error(`exporting Sluice at ${rev}...`);
  await run('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'export', root, rev, dir]);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * Builds every Worker the run needs into the scratch folder `tmp`. Resolves with Sluice's source
 * folder (`app`), the baseline's (`baselineApp`, or null), each bundle's folder and the size of
 * Sluice's bundle.
 */
export async function buildWorkers(tmp) {
  // SLUICE_REV=<commit> benchmarks that commit (exported with `git archive`) instead of the work tree.
  const app = env.SLUICE_REV ? await exportRev(env.SLUICE_REV, join(tmp, 'sluice-src')) : root;
  const baselineApp = baselineRev ? await exportRev(baselineRev, join(tmp, 'baseline-src')) : null;
  console.error('building the production bundles (wrangler deploy --dry-run)...');
  for (const dir of [app, baselineApp].filter(Boolean))
    await run('npm', ['run', '--if-present', 'prebuild'], { cwd: dir }); // generated modules, if the project has any
  const sluiceOut = join(tmp, 'sluice-dist');
  const baselineOut = join(tmp, 'baseline-dist');
  const refOut = join(tmp, 'reference-dist');
  const [sluiceBuild] = await Promise.all([
    run(wrangler, ['deploy', '--dry-run', '--outdir', sluiceOut], { cwd: app }),
    ...(baselineApp ? [run(wrangler, ['deploy', '--dry-run', '--outdir', baselineOut], { cwd: baselineApp })] : []),
    run(wrangler, ['deploy', '--dry-run', '--outdir', refOut, '--config', join(root, 'bench/reference/wrangler.toml')]),
  ]);
  return { app, baselineApp, sluiceOut, baselineOut, refOut, bundle: bundleSizes(sluiceOut, sluiceBuild) };
}

/** Modules in a `wrangler deploy --dry-run --outdir` folder, with raw and gzip sizes. */
function bundleSizes(outdir, wranglerOutput) {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.endsWith('.map') && relative(outdir, p) !== 'README.md') files.push(p);
    }
  };
  walk(outdir);
  const modules = files.map((p) => {
    const raw = readFileSync(p);
    return { module: relative(outdir, p), bytes: statSync(p).size, gzip: gzipSync(raw).length };
  });
  const main = modules.find((m) => m.module === 'index.js') ?? modules[0];
  const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(wranglerOutput);
  return {
    modules,
    worker_gzip_bytes: main.gzip,
    worker_bytes: main.bytes,
    total_bytes: sum(modules.map((m) => m.bytes)),
    total_gzip_bytes: sum(modules.map((m) => m.gzip)),
    wrangler_reported: reported ? { total_kib: Number(reported[1]), gzip_kib: Number(reported[2]) } : null,
  };
}

/**
 * A fresh local D1 under `persist`: Sluice's migrations, and the catalog rows `bench`,
 * `bench-anthropic` and `bench-gemini`, each pointing at the upstream in its provider's API.
 */
export async function freshD1(app, persist, upstreamUrl, baselineApp = null) {
  console.error('fresh local D1: migrations and the bench model row...');
  // Both revisions share the database: each one's migrations are applied (wrangler skips those
  // already applied), so the schema is the newer of the two, which the older code can use as long
  // as a migration only adds (a nullable column, an index, a table).
  for (const dir of [app, baselineApp].filter(Boolean))
    await run(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], { cwd: dir });
  await run(
    wrangler,
    [
      'd1',
      'execute',
      'DB',
      '--local',
      '--persist-to',
      persist,
      '--command',
      `INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok) VALUES ('bench', 'openai', 'bench', '${upstreamUrl}/v1', 1, 2), ('bench-anthropic', 'anthropic', 'bench', '${upstreamUrl}', 1, 2), ('bench-gemini', 'gemini', 'bench', '${upstreamUrl}', 1, 2)`,
    ],
    { cwd: app },
  );
}
