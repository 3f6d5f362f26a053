import type { Config } from '../config';
import type { Db } from '../db/client';
import type { Env } from '../env';

/** What every handler sees: the bindings, and what the app's middleware sets per request. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    config: Config;
    db: Db;
    /** SHA-256 (hex) of the bearer key; the route resolves it with its own D1 batch. */
    keyHash: string;
  };
}
