/**
 * What a streaming route asks of its stream's form, as data: the dialect and the options only
 * the request knows. The rest (ids, prices, the model that answered) comes from the call once it
 * is open. Being data, a spec can be handed to the object that runs a resumable call, and kept
 * there, so a restarted object forms the same stream.
 */
import type { PriceOf } from '../core/completion';
import { callCost } from '../billing/pricing';
import { anthropicMessages } from '../dialects/anthropic/dialect';
import { fallbackMessageId } from '../dialects/anthropic/encode';
import type { BufferConfig } from '../dialects/ndjson/coalesce';
import { NDJSON_HEADERS, ndjsonEvents } from '../dialects/ndjson/dialect';
import { openAIChat } from '../dialects/openai-chat/dialect';
import { openAIResponses } from '../dialects/openai-responses/dialect';
import { type ResponseEcho, responseIdentity } from '../dialects/openai-responses/encode';
import type { ClientDialect, DialectStream, UpstreamStream } from '../dialects/types';
import { SSE_HEADERS } from '../streaming/sse/encode';
import type { Encoder } from '../streaming/codec';
import type { EventRelay } from '../streaming/sse/relay';
import type { ClientFraming } from '../streaming/pump/types';
import type { Admitted } from './admission';
import type { OpenedUpstream } from './upstream';

/** What forming a call's stream needs of it: who was admitted, and the catalog entry that answers. */
export interface FormedCall {
  admitted: Admitted;
  upstream: Pick<OpenedUpstream, 'model'>;
}

export type StreamSpec =
  /** OpenAI chat chunks; the usage chunk only if the client asked for it. */
  | { dialect: 'chat'; includeUsage: boolean }
  /** Sluice's NDJSON events, their text coalesced by `buffer` when given. */
  | { dialect: 'ndjson'; buffer?: BufferConfig }
  /** Anthropic Messages events, naming the model as the client did; `inputTokens` until the upstream counts them. */
  | { dialect: 'anthropic'; model: string; inputTokens: number }
  /** Responses events, the response created at `createdAt` (Unix seconds), repeating `echo`; `background`: retrievable by id. */
  | { dialect: 'responses'; model: string; createdAt: number; echo: ResponseEcho; background?: boolean };

/** A dialect with one call's options bound: everything a pump, or a resumable call's object, needs. */
export interface CallDialect {
  headers: Readonly<Record<string, string>>;
  open(upstream: UpstreamStream): DialectStream;
  encoding(upstream: Pick<UpstreamStream, 'model'>): { encoder: Encoder; client: ClientFraming };
  number(bytes: Uint8Array, first: number): Uint8Array[];
  relay(upstream: Pick<UpstreamStream, 'format'>): EventRelay | null;
}

/**
 * Prices a usage of this call as its books will: the catalog entry that answered (after any
 * fallback), the team's rates as admitted.
 */
export const priceOf =
  (call: FormedCall): PriceOf =>
  (usage) =>
    callCost(call.upstream.model, call.admitted.team, usage);

const bind = <O>(dialect: ClientDialect<O>, opts: O): CallDialect => ({
  headers: dialect.headers,
  open: (upstream) => dialect.open(upstream, opts),
  encoding: (upstream) => dialect.encoding(upstream, opts),
  number: (bytes, first) => dialect.number(bytes, first),
  relay: (upstream) => dialect.relay(upstream, opts),
});

/** The stream's dialect for this call, its options complete. */
export function dialectOf(spec: StreamSpec, call: FormedCall): CallDialect {
  const cost = priceOf(call);
  const { callId, job, model } = call.admitted;
  switch (spec.dialect) {
    case 'chat':
      return bind(openAIChat, { includeUsage: spec.includeUsage, cost });
    case 'ndjson':
      return bind(ndjsonEvents, { jobId: job.id, callId, model: model.alias, cost, buffer: spec.buffer });
    case 'anthropic':
      return bind(anthropicMessages, {
        model: spec.model,
        fallbackId: fallbackMessageId(callId),
        inputTokens: spec.inputTokens,
        cost,
      });
    case 'responses':
      return bind(openAIResponses, { ...responseIdentity(callId, spec), cost });
  }
}

/** The response headers of a stream of this form. */
export const headersOf = (dialect: StreamSpec['dialect']) => (dialect === 'ndjson' ? NDJSON_HEADERS : SSE_HEADERS);
