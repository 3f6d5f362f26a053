import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ConfigError, configOf } from '../src/config';
import worker from '../src/index';
import type { Env } from '../src/env';

const config = (vars: Record<string, string>) => configOf({ DB: env.DB, ...vars } as Env);

describe('configuration', () => {
  it('every variable has its default when unset or blank', () => {
    const c = config({ KEEPALIVE_MS: '  ' });
    expect(c).toMatchObject({
      defaultModel: 'mock',
      mockTokenDelayMs: 20,
      upstreamTimeoutMs: 60_000,
      upstreamRetryBaseMs: 250,
      keepaliveMs: 15_000,
      streamIdleTimeoutMs: 60_000,
      jobTtlSeconds: 3600,
      lowCreditThreshold: 10,
      adminApiKey: undefined,
    });
    expect(c.providers.openai).toEqual({ apiKey: undefined, baseUrl: 'https://api.openai.com/v1' });
    expect(c.providers.anthropic.baseUrl).toBe('https://api.anthropic.com');
    expect(c.providers.gemini.baseUrl).toBe('https://generativelanguage.googleapis.com');
  });

  it('reads each variable once, as the type its name says', () => {
    const c = config({
      UPSTREAM_TIMEOUT_MS: '1500',
      JOB_TTL: '60',
      LOW_CREDIT_THRESHOLD: '0',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/',
      DEFAULT_MODEL: 'gpt-4o-mini',
    });
    expect(c.upstreamTimeoutMs).toBe(1500);
    expect(c.jobTtlSeconds).toBe(60);
    expect(c.lowCreditThreshold).toBe(0);
    expect(c.providers.openai.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(c.defaultModel).toBe('gpt-4o-mini');
  });

  it('refuses a value that cannot mean what its name says, naming the variable', () => {
    expect(() => config({ UPSTREAM_TIMEOUT_MS: '60s' })).toThrow(ConfigError);
    expect(() => config({ UPSTREAM_TIMEOUT_MS: '60s' })).toThrow(
      'Invalid configuration: UPSTREAM_TIMEOUT_MS must be a whole number of milliseconds (got "60s")',
    );
    expect(() => config({ JOB_TTL: '-5', GEMINI_BASE_URL: 'ftp://x' })).toThrow(
      'GEMINI_BASE_URL must be an http(s) URL (got "ftp://x"); JOB_TTL must be a whole number of seconds (got "-5")',
    );
  });

  it('a misconfigured gateway answers 500 naming the variable, never a secret', async () => {
    const broken = { ...env, KEEPALIVE_MS: '15 seconds', ADMIN_API_KEY: 'secret-admin-key' } as Env;
    const res = await worker.fetch(new Request('http://sluice.test/api/teams/t/credits'), broken, {
      waitUntil: () => {},
      passThroughOnException: () => {},
      props: {},
    } as unknown as ExecutionContext);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_configuration');
    expect(body.error.message).toContain('KEEPALIVE_MS must be a whole number of milliseconds (got "15 seconds")');
    expect(JSON.stringify(body)).not.toContain('secret-admin-key');
  });
});
