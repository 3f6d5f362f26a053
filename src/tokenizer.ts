/**
 * Loads the tokenizer module (scripts/build-tokenizer.mjs builds it; wrangler uploads it as its
 * own module, see `rules` in wrangler.toml). This file sits at the root of src/ on purpose: the
 * relative specifier below then names the same file from the source tree (tests, wrangler dev)
 * and from the bundle's root (production), and because it is not a literal, the bundler leaves
 * the import alone instead of inlining ~2.7 MB of rank tables into the Worker's own code.
 */
export interface Tokenizer {
  countTokens(text: string): number;
}

const TOKENIZER_MODULE = './tokenizer/o200k.generated.js';

let loading: Promise<Tokenizer> | null = null;

export const loadTokenizer = (): Promise<Tokenizer> =>
  (loading ??= import(/* @vite-ignore */ TOKENIZER_MODULE) as Promise<Tokenizer>);
