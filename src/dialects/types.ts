import type { Decoder, WireFormat } from '../streaming/codec';
import type { ClientFraming, PumpOptions } from '../streaming/pump/types';

/** The upstream side of a stream, as a client dialect sees it. */
export interface UpstreamStream {
  format: WireFormat;
  decoder(): Decoder;
  /** The model the upstream served (for dialects that name it in every event). */
  model: string;
}

/**
 * A dialect clients speak on a streaming route: how its responses are framed, and how an
 * upstream's stream reaches it (relayed as it is when the upstream speaks it already, otherwise
 * decoded and re-encoded). `O` is what the client asked of the stream's form.
 */
export interface ClientDialect<O> {
  readonly headers: Readonly<Record<string, string>>;
  readonly framing: ClientFraming;
  mode(upstream: UpstreamStream, opts: O): PumpOptions['mode'];
}
