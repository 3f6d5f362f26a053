/**
 * A resumable call's storage, in its object's own SQLite: one row saying what the call is and
 * where it stands, its numbered events as the client's dialect wrote them (what a reader
 * replays, byte for byte), and the stream events they were encoded from (what a restarted object
 * folds into the answer for the books, and replays into a fresh encoder so that its last event
 * follows on from the stored ones; none when the events are the upstream's own, relayed, which
 * are read back for the answer instead). Each flush is one row of `chunks`: its events' bytes end to
 * end, their sizes, and the stream events behind them; a row per event cost a stream more in
 * storage writes than all its other work together (docs/performance.md).
 */
import type { TokenUsage } from '../core/completion';
import type { StreamEvent } from '../core/stream-events';
import { concatBytes } from '../lib/bytes';

/** Where a resumable call stands. */
export type CallState = 'streaming' | 'ended';

/** The call's row. */
export interface CallRecord {
  callId: string;
  teamId: string;
  jobId: string;
  state: CallState;
  /** The stream's form (calls/stream-spec.ts), as JSON. */
  spec: string;
  /** What the books need besides the outcome (call-stream.ts `BooksFacts`), as JSON. */
  books: string;
  tokenHash: string;
  tokenExpiresAt: number;
  startedAt: number;
  ttftMs: number | null;
  endedAt: number | null;
  /** The call's status once it ended (`success`, `error`, `client_aborted`). */
  status: string | null;
  /** The usage its books recorded, once it ended (JSON). */
  usage: string | null;
  /** The failure it ended with, if any (JSON). */
  error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS call (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  call_id TEXT NOT NULL,
  team_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  state TEXT NOT NULL,
  spec TEXT NOT NULL,
  books TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  token_expires_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ttft_ms INTEGER,
  ended_at INTEGER,
  status TEXT,
  usage TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
  first INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  data BLOB NOT NULL,
  sizes BLOB NOT NULL,
  events TEXT NOT NULL
);
`;

/**
 * Where an object written before `chunks` kept its events: a row per event, and the stream events
 * in a table of their own. Such an object (a call that started before a deploy) is still read.
 */
const LEGACY = {
  frames: 'SELECT data FROM frames WHERE seq > ? ORDER BY seq',
  answer: 'SELECT events FROM answer ORDER BY n',
};

type Row = Record<string, SqlStorageValue>;

/** The events of one flush, end to end, and each one's size, as the buffers SQLite stores. */
function packed(frames: readonly Uint8Array[]): { data: ArrayBuffer; sizes: ArrayBuffer } {
  const sizes = new Uint32Array(frames.length);
  frames.forEach((f, i) => (sizes[i] = f.byteLength));
  const bytes = concatBytes(frames);
  // A copy only when the bytes are a view into a larger buffer (a single frame, as it came).
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return { data: (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer, sizes: sizes.buffer as ArrayBuffer };
}

/** The events of a `chunks` row numbered after `after`. */
function unpacked(row: { first: number; data: ArrayBuffer; sizes: ArrayBuffer }, after: number): Uint8Array[] {
  const sizes = new Uint32Array(row.sizes);
  const out: Uint8Array[] = [];
  let at = 0;
  sizes.forEach((size, i) => {
    if (row.first + i > after) out.push(new Uint8Array(row.data, at, size));
    at += size;
  });
  return out;
}

const rowOf = (row: Row): CallRecord => ({
  callId: row.call_id as string,
  teamId: row.team_id as string,
  jobId: row.job_id as string,
  state: row.state as CallState,
  spec: row.spec as string,
  books: row.books as string,
  tokenHash: row.token_hash as string,
  tokenExpiresAt: row.token_expires_at as number,
  startedAt: row.started_at as number,
  ttftMs: row.ttft_ms as number | null,
  endedAt: row.ended_at as number | null,
  status: row.status as string | null,
  usage: row.usage as string | null,
  error: row.error as string | null,
});

/**
 * The log keeps what it has not written yet in memory and writes it in one go (`flush`), so a
 * stream costs its object a write every so often rather than one per event: a write holds back
 * everything the object sends until it is durable, and costs a commit. The object flushes often
 * enough (call-stream.ts) that at most `MAX_UNFLUSHED` events were ever sent without being stored.
 */
export class EventLog {
  /** The number the next event gets (events count from 0). */
  next = 0;
  private record: CallRecord | null = null;
  /** The call's row changed since it was last written. */
  private dirty = false;
  /** Events appended since the last flush: the first's number, then each in order. */
  private pendingFrom = 0;
  private pending: Uint8Array[] = [];
  private pendingAnswer: (readonly StreamEvent[])[] = [];

  /** The storage has the per-event tables of an earlier layout (LEGACY). */
  private legacy = false;

  private constructor(
    private readonly sql: SqlStorage,
    private stored: boolean,
  ) {}

  /**
   * The log of a call starting now, in an object that has stored nothing: storage is not touched
   * until the first flush, so starting a call costs no storage round of its own.
   */
  static fresh(sql: SqlStorage): EventLog {
    return new EventLog(sql, false);
  }

  /** The log as the object's storage has it (an object restarted, or asked about a call it ran). */
  static load(sql: SqlStorage): EventLog {
    const stored = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'call'").toArray().length > 0;
    const log = new EventLog(sql, stored);
    if (!stored) return log;
    const row = sql.exec<Row>('SELECT * FROM call').toArray()[0];
    log.record = row ? rowOf(row) : null;
    sql.exec(SCHEMA);
    log.legacy = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'frames'").toArray().length > 0;
    const next = sql
      .exec<{ next: number | null }>(
        `SELECT max(next) AS next FROM (SELECT max(first + count) AS next FROM chunks
         ${log.legacy ? 'UNION ALL SELECT max(seq) + 1 FROM frames' : ''})`,
      )
      .one().next;
    log.next = log.pendingFrom = next ?? 0;
    return log;
  }

  call(): CallRecord | null {
    return this.record;
  }

  begin(r: Omit<CallRecord, 'state' | 'ttftMs' | 'endedAt' | 'status' | 'usage' | 'error'>): void {
    this.record = { ...r, state: 'streaming', ttftMs: null, endedAt: null, status: null, usage: null, error: null };
    this.dirty = true;
  }

  /** Appends events, numbered from `next` on, and the stream events they were written from. */
  append(frames: readonly Uint8Array[], events: readonly (readonly StreamEvent[])[]): void {
    this.pending.push(...frames);
    this.pendingAnswer.push(...events);
    this.next += frames.length;
  }

  /**
   * Leaves `n` numbers unused: after a restart, the events sent but never stored had them, and a
   * reader that got them must still find what comes next after its last one.
   */
  skip(n: number): void {
    this.next += n;
    if (!this.pending.length) this.pendingFrom = this.next;
  }

  /** Events appended and not yet written. */
  get unflushed(): number {
    return this.pending.length;
  }

  /** The events numbered after `after`, in order. */
  after(after: number): Uint8Array[] {
    const legacy = this.legacy
      ? this.sql
          .exec<{ data: ArrayBuffer }>(LEGACY.frames, after)
          .toArray()
          .map((r) => new Uint8Array(r.data))
      : [];
    const stored = this.stored
      ? this.sql
          .exec<{ first: number; data: ArrayBuffer; sizes: ArrayBuffer }>(
            'SELECT first, data, sizes FROM chunks WHERE first + count > ? ORDER BY first',
            after,
          )
          .toArray()
          .flatMap((r) => unpacked(r, after))
      : [];
    return [...legacy, ...stored, ...this.pending.slice(Math.max(0, after + 1 - this.pendingFrom))];
  }

  /** The stream events written so far, in the batches the encoder took them. */
  answer(): (readonly StreamEvent[])[] {
    const read = (query: string) =>
      this.sql
        .exec<{ events: string }>(query)
        .toArray()
        .flatMap((r) => JSON.parse(r.events) as StreamEvent[][]);
    const legacy = this.legacy ? read(LEGACY.answer) : [];
    const stored = this.stored ? read('SELECT events FROM chunks ORDER BY first') : [];
    return [...legacy, ...stored, ...this.pendingAnswer];
  }

  firstByte(ttftMs: number): void {
    if (!this.record || this.record.ttftMs !== null) return;
    this.record.ttftMs = ttftMs;
    this.dirty = true;
  }

  end(end: { status: string; at: number; usage: TokenUsage; error: unknown }): void {
    if (!this.record) return;
    Object.assign(this.record, {
      state: 'ended',
      status: end.status,
      endedAt: end.at,
      usage: JSON.stringify(end.usage),
      error: end.error === null ? null : JSON.stringify(end.error),
    });
    this.dirty = true;
  }

  /** Writes the call's row if it changed, and the events appended since the last flush. */
  flush(): void {
    if (!this.dirty && !this.pending.length) return;
    if (!this.stored) {
      this.sql.exec(SCHEMA);
      this.stored = true;
    }
    const r = this.record;
    if (this.dirty && r) {
      this.sql.exec(
        `INSERT OR REPLACE INTO call (only, call_id, team_id, job_id, state, spec, books, token_hash, token_expires_at,
           started_at, ttft_ms, ended_at, status, usage, error)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        r.callId,
        r.teamId,
        r.jobId,
        r.state,
        r.spec,
        r.books,
        r.tokenHash,
        r.tokenExpiresAt,
        r.startedAt,
        r.ttftMs,
        r.endedAt,
        r.status,
        r.usage,
        r.error,
      );
      this.dirty = false;
    }
    if (this.pending.length) {
      const { data, sizes } = packed(this.pending);
      this.sql.exec(
        'INSERT INTO chunks (first, count, data, sizes, events) VALUES (?, ?, ?, ?, ?)',
        this.pendingFrom,
        this.pending.length,
        data,
        sizes,
        JSON.stringify(this.pendingAnswer),
      );
    }
    this.pendingFrom = this.next;
    this.pending = [];
    this.pendingAnswer = [];
  }
}
