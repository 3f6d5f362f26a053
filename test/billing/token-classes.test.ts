/**
 * Billing by token class, end to end: an upstream reports how much of the prompt came from or
 * went to its cache and how much of the answer was reasoning; the call row keeps those counts,
 * its cost prices each class at the catalog's price for it (the input price where the catalog
 * sets none), and a consumption_usd team's ledger is charged exactly that.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { callCost } from '../../src/billing/pricing';
import { books, callRows, get, ledger, post, setTeam, setupTeam, uniqueId, user } from '../support/api';

interface Prices {
  input: number;
  output: number;
  cachedInput: number | null;
  cacheWrite: number | null;
}

/** A catalog alias on the fake upstream, speaking `provider`'s API, with these list prices. */
async function pricedModel(provider: 'openai' | 'anthropic', scenario: string, p: Prices) {
  const alias = uniqueId(`${provider}-${scenario}`);
  const baseUrl = provider === 'openai' ? `${env.UPSTREAM_URL}/v1` : env.UPSTREAM_URL;
  await env.DB.prepare(
    `INSERT INTO models (alias, provider, upstream_model, base_url, input_price_per_mtok, output_price_per_mtok,
       cached_input_price_per_mtok, cache_write_price_per_mtok) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(alias, provider, scenario, baseUrl, p.input, p.output, p.cachedInput, p.cacheWrite)
    .run();
  return alias;
}

/** One call on a fresh consumption_usd team (1,000 credits a dollar): its job id, call row and usage ledger rows. */
async function callOnUsdTeam(model: string) {
  const { teamId, key } = await setupTeam(1000);
  await setTeam(teamId, { budget_mode: 'consumption_usd', credits_per_dollar: 1000 });
  const res = await post(
    '/api/jobs/create-and-call',
    { team_id: teamId, job_type: 'x', model, messages: user('x'), max_tokens: 1000 },
    key,
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as { job_id: string; call_id: string };
  const [call] = await callRows(body.job_id);
  const usage = (await ledger(teamId)).filter((r) => r.kind === 'usage');
  return { teamId, key, jobId: body.job_id, callId: body.call_id, call: call!, usage, books: await books(teamId) };
}

const SONNET: Prices = { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 };
const GPT_4O: Prices = { input: 2.5, output: 10, cachedInput: 1.25, cacheWrite: null };

describe('an Anthropic upstream reporting cache reads and writes', () => {
  it('stores the classes on the call row and charges each at its price', async () => {
    const {
      call,
      usage,
      books: after,
      callId,
      jobId,
    } = await callOnUsdTeam(await pricedModel('anthropic', 'cached', SONNET));
    expect(call).toMatchObject({
      prompt_tokens: 4200,
      cached_input_tokens: 3000,
      cache_write_tokens: 1000,
      completion_tokens: 50,
      reasoning_tokens: 0,
      usage_source: 'provider',
      // 200 x $3 + 3,000 x $0.30 + 1,000 x $3.75 + 50 x $15, per million tokens.
      cost_usd: 0.006,
    });
    expect(usage).toEqual([{ kind: 'usage', amount: -6, job_id: jobId, call_id: callId, reason: 'call usage' }]);
    expect(after).toEqual({ balance: 994, held: 0, ledgerSum: 994, activeHolds: 0 });
  });

  it('charges every prompt token the input price on a model with no cache prices', async () => {
    const {
      call,
      usage,
      books: after,
    } = await callOnUsdTeam(
      await pricedModel('anthropic', 'cached', { ...SONNET, cachedInput: null, cacheWrite: null }),
    );
    expect(call).toMatchObject({ prompt_tokens: 4200, cached_input_tokens: 3000, cache_write_tokens: 1000 });
    // 4,200 x $3 + 50 x $15 = $0.01335: 14 credits.
    expect(call.cost_usd).toBe(0.01335);
    expect(usage.map((r) => r.amount)).toEqual([-14]);
    expect(after).toMatchObject({ balance: 986, ledgerSum: 986, held: 0 });
  });
});

describe('an OpenAI upstream reporting cached prompt tokens and reasoning tokens', () => {
  it('stores the classes on the call row, charges cached tokens their price and reasoning as output', async () => {
    const {
      call,
      usage,
      books: after,
      key,
      jobId,
      callId,
    } = await callOnUsdTeam(await pricedModel('openai', 'cached-reasoning', GPT_4O));
    expect(call).toMatchObject({
      prompt_tokens: 2000,
      cached_input_tokens: 1536,
      cache_write_tokens: 0,
      completion_tokens: 300,
      reasoning_tokens: 256,
      // 464 x $2.50 + 1,536 x $1.25 + 300 x $10, per million tokens = $0.00608: 7 credits.
      cost_usd: 0.00608,
    });
    expect(usage.map((r) => r.amount)).toEqual([-7]);
    expect(after).toMatchObject({ balance: 993, ledgerSum: 993, held: 0 });

    // And the API shows the classes next to the totals.
    const shown = (await (await get(`/api/jobs/${jobId}/calls/${callId}`, key)).json()) as Record<string, unknown>;
    expect(shown).toMatchObject({
      prompt_tokens: 2000,
      completion_tokens: 300,
      cached_tokens: 1536,
      cache_write_tokens: 0,
      reasoning_tokens: 256,
      cost_usd: 0.00608,
    });
  });

  it('charges cached tokens the input price on a model with no cached-input price', async () => {
    const { call, usage } = await callOnUsdTeam(
      await pricedModel('openai', 'cached-reasoning', { ...GPT_4O, cachedInput: null }),
    );
    expect(call).toMatchObject({ cached_input_tokens: 1536, reasoning_tokens: 256, cost_usd: 0.008 });
    expect(usage.map((r) => r.amount)).toEqual([-8]);
  });
});

describe('callCost, for a final usage report', () => {
  const prices = {
    inputPricePerMtok: 3,
    outputPricePerMtok: 15,
    cachedInputPricePerMtok: 0.3,
    cacheWritePricePerMtok: 3.75,
  };
  const usage = { input: 4200, cachedInput: 3000, cacheWrite: 1000, output: 50, reasoning: 0 };
  const rates = { creditsPerDollar: 1000, tokensPerCredit: 100 };

  it('states the list-price USD and the credits each budget mode charges', () => {
    expect(callCost(prices, { ...rates, budgetMode: 'consumption_usd' }, usage)).toEqual({
      costUsd: 0.006,
      credits: 6,
    });
    // consumption_tokens counts every token alike: ceil(4,250 / 100).
    expect(callCost(prices, { ...rates, budgetMode: 'consumption_tokens' }, usage)).toEqual({
      costUsd: 0.006,
      credits: 43,
    });
    // job_based: the job pays, not the call.
    expect(callCost(prices, { ...rates, budgetMode: 'job_based' }, usage)).toEqual({ costUsd: 0.006, credits: 0 });
  });

  it('believes an upstream about its whole prompt when its classes add up to more', () => {
    const odd = { ...usage, cachedInput: 5000, cacheWrite: 1000 };
    // All 4,200 prompt tokens as cache reads: 4,200 x $0.30 + 50 x $15 = $0.00201.
    expect(callCost(prices, { ...rates, budgetMode: 'consumption_usd' }, odd)).toEqual({
      costUsd: 0.00201,
      credits: 3,
    });
  });
});
