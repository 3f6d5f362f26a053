#!/usr/bin/env node
// Bundles gpt-tokenizer's o200k_base encoding into one ES module, src/tokenizer/o200k.generated.js.
// wrangler uploads it as its own module (see `rules` in wrangler.toml) and Sluice imports it lazily,
// only when an upstream sent no usage, so cold starts never evaluate its ~2 MB of rank tables.
import { build } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'src', 'tokenizer', 'o200k.generated.js');
const pkg = createRequire(import.meta.url).resolve('gpt-tokenizer/package.json');

if (existsSync(out) && statSync(out).mtimeMs > statSync(pkg).mtimeMs) process.exit(0);

await build({
  stdin: { contents: "export { countTokens, encode } from 'gpt-tokenizer/encoding/o200k_base';", resolveDir: root },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  minify: true,
  legalComments: 'inline',
  outfile: out,
  logLevel: 'warning',
});
console.log('tokenizer module built:', out);
