import { anthropic } from './anthropic';
import { gemini } from './gemini';
import { mock } from './mock';
import { openai } from './openai';
import type { Provider } from './types';

/** Every provider Sluice can route to, by the name used in the model catalog. */
export const providers: Record<string, Provider> = {
  mock,
  openai,
  anthropic,
  gemini,
};

/** The names a catalog entry may give as its provider. */
export const PROVIDER_NAMES = Object.keys(providers) as [string, ...string[]];
