import type { DrizzleD1Database } from 'drizzle-orm/d1';
import type * as schema from './db/schema';

/** Bindings and vars from wrangler.toml, plus secrets set with `wrangler secret put`. */
export interface Env {
  DB: D1Database;
  /** Operator secret for `/admin/*`, sent as `X-Admin-Key`. */
  ADMIN_API_KEY?: string;
  DEFAULT_MODEL?: string;
  MOCK_TOKEN_DELAY_MS?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  GEMINI_API_KEY?: string;
  GEMINI_BASE_URL?: string;
  /** Milliseconds to wait for an upstream's response headers before trying again or elsewhere. */
  UPSTREAM_TIMEOUT_MS?: string;
  /** SSE comment keep-alives before the first upstream byte, every this many ms (default 15 s). */
  KEEPALIVE_MS?: string;
  /** An upstream stream silent this long ends with an in-band error (default 60 s). */
  STREAM_IDLE_TIMEOUT_MS?: string;
  /** Seconds a job may stay pending/in_progress before the cron job fails it (default 3600). */
  JOB_TTL?: string;
  /** Available credits under which a team without its own threshold is flagged (default 10). */
  LOW_CREDIT_THRESHOLD?: string;
  /** First retry backoff in milliseconds (doubled per retry, with jitter). */
  UPSTREAM_RETRY_BASE_MS?: string;
}

export type Db = DrizzleD1Database<typeof schema> & { $client: D1Database };

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    db: Db;
    /** SHA-256 (hex) of the bearer key; the route resolves it with its own D1 batch. */
    keyHash: string;
  };
}
