/**
 * Anthropic- and Gemini-format behaviour of the fake upstream, chosen by request path and
 * model. Returns null for OpenAI-format requests, which fake-upstream.ts answers itself.
 *
 * Anthropic: `POST /v1/messages`, scenario by `body.model`. Gemini: `POST
 * /v1beta/models/<scenario>:streamGenerateContent?alt=sse`. Scenarios: `text` (also the
 * default), `tool`, `error` (an in-band error event), `status-429`, `status-500`; Gemini also
 * `max-tokens` (cut off by the output limit); Anthropic also `cached` (cache reads and writes).
 * Each provider's token count endpoint answers a fixed count (`COUNTED`), or a 500 for the
 * `status-500` model.
 */
import type { ServerResponse } from 'node:http';
import {
  anthropicCached,
  anthropicError,
  anthropicRateLimited,
  anthropicServerError,
  anthropicText,
  anthropicTool,
} from '../providers/fixtures/anthropic';
import {
  geminiError,
  geminiMaxTokens,
  geminiRateLimited,
  geminiServerError,
  geminiText,
  geminiTool,
} from '../providers/fixtures/gemini';
import type { Scenario } from './fake-upstream';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each event in its own write, a little apart, as a real stream arrives. */
async function stream(res: ServerResponse, events: string[]) {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  for (const e of events) {
    res.write(e);
    await sleep(2);
  }
  res.end();
}

function failWith(status: number, body: object, headers: Record<string, string> = {}): Scenario {
  return async (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

type Wire = (model: string) => string[];

function family(streams: Record<string, Wire>, rateLimited: object, serverError: object) {
  return (scenario: string): Scenario => {
    // A Retry-After longer than Sluice waits for: no retry, the client gets the 429 at once.
    if (scenario === 'status-429') return failWith(429, rateLimited, { 'retry-after': '7' });
    if (scenario === 'status-500') return failWith(500, serverError);
    const wire = streams[scenario] ?? streams.text!;
    return (_req, res) => stream(res, wire(scenario));
  };
}

const anthropic = family(
  { text: anthropicText, tool: anthropicTool, error: anthropicError, cached: anthropicCached },
  anthropicRateLimited,
  anthropicServerError,
);
const gemini = family(
  { text: geminiText, tool: geminiTool, error: geminiError, 'max-tokens': geminiMaxTokens },
  geminiRateLimited,
  geminiServerError,
);

/** Each provider's token count endpoint: a fixed count, or its 500 for the `status-500` model. */
export const COUNTED = { anthropic: 4321, gemini: 1234 };

function count(scenario: string, answer: object): Scenario {
  return scenario === 'status-500' ? failWith(500, { error: { message: 'count failed' } }) : failWith(200, answer);
}

export function providerScenario(path: string, body: Record<string, unknown>): Scenario | null {
  if (path === '/v1/messages') return anthropic(String(body.model));
  if (path === '/v1/messages/count_tokens') return count(String(body.model), { input_tokens: COUNTED.anthropic });
  const counted = /\/models\/([^/:?]+):countTokens/.exec(path)?.[1];
  if (counted !== undefined) return count(decodeURIComponent(counted), { totalTokens: COUNTED.gemini });
  const model = /\/models\/([^/:?]+):streamGenerateContent/.exec(path)?.[1];
  if (model !== undefined) return gemini(decodeURIComponent(model));
  return null;
}
