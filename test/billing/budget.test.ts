/**
 * Both sides of each budget mode held together: the hold admission takes (SQL, run here in D1
 * exactly as admission runs it) and the charge settlement makes (TypeScript). For every mode,
 * rate, price and token count, a call that produces no more output tokens than it was allowed
 * is charged no more than it held; and the output a team is allowed when it sets no
 * `max_tokens` is the most its available credits cover.
 */
import { env } from 'cloudflare:test';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AFFORDABLE_OUTPUT_SQL, UNLIMITED, callCredits, callHoldSql } from '../../src/billing/budget';
import { namedSql, rows, run } from '../../src/db/statement';

type Mode = 'consumption_tokens' | 'consumption_usd';

interface Case {
  mode: Mode;
  tokensPerCredit: number;
  creditsPerDollar: number;
  inputPrice: number;
  outputPrice: number;
  prompt: number;
}

// Columns typed as the tables type them: REAL rates and prices, INTEGER counts.
const TEAM_AND_MODEL = `(SELECT :mode AS budget_mode, CAST(:tpc AS INTEGER) AS tokens_per_credit,
    CAST(:cpd AS REAL) AS credits_per_dollar, CAST(:balance AS INTEGER) AS credits_balance, 0 AS credits_held) t,
  (SELECT CAST(:ip AS REAL) AS input_price_per_mtok, CAST(:op AS REAL) AS output_price_per_mtok) m`;

const holdQuery = namedSql(`SELECT ${callHoldSql(':o')} AS credits FROM ${TEAM_AND_MODEL}`);
const affordableQuery = namedSql(`SELECT ${AFFORDABLE_OUTPUT_SQL} AS tokens FROM ${TEAM_AND_MODEL}`);

const values = (c: Case, extra: Record<string, number>) => ({
  mode: c.mode,
  tpc: c.tokensPerCredit,
  cpd: c.creditsPerDollar,
  ip: c.inputPrice,
  op: c.outputPrice,
  p: c.prompt,
  balance: 0,
  o: 0,
  ...extra,
});

async function hold(c: Case, output: number): Promise<number> {
  const [row] = await run(env.DB, rows<{ credits: number }>(holdQuery, values(c, { o: output })));
  return row!.credits;
}

async function affordable(c: Case, available: number): Promise<number> {
  const [row] = await run(env.DB, rows<{ tokens: number }>(affordableQuery, values(c, { balance: available })));
  return row!.tokens;
}

const charge = (c: Case, completion: number) =>
  callCredits(
    { budgetMode: c.mode, tokensPerCredit: c.tokensPerCredit, creditsPerDollar: c.creditsPerDollar },
    { inputPricePerMtok: c.inputPrice, outputPricePerMtok: c.outputPrice },
    { input: c.prompt, output: completion },
  );

/** A catalog price in USD per million tokens: free, round, or with cents. */
const price = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: 100_000 }).map((cents) => cents / 100),
  fc.double({ min: 0.001, max: 1_000_000, noNaN: true }),
);

const cases: fc.Arbitrary<Case> = fc.record({
  mode: fc.constantFrom<Mode>('consumption_tokens', 'consumption_usd'),
  tokensPerCredit: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1_000_000_000 })),
  creditsPerDollar: fc.oneof(
    fc.integer({ min: 1, max: 10_000 }),
    fc.double({ min: 0.01, max: 1_000_000_000, noNaN: true }),
  ),
  inputPrice: price,
  outputPrice: price,
  prompt: fc.integer({ min: 0, max: 1_000_000 }),
});

describe('a budget mode’s hold and its charge', () => {
  it('the hold for N output tokens is the charge for N, and covers the charge for any fewer', async () => {
    await fc.assert(
      fc.asyncProperty(
        cases,
        fc.integer({ min: 1, max: 200_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (c, allowed, share) => {
          const produced = Math.floor(allowed * share);
          const held = await hold(c, allowed);
          expect(held).toBe(charge(c, allowed));
          expect(held).toBeGreaterThanOrEqual(charge(c, produced));
          expect(charge(c, produced)).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('without max_tokens, a call is allowed the most output its team can afford, and no more', async () => {
    await fc.assert(
      fc.asyncProperty(cases, fc.integer({ min: 0, max: 1_000_000 }), async (c, available) => {
        const tokens = await affordable(c, available);
        if (tokens >= 1) {
          expect(await hold(c, tokens)).toBeLessThanOrEqual(available);
          // One more would not fit, unless the output is free (then only the prompt counts) or
          // more than any model produces is affordable.
          expect(tokens).toBeLessThanOrEqual(UNLIMITED);
          if (tokens < UNLIMITED) expect(await hold(c, tokens + 1)).toBeGreaterThan(available);
        } else {
          expect(await hold(c, 1)).toBeGreaterThan(available);
        }
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('spelled out: 100 credits at 10 tokens a credit afford 1,000 tokens of prompt and answer', async () => {
    const c: Case = {
      mode: 'consumption_tokens',
      tokensPerCredit: 10,
      creditsPerDollar: 100,
      inputPrice: 0,
      outputPrice: 0,
      prompt: 9,
    };
    expect(await affordable(c, 100)).toBe(991);
    expect(await hold(c, 991)).toBe(100);
    expect(await hold(c, 992)).toBe(101);
    expect(charge(c, 31)).toBe(4);
  });
});
