/**
 * A resumable call's log in its object's SQLite: one `chunks` row per flush, read back event by
 * event from any point; and an object whose storage an earlier layout wrote (a row per event) is
 * still read, so a call that started before a deploy replays whole after it.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../src/core/stream-events';
import { EventLog } from '../../src/resumable/log';
import { uniqueId } from '../support/api';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const frame = (n: number) => utf8.encode(`id: ${n}\ndata: {"n":${n}}\n\n`);
const delta = (n: number): StreamEvent[] => [{ type: 'text', text: `t${n}` } as StreamEvent];
const read = (frames: Uint8Array[]) => frames.map((f) => text.decode(f));
const framesFrom = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => frame(from + i));

function inFreshObject<T>(fn: (sql: SqlStorage) => T): Promise<T> {
  const stub = env.CALL_STREAMS.get(env.CALL_STREAMS.idFromName(uniqueId('log')));
  return runInDurableObject(stub, (_instance, state) => fn(state.storage.sql));
}

const begin = (log: EventLog) =>
  log.begin({
    callId: 'call_x',
    teamId: 'team_x',
    jobId: 'job_x',
    spec: '{"dialect":"chat","includeUsage":false}',
    books: '{}',
    tokenHash: 'h',
    tokenExpiresAt: 0,
    startedAt: 0,
  });

describe('the event log', () => {
  it('stores a flush as one row and gives back exactly the events after any number', async () => {
    const out = await inFreshObject((sql) => {
      const log = EventLog.fresh(sql);
      begin(log);
      log.append(framesFrom(0, 3), [delta(0), delta(1), delta(2)]);
      log.flush();
      log.append(framesFrom(3, 5), [delta(3)]);
      log.flush();
      log.append(framesFrom(5, 6), []);
      const rows = sql.exec<{ n: number }>('SELECT count(*) AS n FROM chunks').one().n;
      const loaded = EventLog.load(sql);
      return {
        rows,
        next: loaded.next,
        after: [-1, 0, 1, 2, 3, 4, 5].map((n) => read(log.after(n))),
        loadedAfter1: read(loaded.after(1)),
        answer: loaded.answer().length,
      };
    });
    expect(out.rows).toBe(2);
    // The unflushed sixth event is not stored: a reloaded log goes on after the fifth.
    expect(out.next).toBe(5);
    const all = read(framesFrom(0, 6));
    out.after.forEach((got, i) => expect(got, `after ${i - 1}`).toEqual(all.slice(i)));
    expect(out.loadedAfter1).toEqual(all.slice(2, 5));
    expect(out.answer).toBe(4);
  });

  it('reads an object an earlier layout wrote, a row per event, and goes on after it', async () => {
    const out = await inFreshObject((sql) => {
      const log = EventLog.fresh(sql);
      begin(log);
      log.flush(); // the call row, as the earlier layout also wrote it
      sql.exec('CREATE TABLE frames (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)');
      sql.exec('CREATE TABLE answer (n INTEGER PRIMARY KEY AUTOINCREMENT, events TEXT NOT NULL)');
      sql.exec('DROP TABLE chunks');
      for (const [seq, f] of framesFrom(0, 4).entries()) sql.exec('INSERT INTO frames VALUES (?, ?)', seq, f.buffer);
      sql.exec('INSERT INTO answer (events) VALUES (?)', JSON.stringify([delta(0), delta(1)]));

      const old = EventLog.load(sql);
      const next = old.next;
      old.append(framesFrom(4, 6), [delta(4)]);
      old.flush();
      const again = EventLog.load(sql);
      return {
        next,
        after2: read(again.after(2)),
        nextAgain: again.next,
        answer: again.answer().map((batch) => batch.map((e) => (e as { text: string }).text)),
      };
    });
    expect(out.next).toBe(4);
    expect(out.after2).toEqual(read(framesFrom(3, 6)));
    expect(out.nextAgain).toBe(6);
    expect(out.answer).toEqual([['t0'], ['t1'], ['t4']]);
  });
});
