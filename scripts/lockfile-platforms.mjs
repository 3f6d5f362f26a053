#!/usr/bin/env node
// The registry this project installs from has no macOS/Windows builds of workerd, so `npm install`
// leaves them out of package-lock.json and `npm ci` then refuses the lockfile as out of sync.
// This records them as optional, platform-bound entries (never fetched on Linux) so `npm ci`
// accepts the lockfile. Run it after any `npm install` that rewrites the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
const platforms = {
  'darwin-64': ['darwin', 'x64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'windows-64': ['win32', 'x64'],
};
let added = 0;
for (const [name, entry] of Object.entries(pkgs)) {
  if (!name.endsWith('node_modules/workerd')) continue;
  for (const [suffix, [os, cpu]] of Object.entries(platforms)) {
    const dep = `@cloudflare/workerd-${suffix}`;
    const key = `${name.slice(0, -'workerd'.length)}${dep}`;
    if (!entry.optionalDependencies?.[dep] || pkgs[key]) continue;
    pkgs[key] = {
      version: entry.optionalDependencies[dep],
      cpu: [cpu],
      dev: true,
      license: 'Apache-2.0',
      optional: true,
      os: [os],
      engines: { node: '>=16' },
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile: ${added} platform entries added`);
