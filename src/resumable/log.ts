/**
 * A resumable call's storage, in its object's own SQLite: one row saying what the call is and
 * where it stands, its numbered events as the client's dialect wrote them (what a reader
 * replays, byte for byte), and the stream events they were encoded from (what a restarted object
 * folds into the answer for the books, and replays into a fresh encoder so that its last event
 * follows on from the stored ones).
 */
import type { TokenUsage } from '../core/completion';
import type { StreamEvent } from '../core/stream-events';

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
CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS answer (n INTEGER PRIMARY KEY AUTOINCREMENT, events TEXT NOT NULL);
`;

type Row = Record<string, SqlStorageValue>;

export class EventLog {
  /** The number the next event gets (events count from 0). */
  next = 0;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    const last = sql.exec<{ seq: number | null }>('SELECT max(seq) AS seq FROM frames').one().seq;
    this.next = last === null ? 0 : last + 1;
  }

  call(): CallRecord | null {
    const row = this.sql.exec<Row>('SELECT * FROM call').toArray()[0];
    if (!row) return null;
    return {
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
    };
  }

  begin(r: Omit<CallRecord, 'state' | 'ttftMs' | 'endedAt' | 'status' | 'usage' | 'error'>): void {
    this.sql.exec(
      `INSERT INTO call (only, call_id, team_id, job_id, state, spec, books, token_hash, token_expires_at, started_at)
       VALUES (1, ?, ?, ?, 'streaming', ?, ?, ?, ?, ?)`,
      r.callId,
      r.teamId,
      r.jobId,
      r.spec,
      r.books,
      r.tokenHash,
      r.tokenExpiresAt,
      r.startedAt,
    );
  }

  /**
   * Appends events, numbered from `next` on, and the stream events they were written from, in one
   * write. The object's output gate holds whatever it sends next until this write is durable, so
   * no reader sees an event a restart could lose.
   */
  append(frames: readonly Uint8Array[], events: readonly (readonly StreamEvent[])[]): void {
    for (const frame of frames) this.sql.exec('INSERT INTO frames (seq, data) VALUES (?, ?)', this.next++, frame);
    if (events.length) this.sql.exec('INSERT INTO answer (events) VALUES (?)', JSON.stringify(events));
  }

  /** The events numbered after `after`, in order. */
  after(after: number): Uint8Array[] {
    return this.sql
      .exec<{ data: ArrayBuffer }>('SELECT data FROM frames WHERE seq > ? ORDER BY seq', after)
      .toArray()
      .map((r) => new Uint8Array(r.data));
  }

  /** The stream events written so far, in the batches the encoder took them. */
  answer(): StreamEvent[][] {
    return this.sql
      .exec<{ events: string }>('SELECT events FROM answer ORDER BY n')
      .toArray()
      .flatMap((r) => JSON.parse(r.events) as StreamEvent[][]);
  }

  firstByte(ttftMs: number): void {
    this.sql.exec('UPDATE call SET ttft_ms = ? WHERE ttft_ms IS NULL', ttftMs);
  }

  end(end: { status: string; at: number; usage: TokenUsage; error: unknown }): void {
    this.sql.exec(
      "UPDATE call SET state = 'ended', status = ?, ended_at = ?, usage = ?, error = ?",
      end.status,
      end.at,
      JSON.stringify(end.usage),
      end.error === null ? null : JSON.stringify(end.error),
    );
  }
}
