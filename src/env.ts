/**
 * The Worker's bindings, and the vars and secrets wrangler passes it as strings (`[vars]` in
 * wrangler.toml, `wrangler secret put`). Code reads settings through `configOf(env)` (config.ts),
 * which parses these once; only bindings are read from here directly.
 */
export interface Env {
  DB: D1Database;
  /** One object per resumable call: it reads the upstream, keeps the numbered events, serves every reader. */
  /** Its class, `CallStream`, types the stubs where they are used (resumable/start.ts), so this file imports nothing. */
  CALL_STREAMS: DurableObjectNamespace;
  /** One object per team: its credits, holds, keys' state and limits (accounts/account/, typed there). */
  ACCOUNTS: DurableObjectNamespace;
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
  UPSTREAM_TIMEOUT_MS?: string;
  UPSTREAM_RETRY_BASE_MS?: string;
  KEEPALIVE_MS?: string;
  STREAM_IDLE_TIMEOUT_MS?: string;
  JOB_TTL?: string;
  RESUME_TTL?: string;
  STREAM_TOKEN_TTL?: string;
  LOW_CREDIT_THRESHOLD?: string;
}
