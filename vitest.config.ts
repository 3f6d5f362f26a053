import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
                UPSTREAM_URL: inject('upstreamUrl'),
                ADMIN_API_KEY: 'test-admin-key',
                MOCK_TOKEN_DELAY_MS: '1',
                OPENAI_API_KEY: 'sk-upstream-test',
                ANTHROPIC_API_KEY: 'sk-ant-test',
                GEMINI_API_KEY: 'gm-test',
                UPSTREAM_TIMEOUT_MS: '1000',
                UPSTREAM_RETRY_BASE_MS: '5',
                KEEPALIVE_MS: '100',
                STREAM_IDLE_TIMEOUT_MS: '500',
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/apply-migrations.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
