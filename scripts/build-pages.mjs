#!/usr/bin/env node
// Bundles the browser pages' scripts (public/src/*.ts, which import the typed client from
// src/client) into public/dist/, where the Worker serves them as static assets. public/dist/
// is generated: git and Prettier ignore it. `npm start` runs this first; so does `npm run build:client`.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const result = await build({
  absWorkingDir: root,
  entryPoints: ['public/src/chat.ts', 'public/src/dashboard.ts'],
  outdir: 'public/dist',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  // Error classes are told apart by name in messages; keep them through minification.
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  write: false,
});

// Several `npm start`s (the end-to-end tests run three) may build at once while a running
// gateway serves these files: write only what changed, and atomically.
for (const file of result.outputFiles) {
  let same = false;
  try {
    same = readFileSync(file.path).equals(file.contents);
  } catch {}
  if (same) continue;
  mkdirSync(dirname(file.path), { recursive: true });
  const tmp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, file.path);
}
