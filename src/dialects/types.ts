import type { Decoder, Encoder, WireFormat } from '../streaming/codec';
import type { EventRelay } from '../streaming/sse/relay';
import type { ClientFraming, PumpOptions } from '../streaming/pump/types';

/** The upstream side of a stream, as a client dialect sees it. */
export interface UpstreamStream {
  format: WireFormat;
  decoder(): Decoder;
  /** The model the upstream served (for dialects that name it in every event). */
  model: string;
}

/** One stream's settings, as its dialect makes them. */
export interface DialectStream {
  /** How the upstream's bytes reach the client. */
  mode: PumpOptions['mode'];
  /** What the pump itself writes to the client: keep-alives, a failure after the 200. */
  client: ClientFraming;
}

/**
 * A dialect clients speak on a streaming route: its response headers, and how an upstream's
 * stream reaches it (relayed as it is when the upstream speaks it already, otherwise decoded and
 * re-encoded). `O` is what the client asked of the stream's form. A dialect whose events are
 * numbered (the Responses API's `sequence_number`) frames the pump's own writes from the same
 * state as its encoder, so `open` makes both per stream.
 */
export interface ClientDialect<O> {
  readonly headers: Readonly<Record<string, string>>;
  open(upstream: UpstreamStream, opts: O): DialectStream;
  /**
   * The dialect's own encoder for a stream, whatever the upstream speaks, and the pump's writes
   * in the same state: a resumable stream re-encodes every upstream, so it can number each event
   * and bring a fresh encoder back to where an earlier one was.
   */
  encoding(upstream: Pick<UpstreamStream, 'model'>, opts: O): { encoder: Encoder; client: ClientFraming };
  /** Splits encoded bytes into their events, each carrying its number, from `first` on. */
  number(bytes: Uint8Array, first: number): Uint8Array[];
  /**
   * For a resumable stream, when the upstream speaks this dialect already: its own events, each
   * numbered, as `open` would relay them. Null when the upstream's events must be re-encoded.
   */
  relay(upstream: Pick<UpstreamStream, 'format'>, opts: O): EventRelay | null;
}
