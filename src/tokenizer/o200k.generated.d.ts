// Types for the module scripts/build-tokenizer.mjs generates (gpt-tokenizer, o200k_base).
export function countTokens(text: string): number;
export function encode(text: string): number[];
