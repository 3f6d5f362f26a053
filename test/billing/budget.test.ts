/**
 * Both sides of each budget mode held together: the hold admission takes (SQL, run here in D1
 * exactly as admission runs it) and the charge settlement makes (TypeScript). For every mode,
 * rate, price (cache prices included) and token count, a call that produces no more output
 * tokens than it was allowed is charged no more than it held, however its prompt splits into
 * cache reads, cache writes and the rest; the hold is the charge when the prompt has no cache
 * classes and no cache price is above the input price; and the output a team is allowed when
 * it sets no `max_tokens` is the most its available credits cover.
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
  /** Null: the input price. */
  cachedPrice: number | null;
  writePrice: number | null;
  prompt: number;
}

/** How a prompt turned out to split: cache reads and writes (the rest is uncached). */
interface Split {
  cached: number;
  written: number;
}
const NO_CACHE: Split = { cached: 0, written: 0 };

// Columns typed as the tables type them: REAL rates and prices, INTEGER counts.
const TEAM_AND_MODEL = `(SELECT :mode AS budget_mode, CAST(:tpc AS INTEGER) AS tokens_per_credit,
    CAST(:cpd AS REAL) AS credits_per_dollar, CAST(:balance AS INTEGER) AS credits_balance, 0 AS credits_held) t,
  (SELECT CAST(:ip AS REAL) AS input_price_per_mtok, CAST(:op AS REAL) AS output_price_per_mtok,
    CAST(:cp AS REAL) AS cached_input_price_per_mtok, CAST(:wp AS REAL) AS cache_write_price_per_mtok) m`;

const holdQuery = namedSql(`SELECT ${callHoldSql(':o')} AS credits FROM ${TEAM_AND_MODEL}`);
const affordableQuery = namedSql(`SELECT ${AFFORDABLE_OUTPUT_SQL} AS tokens FROM ${TEAM_AND_MODEL}`);

const values = (c: Case, extra: Record<string, number>): Record<string, number | string | null> => ({
  mode: c.mode,
  tpc: c.tokensPerCredit,
  cpd: c.creditsPerDollar,
  ip: c.inputPrice,
  op: c.outputPrice,
  cp: c.cachedPrice,
  wp: c.writePrice,
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

const charge = (c: Case, completion: number, split: Split = NO_CACHE) =>
  callCredits(
    { budgetMode: c.mode, tokensPerCredit: c.tokensPerCredit, creditsPerDollar: c.creditsPerDollar },
    {
      inputPricePerMtok: c.inputPrice,
      outputPricePerMtok: c.outputPrice,
      cachedInputPricePerMtok: c.cachedPrice,
      cacheWritePricePerMtok: c.writePrice,
    },
    { input: c.prompt, cachedInput: split.cached, cacheWrite: split.written, output: completion },
  );

/** A cache class priced above the input: the hold then prices every prompt token at it. */
const dearCache = (c: Case) =>
  (c.cachedPrice ?? c.inputPrice) > c.inputPrice || (c.writePrice ?? c.inputPrice) > c.inputPrice;

/** The split that costs most: the whole prompt in its dearest class. */
function dearestSplit(c: Case): Split {
  const cached = c.cachedPrice ?? c.inputPrice;
  const written = c.writePrice ?? c.inputPrice;
  if (written > c.inputPrice && written >= cached) return { cached: 0, written: c.prompt };
  if (cached > c.inputPrice) return { cached: c.prompt, written: 0 };
  return NO_CACHE;
}

/** A catalog price in USD per million tokens: free, round, or with cents. */
const price = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: 100_000 }).map((cents) => cents / 100),
  fc.double({ min: 0.001, max: 1_000_000, noNaN: true }),
);

/** A cache price: none (the input price), the input price itself, a list-price ratio of it, or any price. */
const cachePrice = (input: number) =>
  fc.oneof(
    fc.constant(null),
    fc.constant(input),
    fc.constantFrom(0.1, 0.25, 0.5, 1.25, 2).map((ratio) => input * ratio),
    price,
  );

const cases: fc.Arbitrary<Case> = fc
  .record({
    mode: fc.constantFrom<Mode>('consumption_tokens', 'consumption_usd'),
    tokensPerCredit: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1_000_000_000 })),
    creditsPerDollar: fc.oneof(
      fc.integer({ min: 1, max: 10_000 }),
      fc.double({ min: 0.01, max: 1_000_000_000, noNaN: true }),
    ),
    inputPrice: price,
    outputPrice: price,
    prompt: fc.integer({ min: 0, max: 1_000_000 }),
  })
  .chain((c) =>
    fc
      .record({ cachedPrice: cachePrice(c.inputPrice), writePrice: cachePrice(c.inputPrice) })
      .map((prices) => ({ ...c, ...prices })),
  );

/** Shares of the prompt read from and written to the cache, turned into token counts. */
const splitOf = (c: Case, [read, write]: [number, number]): Split => {
  const cached = Math.floor(c.prompt * read);
  return { cached, written: Math.floor((c.prompt - cached) * write) };
};
const shares = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }));

describe('a budget mode’s hold and its charge', () => {
  it('the hold for N output tokens covers the charge for N or fewer, however the prompt splits into cache classes', async () => {
    await fc.assert(
      fc.asyncProperty(
        cases,
        fc.integer({ min: 1, max: 200_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        shares,
        async (c, allowed, share, split) => {
          const produced = Math.floor(allowed * share);
          const cache = splitOf(c, split);
          const held = await hold(c, allowed);
          // No cache classes and no cache price above the input price: the hold is the charge.
          if (c.mode === 'consumption_tokens' || !dearCache(c)) expect(held).toBe(charge(c, allowed));
          // The prompt all in its dearest class is what the hold assumed: the charge is the hold.
          expect(held).toBe(charge(c, allowed, dearestSplit(c)));
          // Any other split, and any fewer output tokens, cost no more.
          expect(held).toBeGreaterThanOrEqual(charge(c, allowed));
          expect(held).toBeGreaterThanOrEqual(charge(c, allowed, cache));
          expect(held).toBeGreaterThanOrEqual(charge(c, produced, cache));
          expect(charge(c, produced, cache)).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('with no cache prices in the catalog, how the prompt splits changes nothing, to the last bit', () => {
    // Pure arithmetic, so many runs, over both the usual cases and huge ones: where a credit
    // count passes about 1e8, one ulp of it is more than EPSILON, and a charge summed class by
    // class (rounding differently from the hold's single product) would land above the hold.
    const huge = fc.record({
      mode: fc.constant<Mode>('consumption_usd'),
      tokensPerCredit: fc.constant(1),
      creditsPerDollar: fc.integer({ min: 1_000_000, max: 1_000_000_000 }),
      inputPrice: fc.integer({ min: 1, max: 100_000_000 }).map((cents) => cents / 100),
      outputPrice: price,
      prompt: fc.integer({ min: 0, max: 1_000_000 }),
    });
    fc.assert(
      fc.property(
        fc.oneof(cases, huge).map((c) => ({ ...c, cachedPrice: null, writePrice: null })),
        fc.integer({ min: 0, max: 200_000 }),
        shares,
        (c, output, split) => {
          expect(charge(c, output, splitOf(c, split))).toBe(charge(c, output));
        },
      ),
      { numRuns: 20_000 },
    );
  });

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
      cachedPrice: null,
      writePrice: null,
      prompt: 9,
    };
    expect(await affordable(c, 100)).toBe(991);
    expect(await hold(c, 991)).toBe(100);
    expect(await hold(c, 992)).toBe(101);
    expect(charge(c, 31)).toBe(4);
  });

  it('spelled out: a prompt that may all be cache writes at 1.25x is held at 1.25x, and charged by what it was', async () => {
    // $3/M in, $15/M out, cache reads $0.30/M, writes $3.75/M; 1,000 credits a dollar.
    const c: Case = {
      mode: 'consumption_usd',
      tokensPerCredit: 1,
      creditsPerDollar: 1000,
      inputPrice: 3,
      outputPrice: 15,
      cachedPrice: 0.3,
      writePrice: 3.75,
      prompt: 4200,
    };
    // 4,200 x $3.75 + 50 x $15 = $0.01650: 17 credits held.
    expect(await hold(c, 50)).toBe(17);
    // 200 x $3 + 3,000 x $0.30 + 1,000 x $3.75 + 50 x $15 = $0.006: 6 credits.
    expect(charge(c, 50, { cached: 3000, written: 1000 })).toBe(6);
    // The same prompt with no cache prices in the catalog: 4,200 x $3 + 50 x $15 = $0.01335.
    const plain = { ...c, cachedPrice: null, writePrice: null };
    expect(await hold(plain, 50)).toBe(14);
    expect(charge(plain, 50, { cached: 3000, written: 1000 })).toBe(14);
  });
});
