import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { accountStub } from '../../src/accounts/account/db';
import { setupTeam } from '../support/api';

/** The tables an account shares with D1: the statements that move credits run in both. */
const SHARED = [
  'teams',
  'api_keys',
  'models',
  'jobs',
  'llm_calls',
  'credit_holds',
  'credit_ledger',
  'rate_windows',
  'active_streams',
];

describe("an account's tables", () => {
  it('have the columns D1 has, so the same statements run in both and a row copies whole', async () => {
    const { teamId } = await setupTeam(1);
    for (const table of SHARED) {
      const { results } = await env.DB.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY name`)
        .bind(table)
        .all<{ name: string }>();
      const inAccount = await runInDurableObject(accountStub(env.ACCOUNTS, teamId), (_, state) =>
        state.storage.sql
          .exec<{ name: string }>('SELECT name FROM pragma_table_info(?) ORDER BY name', table)
          .toArray(),
      );
      expect(
        inAccount.map((c) => c.name),
        table,
      ).toEqual(results.map((c) => c.name));
    }
  });
});
