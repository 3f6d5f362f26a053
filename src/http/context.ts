import type { Context } from 'hono';
import type { Config } from '../config';
import type { Env } from '../env';

/**
 * What every handler sees: the bindings, and what the app's middleware sets per request. (The
 * key middleware adds `caller` on the team surfaces: auth/middleware.ts.)
 */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
  };
}

/** Where state lives: D1 (the record and the catalog) and the teams' accounts (what moves). */
export const stores = (c: Context<AppEnv>) => ({ d1: c.env.DB, accounts: c.env.ACCOUNTS });

/** What a call needs from the request around it (calls/open.ts `CallDeps`; resumable/start.ts `StreamDeps`). */
export const callDeps = (c: Context<AppEnv>) => ({
  ...stores(c),
  config: c.var.config,
  executionCtx: c.executionCtx,
  requestSignal: c.req.raw.signal,
  callStreams: c.env.CALL_STREAMS,
});
