/**
 * The object that runs one resumable call (named by the call's id, SQLite-backed). It admits
 * the call and reads its upstream itself, so the call outlives the request that started it:
 * every event is encoded in the client's dialect (or, from an upstream that speaks it, taken as
 * the upstream wrote it), numbered, written to the object's storage and sent to every reader
 * attached at that moment. A reader can attach at any time after any event
 * it has seen; the call is settled once, when its upstream ends (or it is cancelled), whatever
 * became of its readers. If the object restarts mid-answer (a deploy, an eviction), the next
 * request or alarm finds the call still marked streaming with no upstream in hand: the stream
 * ends with an in-band error and the books record what had arrived.
 */
import { DurableObject } from 'cloudflare:workers';
import { Caller } from '../auth/caller';
import { writeBooks, type FinishedCall } from '../calls/books';
import { type AdmissionRequest } from '../calls/admission';
import { openCall, type OpenCall } from '../calls/open';
import { pumpOptions, upstreamOf } from '../calls/run';
import { type CallDialect, type StreamSpec, dialectOf } from '../calls/stream-spec';
import { configOf } from '../config';
import type { Completion, TokenUsage } from '../core/completion';
import type { StreamEvent } from '../core/stream-events';
import type { Env } from '../env';
import { ApiError, type ErrorBody } from '../errors';
import { concatBytes } from '../lib/bytes';
import { generateStreamToken, hashKey, secretsEqual } from '../lib/crypto';
import { CompletionAccumulator } from '../streaming/accumulate';
import { startPump } from '../streaming/pump/start';
import type { ClientFraming, PumpOutcome, Transcoder } from '../streaming/pump/types';
import { transcoder } from '../streaming/transcode';
import { providers } from '../providers/registry';
import { booksReader } from '../streaming/books';
import type { Decoder, Encoder } from '../streaming/codec';
import type { EventRelay } from '../streaming/sse/relay';
import { type CallRecord, type CallState, EventLog } from './log';

/** What the Worker hands the object to start a call: JSON all through. */
export interface StartRequest {
  /** The hash of the key the call was made with (the object checks it in admission, as any call does). */
  keyHash: string;
  admission: Omit<AdmissionRequest, 'caller'> & { callId: string };
  finishesJob: boolean;
  spec: StreamSpec;
}

/** An error the Worker answers with, as the object found it (an ApiError does not cross RPC whole). */
export interface Refusal {
  status: ApiError['status'];
  body: ErrorBody;
  headers: Record<string, string>;
}

export type Started =
  | { stream: ReadableStream<Uint8Array> | null; jobId: string; token: string; tokenExpiresAt: number }
  | { refusal: Refusal };

/** A call's state and its answer so far, for a reader that asks instead of streaming. */
export interface Snapshot extends Pick<BooksFacts, 'admitted' | 'served'> {
  spec: StreamSpec;
  completion: Completion;
  state: CallState;
  status: string | null;
  endedAt: number | null;
  usage: TokenUsage | null;
  error: ErrorBody['error'] | null;
}

/** Who asks to read or cancel: a team (its key, checked by the Worker) or a stream token. */
export type Access = { teamId: string } | { token: string };

/** A reader's stream; null when the call has ended and nothing follows the reader's last event. */
export type Attached =
  { stream: ReadableStream<Uint8Array> | null; dialect: StreamSpec['dialect']; jobId: string } | { refusal: Refusal };

/** What the books need besides the outcome, kept as JSON so a restarted object can write them. */
type BooksFacts = Pick<FinishedCall, 'admitted' | 'params' | 'finishesJob' | 'served' | 'attempts'>;

/** Upstream chunks the books of a relayed stream read at once: one parse a batch, not a chunk. */
const BOOKS_BATCH = 32;

/**
 * A stream whose upstream speaks the client's dialect: its own events go out numbered as they
 * come (`publish`), and the books read its bytes in batches, so nothing is decoded per chunk.
 */
function relayed(
  relay: EventRelay,
  decoder: Decoder,
  publish: (frames: Uint8Array[]) => void,
  next: () => number,
): Transcoder {
  const books = booksReader(decoder);
  let unread: Uint8Array[] = [];
  const read = () => {
    if (unread.length) books.push(concatBytes(unread));
    unread = [];
  };
  return {
    push(bytes) {
      publish(relay.push(bytes, next()));
      unread.push(bytes);
      if (unread.length >= BOOKS_BATCH) read();
      return null;
    },
    flush() {
      publish(relay.end(next()));
      return null;
    },
    result() {
      read();
      return books.finish();
    },
  };
}

const refusalOf = (err: ApiError): Refusal => ({ status: err.status, body: err.toJSON(), headers: err.headers });

const EMPTY = new Uint8Array(0);

/** A reader whose unread backlog passes this is dropped: it can attach again from storage. */
const MAX_READER_BACKLOG_BYTES = 4 * 1024 * 1024;

/** While a call streams, its alarm looks in this often, to notice a restart nobody else would. */
const WATCH_MS = 30_000;

/**
 * Events are written this long after the first one not yet stored, or at once when this many
 * wait: each write holds back what the object sends until it is durable, and costs a commit,
 * which costs the object more than everything else a second of a stream asks of it
 * (docs/performance.md). A restart loses at most the events not yet written: up to a second of
 * the answer, the same pace at which a plain stream's books read it. Readers may have had up to
 * MAX_UNFLUSHED of them.
 */
const FLUSH_MS = 1000;
const MAX_UNFLUSHED = 256;

interface Reader {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  lastWrite: number;
  /** Bytes written that the reader has not taken yet. */
  backlog: number;
}

/** The part of a call that lives only while this instance reads its upstream. */
interface Live {
  cancel: AbortController;
  /** Settles once the books are written and every reader is closed. */
  ended: Promise<void>;
}

export class CallStream extends DurableObject<Env> {
  /** The call's log: made fresh by `start`, or read from storage by whatever comes first after a restart. */
  private logged: EventLog | null = null;
  private live: Live | null = null;
  private readonly readers = new Set<Reader>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Whether the alarm that notices a restart is set for this stream. */
  private watched = false;
  /** A recovery under way (a restart found), so two requests do not both end the stream. */
  private recovering: Promise<void> | null = null;

  private get log(): EventLog {
    return (this.logged ??= EventLog.load(this.ctx.storage.sql));
  }

  private get config() {
    return configOf(this.env);
  }

  /**
   * Admits the call, opens its upstream and starts reading it. The caller is its first reader,
   * unless it runs in the background (`attach` false: a Responses background request).
   */
  async start(req: StartRequest, attach = true): Promise<Started> {
    // A call's id is new when its start is sent, so its object has nothing stored to read first.
    if (this.logged) return { refusal: refusalOf(new ApiError(409, 'conflict_error', 'conflict', 'Call exists')) };
    this.logged = EventLog.fresh(this.ctx.storage.sql);
    const cancel = new AbortController();
    const deps = {
      d1: this.env.DB,
      accounts: this.env.ACCOUNTS,
      config: this.config,
      executionCtx: this.ctx,
      requestSignal: cancel.signal,
    };
    let call: OpenCall;
    try {
      call = await openCall(
        deps,
        { ...req.admission, caller: new Caller(req.keyHash) },
        { stream: true, finishesJob: req.finishesJob },
      );
    } catch (err) {
      if (err instanceof ApiError) return { refusal: refusalOf(err) };
      throw err;
    }
    const token = generateStreamToken();
    const tokenExpiresAt = Date.now() + this.config.streamTokenTtlSeconds * 1000;
    const { admitted } = call;
    const books: BooksFacts = {
      admitted,
      params: call.params,
      finishesJob: req.finishesJob,
      served: call.upstream.model,
      attempts: call.upstream.attempts,
    };
    this.log.begin({
      callId: admitted.callId,
      teamId: admitted.team.id,
      jobId: admitted.job.id,
      spec: JSON.stringify(req.spec),
      books: JSON.stringify(books),
      tokenHash: await hashKey(token),
      tokenExpiresAt,
      startedAt: call.startedAt,
    });
    this.run(call, dialectOf(req.spec, call), cancel);
    // The call's row is stored at once, and the alarm that notices a restart set: an object reset
    // before its first flush of events still ends its stream and settles its hold.
    this.flush();
    const stream = attach ? this.attachReader(-1) : null;
    return { stream, jobId: admitted.job.id, token, tokenExpiresAt };
  }

  /** Where the call stands and the answer so far (for `GET /v1/responses/{id}`). */
  async snapshot(access: Access): Promise<Snapshot | { refusal: Refusal }> {
    const refusal = await this.refuse(access);
    if (refusal) return { refusal };
    await this.recoverIfRestarted();
    const call = this.log.call()!;
    const { facts, spec, dialect } = this.stored(call);
    return {
      spec,
      admitted: facts.admitted,
      served: facts.served,
      completion: this.storedAnswer(facts, dialect),
      state: call.state,
      status: call.status,
      endedAt: call.endedAt,
      usage: call.usage === null ? null : (JSON.parse(call.usage) as TokenUsage),
      error: call.error === null ? null : (JSON.parse(call.error) as ErrorBody['error']),
    };
  }

  /** The events after `after`, then the live ones until the call ends. */
  async attach(access: Access, after: number): Promise<Attached> {
    const refusal = await this.refuse(access);
    if (refusal) return { refusal };
    await this.recoverIfRestarted();
    const { dialect } = JSON.parse(this.log.call()!.spec) as StreamSpec;
    const stream = this.live || this.log.next > after + 1 ? this.attachReader(after) : null;
    return { stream, dialect, jobId: this.log.call()!.jobId };
  }

  /**
   * Ends the call now: its upstream is closed at once, and what it produced is recorded and
   * charged as when a client disconnects. Resolves once the books are written.
   */
  async cancel(access: Access): Promise<{ refusal?: Refusal; status: string | null }> {
    const refusal = await this.refuse(access);
    if (refusal) return { refusal, status: null };
    await this.recoverIfRestarted();
    const live = this.live;
    if (live) {
      live.cancel.abort(new Error('cancelled'));
      await live.ended;
    }
    return { status: this.log.call()?.status ?? null };
  }

  override async alarm(): Promise<void> {
    const call = this.log.call();
    if (!call) return;
    if (call.state === 'streaming') {
      if (this.live) await this.ctx.storage.setAlarm(Date.now() + WATCH_MS);
      else await this.recoverIfRestarted();
      return;
    }
    const expiresAt = (call.endedAt ?? 0) + this.config.resumeTtlSeconds * 1000;
    if (Date.now() >= expiresAt) {
      await this.ctx.storage.deleteAll();
      this.logged = null; // what it held is gone with the storage
    } else await this.ctx.storage.setAlarm(expiresAt);
  }

  /** Why `access` may not read this call, or null if it may. */
  private async refuse(access: Access): Promise<Refusal | null> {
    const call = this.log.call();
    if (!call)
      return refusalOf(
        new ApiError(
          404,
          'not_found_error',
          'call_not_resumable',
          'No resumable stream for this call: it was not resumable, or its events have expired (its record stays at GET /api/jobs/{job_id}/calls/{call_id})',
        ),
      );
    if ('teamId' in access)
      return access.teamId === call.teamId
        ? null
        : refusalOf(new ApiError(403, 'permission_error', 'forbidden', 'This call belongs to another team'));
    if (Date.now() >= call.tokenExpiresAt)
      return refusalOf(
        new ApiError(401, 'authentication_error', 'stream_token_expired', 'Stream token expired: attach with the key'),
      );
    if (!(await secretsEqual(await hashKey(access.token), call.tokenHash)))
      return refusalOf(
        new ApiError(401, 'authentication_error', 'invalid_stream_token', 'Invalid stream token for this call'),
      );
    return null;
  }

  /**
   * Reads the upstream through the dialect's encoder: each batch of events it writes is
   * numbered, stored and sent to the readers; so is the error event the pump writes when the
   * upstream fails after the first byte. The pump's own client side carries nothing anyone reads.
   */
  private run(call: OpenCall, dialect: CallDialect, cancel: AbortController) {
    const upstream = upstreamOf(call);
    const { encoder, client } = dialect.encoding(upstream);
    let taken: (readonly StreamEvent[])[] = [];
    const publish = (frames: Uint8Array[]) => {
      if (!frames.length) return;
      if (this.log.next === 0) this.log.firstByte(Date.now() - call.startedAt);
      this.publish(frames, taken);
      taken = [];
    };
    const emit = (bytes: Uint8Array | null) => {
      if (bytes?.byteLength) publish(dialect.number(bytes, this.log.next));
    };
    const relay = dialect.relay(upstream);
    let tapped: Transcoder;
    if (relay) tapped = relayed(relay, upstream.decoder(), publish, () => this.log.next);
    else {
      const inner = transcoder(upstream.decoder(), encoder, (events) => taken.push(events));
      tapped = {
        push: (bytes) => (emit(inner.push(bytes)), null),
        flush: () => (emit(inner.flush()), null),
        result: () => inner.result(),
      };
    }
    const framing: ClientFraming = { keepalive: EMPTY, error: (error) => (emit(client.error(error)), EMPTY) };
    const pump = startPump(pumpOptions(call, this.config, { transform: tapped }, framing));
    void pump.readable.pipeTo(new WritableStream()).catch(() => {});

    const settled = pump.outcome.then(async (outcome) => {
      // A cancelled call's readers learn why it stopped.
      if (outcome.status === 'client_aborted')
        emit(
          client.error({ message: 'The call was cancelled', type: 'api_error', code: 'call_cancelled', param: null }),
        );
      await this.settle(JSON.parse(this.log.call()!.books) as BooksFacts, outcome);
    });
    // An instance reset mid-answer fails here (its storage is gone from under it); the next
    // instance settles the call from what was stored.
    const ended = settled.catch((err: unknown) =>
      console.error(JSON.stringify({ msg: 'resumable call not settled here', error: String(err) })),
    );
    this.live = { cancel, ended };
    this.startHeartbeat(client.keepalive);
  }

  /** Stores numbered events (soon: see FLUSH_MS) and sends them to every reader. */
  private publish(frames: Uint8Array[], events: readonly (readonly StreamEvent[])[]) {
    this.log.append(frames, events);
    if (this.log.unflushed >= MAX_UNFLUSHED) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
    if (!this.readers.size) return;
    const bytes = concatBytes(frames);
    for (const r of this.readers) this.send(r, bytes);
  }

  /** Writes what the log holds; the first write of a stream also sets the alarm that watches it. */
  private flush() {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.log.flush();
    if (this.live && !this.watched) {
      this.watched = true;
      void this.ctx.storage.setAlarm(Date.now() + WATCH_MS);
    }
  }

  /**
   * The books, once (D1's copy landed, so a reader that sees the end can read the call back); then
   * the call is over for every reader, and its events kept until RESUME_TTL.
   */
  private async settle(facts: BooksFacts, outcome: PumpOutcome) {
    const usage = await writeBooks(this.env.ACCOUNTS, { ...facts, stream: true, outcome }, 'now');
    const now = Date.now();
    this.log.end({ status: outcome.status, at: now, usage, error: outcome.error });
    this.flush();
    this.live = null;
    this.stopHeartbeat();
    for (const r of this.readers) void r.writer.close().catch(() => {});
    this.readers.clear();
    await this.ctx.storage.setAlarm(now + this.config.resumeTtlSeconds * 1000);
  }

  /**
   * A call still marked streaming that this instance is not reading was cut off by a restart:
   * its stream ends with an in-band error after the events stored, and its books record what
   * they spell out (the hold is settled for that much, or released if it was nothing).
   */
  private recoverIfRestarted(): Promise<void> {
    const call = this.log.call();
    if (!call || call.state !== 'streaming' || this.live) return Promise.resolve();
    this.recovering ??= (async () => {
      const { facts, dialect } = this.stored(call);
      const { encoder, client } = dialect.encoding({ model: facts.served.upstreamModel });
      // The encoder is brought to where the stored events left it, so its error event follows on.
      const completion = this.storedAnswer(facts, dialect, encoder);
      const error: ErrorBody['error'] = {
        message: 'The stream was interrupted by a gateway restart; the answer so far is recorded',
        type: 'api_error',
        code: 'stream_interrupted',
        param: null,
      };
      this.log.skip(MAX_UNFLUSHED);
      this.publish(dialect.number(client.error(error), this.log.next), []);
      const outcome: PumpOutcome = {
        status: 'error',
        completion,
        ttftMs: call.ttftMs,
        latencyMs: Date.now() - call.startedAt,
        error,
      };
      await this.settle(facts, outcome);
    })();
    return this.recovering;
  }

  /** A call as its row has it: its books' facts, its stream's form and that form's dialect. */
  private stored(call: CallRecord) {
    const facts = JSON.parse(call.books) as BooksFacts;
    const spec = JSON.parse(call.spec) as StreamSpec;
    const dialect = dialectOf(spec, { admitted: facts.admitted, upstream: { model: facts.served } });
    return { facts, spec, dialect };
  }

  /**
   * The answer the events logged so far spell out: read from the events themselves where the
   * upstream's were relayed, else folded from the stream events they were encoded from (which
   * also bring `encoder`, if given, to where the logged events left it).
   */
  private storedAnswer(facts: BooksFacts, dialect: CallDialect, encoder?: Encoder): Completion {
    const provider = providers[facts.served.provider];
    if (provider && dialect.relay(provider)) {
      const books = booksReader(provider.decoder());
      for (const event of this.log.after(-1)) books.push(event);
      return books.finish();
    }
    const books = new CompletionAccumulator();
    for (const batch of this.log.answer()) {
      for (const e of batch) books.add(e);
      encoder?.encode(batch);
    }
    return books.result();
  }

  /** A reader: the stored events after `after` at once, then each new one, until the call ends. */
  private attachReader(after: number): ReadableStream<Uint8Array> {
    const { readable, writable } = new IdentityTransformStream();
    const reader: Reader = { writer: writable.getWriter(), lastWrite: Date.now(), backlog: 0 };
    const stored = this.log.after(after);
    if (stored.length) this.send(reader, concatBytes(stored));
    if (this.live) this.readers.add(reader);
    else void reader.writer.close().catch(() => {});
    return readable;
  }

  private send(r: Reader, bytes: Uint8Array) {
    r.lastWrite = Date.now();
    r.backlog += bytes.byteLength;
    r.writer.write(bytes).then(
      () => void (r.backlog -= bytes.byteLength),
      () => this.drop(r),
    );
    if (r.backlog > MAX_READER_BACKLOG_BYTES) this.drop(r);
  }

  private drop(r: Reader) {
    if (!this.readers.delete(r)) return;
    void r.writer.abort(new Error('reader fell behind or left')).catch(() => {});
  }

  /** Heartbeats for the whole stream: a reader that got nothing for KEEPALIVE_MS gets one. */
  private startHeartbeat(beat: Uint8Array) {
    const every = this.config.keepaliveMs;
    this.heartbeat = setInterval(
      () => {
        const quiet = Date.now() - every;
        for (const r of this.readers) if (r.lastWrite <= quiet) this.send(r, beat);
      },
      Math.max(10, Math.floor(every / 2)),
    );
  }

  private stopHeartbeat() {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
