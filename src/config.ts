/**
 * The environment, parsed once per isolate into typed settings. Every `[vars]` entry and secret
 * Sluice reads is named here, with its default; nothing else reads `env` for a setting. A value
 * that cannot mean what its name says (`UPSTREAM_TIMEOUT_MS="60s"`) is refused with an error that
 * names the variable, instead of turning into NaN and timing every upstream out at once.
 */
import { z } from 'zod';
import type { Env } from './env';

/** An unset or blank variable takes its default. */
const unsetIfBlank = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const whole = (unit: string, fallback: number) =>
  z.preprocess(
    unsetIfBlank,
    z
      .string()
      .trim()
      .regex(/^\d+$/, `must be a whole number of ${unit}`)
      .transform(Number)
      .optional()
      .transform((n) => n ?? fallback),
  );

const url = (fallback: string) =>
  z.preprocess(
    unsetIfBlank,
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional()
      .transform((u) => (u ?? fallback).replace(/\/+$/, '')),
  );

const secret = z.preprocess(unsetIfBlank, z.string().optional());

const Vars = z.object({
  ADMIN_API_KEY: secret,
  DEFAULT_MODEL: z.preprocess(unsetIfBlank, z.string().optional().default('mock')),
  MOCK_TOKEN_DELAY_MS: whole('milliseconds', 20),
  OPENAI_API_KEY: secret,
  OPENAI_BASE_URL: url('https://api.openai.com/v1'),
  ANTHROPIC_API_KEY: secret,
  ANTHROPIC_BASE_URL: url('https://api.anthropic.com'),
  GEMINI_API_KEY: secret,
  GEMINI_BASE_URL: url('https://generativelanguage.googleapis.com'),
  UPSTREAM_TIMEOUT_MS: whole('milliseconds', 60_000),
  UPSTREAM_RETRY_BASE_MS: whole('milliseconds', 250),
  KEEPALIVE_MS: whole('milliseconds', 15_000),
  STREAM_IDLE_TIMEOUT_MS: whole('milliseconds', 60_000),
  JOB_TTL: whole('seconds', 3600),
  RESUME_TTL: whole('seconds', 86_400),
  STREAM_TOKEN_TTL: whole('seconds', 900),
  LOW_CREDIT_THRESHOLD: whole('credits', 10),
});

/** Where one provider is reached, and with which key. */
export interface ProviderAccess {
  apiKey: string | undefined;
  /** Without a trailing `/`. */
  baseUrl: string;
}

export interface Config {
  adminApiKey: string | undefined;
  /** The alias a request that names no model gets. */
  defaultModel: string;
  mockTokenDelayMs: number;
  providers: { openai: ProviderAccess; anthropic: ProviderAccess; gemini: ProviderAccess };
  /** Time to an upstream's response headers, per attempt. */
  upstreamTimeoutMs: number;
  /** First retry backoff; doubled per retry, with jitter. */
  upstreamRetryBaseMs: number;
  /** Comment keep-alives before the first upstream byte, this often. */
  keepaliveMs: number;
  /** An upstream silent this long ends its stream with an in-band error. */
  streamIdleTimeoutMs: number;
  /** Seconds a job may stay open before the cron job fails it and releases its credit. */
  jobTtlSeconds: number;
  /** Available credits under which a team without its own threshold is flagged. */
  lowCreditThreshold: number;
  /** Seconds a resumable call's events stay replayable after it ends. */
  resumeTtlSeconds: number;
  /** Seconds a stream token (the `?token=` a browser's EventSource attaches with) stays valid. */
  streamTokenTtlSeconds: number;
}

/** The environment holds a value Sluice cannot use. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parse(env: Env): Config {
  const result = Vars.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const given = (env as unknown as Record<string, unknown>)[name];
      // Secrets are never echoed; the other variables' values help whoever fixes them.
      const shown = name.endsWith('_KEY') || typeof given !== 'string' ? '' : ` (got "${given}")`;
      return `${name} ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const v = result.data;
  return {
    adminApiKey: v.ADMIN_API_KEY,
    defaultModel: v.DEFAULT_MODEL,
    mockTokenDelayMs: v.MOCK_TOKEN_DELAY_MS,
    providers: {
      openai: { apiKey: v.OPENAI_API_KEY, baseUrl: v.OPENAI_BASE_URL },
      anthropic: { apiKey: v.ANTHROPIC_API_KEY, baseUrl: v.ANTHROPIC_BASE_URL },
      gemini: { apiKey: v.GEMINI_API_KEY, baseUrl: v.GEMINI_BASE_URL },
    },
    upstreamTimeoutMs: v.UPSTREAM_TIMEOUT_MS,
    upstreamRetryBaseMs: v.UPSTREAM_RETRY_BASE_MS,
    keepaliveMs: v.KEEPALIVE_MS,
    streamIdleTimeoutMs: v.STREAM_IDLE_TIMEOUT_MS,
    jobTtlSeconds: v.JOB_TTL,
    lowCreditThreshold: v.LOW_CREDIT_THRESHOLD,
    resumeTtlSeconds: v.RESUME_TTL,
    streamTokenTtlSeconds: v.STREAM_TOKEN_TTL,
  };
}

const parsed = new WeakMap<Env, Config>();

/** The settings of this environment, parsed on first use (an isolate keeps one `env`). */
export function configOf(env: Env): Config {
  let config = parsed.get(env);
  if (!config) parsed.set(env, (config = parse(env)));
  return config;
}
