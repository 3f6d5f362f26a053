/**
 * `Account`: one Durable Object per team, owning what must be exact and fast for that team: its
 * balance and ledger, the holds of its jobs and calls, its keys' state, its rate windows and its
 * streams in flight. The Worker sends it batches of the same statements it would send D1
 * (billing/, calls/, jobs/ write them); it runs each batch as one transaction in its own SQLite.
 * So a team's admission waits for nobody else's writes, and teams spread over as many objects as
 * there are teams.
 *
 * D1 stays the record: every change to a recorded table lands in the outbox (schema.ts) and is
 * copied to D1 (record.ts) right after the batch that made it, and again from the alarm until D1
 * has taken it: a D1 that is down or overloaded delays the record, it never loses it.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../../env';
import type { BoundSql, SqlResult } from '../../db/statement';
import { adoptJobs, importTeam } from './import';
import { confirmCopy, pendingCopy, writeCopy } from './record';
import { compareWithD1 } from './reconcile';
import { ACCOUNT_DDL } from './schema';

export interface RunOptions {
  /** Jobs the statements name: one the account lacks (it finished before the import) is taken from D1 first. */
  jobIds?: readonly string[];
  /**
   * `now`: resolve once D1 has the record of this batch too (or has refused it; the alarm retries).
   * `soon` (a call's admission and books): return at once; the copy follows within COPY_DELAY_MS,
   * with whatever else the account wrote meanwhile.
   */
  record: 'now' | 'soon';
  /**
   * Names the batch (a call's admission, `admission:<call id>`, or its books, `books:<call id>`;
   * `at` when it was sent first), so that the Worker may send it again after a failure that came
   * after its commit. The account runs the writes of a batch it has already run no more (each
   * reads as changing nothing); its reads run again and see what the batch left, so a replayed
   * admission answers what the first one decided. The name is kept APPLIED_TTL_MS past `at`.
   */
  once?: { key: string; at: number };
}

/**
 * How long a batch's `once` name is kept: long past the Worker's last try (about 10 s of waits,
 * accounts/account/db.ts). A team's account keeps two rows (its admission's name, its books')
 * for each call of that long.
 */
const APPLIED_TTL_MS = 5 * 60_000;
/** What each write of a batch already applied reads as. */
const NOTHING: SqlResult = { results: [], meta: { changes: 0 } };

/**
 * Whether a statement only reads. In SQLite a statement that begins with SELECT cannot write
 * (a WITH clause may lead a write, so only SELECT counts).
 */
const reads = ({ text }: BoundSql) => /^\s*SELECT\b/i.test(text);

/**
 * How long a `soon` copy waits for more to copy with it: a busy team's calls reach D1 in one batch
 * per interval, not two round trips a call, and D1 lags the account by about this much.
 */
const COPY_DELAY_MS = 100;
/** Retry delays after a failed copy: doubling from the first, up to the last. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** The alarm that backs up a copy sent at once: the object could be evicted before it lands. */
const BACKSTOP_MS = 10_000;

export class Account extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private teamId: string | null = null;
  private importing: Promise<void> | null = null;
  /** The copy to D1 running now, and the one queued behind it. */
  private copying: Promise<boolean> | null = null;
  private queued: Promise<boolean> | null = null;
  private failures = 0;
  /** After a failed copy, the next is left to the alarm until then: a D1 in trouble gets no more load from us. */
  private retryAt = 0;
  private alarmAt: number | null = null;
  private copyTimer: ReturnType<typeof setTimeout> | null = null;
  /** Where the record goes: D1 (tests put a D1 whose writes fail in its place). */
  recordTo: D1Database;
  /**
   * Tests: the answers of this many coming batches are lost after the batches ran, as the runtime
   * reports a call whose connection dropped on the way back (an error marked retryable).
   */
  loseAnswers = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(ACCOUNT_DDL);
    this.recordTo = env.DB;
  }

  /** Runs `statements` as one transaction and returns each one's rows and count of changed rows. */
  async run(teamId: string, statements: readonly BoundSql[], opts: RunOptions): Promise<SqlResult[]> {
    await this.opened(teamId);
    if (opts.jobIds?.length) await adoptJobs(this.ctx.storage, this.env.DB, teamId, [...opts.jobIds]);
    const results = this.transaction(statements, opts.once);
    if (this.hasOutbox()) {
      if (opts.record === 'now') await this.record();
      else this.recordSoon();
    }
    if (this.loseAnswers > 0) {
      this.loseAnswers--;
      throw Object.assign(new Error('Network connection lost.'), { retryable: true });
    }
    return results;
  }

  private transaction(statements: readonly BoundSql[], once: RunOptions['once']): SqlResult[] {
    return this.ctx.storage.transactionSync(() => {
      // A batch of reads alone has nothing to run twice: its name is not kept.
      const replay = once !== undefined && !statements.every(reads) && !this.firstTime(once, Date.now());
      return statements.map((s) => (replay && !reads(s) ? NOTHING : this.exec(s)));
    });
  }

  private exec({ text, params }: BoundSql): SqlResult {
    const rows = this.sql.exec(text, ...(params as SqlStorageValue[])).toArray();
    return { results: rows, meta: { changes: this.changes() } };
  }

  /**
   * Notes the batch's name as run, in the batch's transaction; false if it already was. The names
   * are ordered by `at`, so the ones past their time go in one range of the key.
   */
  private firstTime({ key, at }: { key: string; at: number }, now: number): boolean {
    this.sql.exec('DELETE FROM applied WHERE at < ?', now - APPLIED_TTL_MS);
    this.sql.exec('INSERT INTO applied (at, key) VALUES (?, ?) ON CONFLICT DO NOTHING', at, key);
    return this.changes() === 1;
  }

  private changes(): number {
    return this.sql.exec<{ n: number }>('SELECT changes() AS n').one().n;
  }

  /** The team from D1, the first time the account is used (and while D1 has no such team). */
  private async opened(teamId: string): Promise<void> {
    if (this.teamId === teamId) return;
    if (this.sql.exec('SELECT 1 FROM teams').toArray().length) {
      this.teamId = teamId;
      return;
    }
    this.importing ??= importTeam(this.ctx.storage, this.env.DB, teamId, Date.now())
      .then((found) => {
        if (found) this.teamId = teamId;
      })
      .finally(() => (this.importing = null));
    await this.importing;
  }

  private hasOutbox(): boolean {
    return this.sql.exec('SELECT 1 FROM outbox LIMIT 1').toArray().length > 0;
  }

  /**
   * Copies the outbox to D1: resolves true once everything in it when called has landed, false if
   * a copy failed (the alarm then tries again) or one failed lately (the alarm's turn). One copy
   * runs at a time; a call made while one runs waits for the next, which covers it.
   */
  record(): Promise<boolean> {
    if (this.copyTimer) clearTimeout(this.copyTimer);
    this.copyTimer = null;
    if (Date.now() < this.retryAt) return Promise.resolve(false);
    if (this.queued) return this.queued;
    if (!this.copying) return this.startCopy();
    this.queued = this.copying.then(() => {
      this.queued = null;
      return this.startCopy();
    });
    return this.queued;
  }

  /** A copy within COPY_DELAY_MS, unless one is already due or running (a running copy takes what is new before it ends). */
  private recordSoon(): void {
    if (this.copyTimer || this.copying) return;
    this.copyTimer = setTimeout(() => void this.record(), COPY_DELAY_MS);
  }

  private startCopy(): Promise<boolean> {
    const run = this.copyAll().finally(() => {
      if (this.copying === run) this.copying = null;
    });
    this.copying = run;
    return run;
  }

  private async copyAll(): Promise<boolean> {
    await this.armAlarm(Date.now() + BACKSTOP_MS);
    for (;;) {
      const copy = pendingCopy(this.sql);
      if (!copy) {
        this.failures = 0;
        return true;
      }
      try {
        await writeCopy(this.recordTo, copy);
      } catch (err) {
        this.failures++;
        const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.failures - 1));
        console.error(
          JSON.stringify({
            msg: 'account record to D1 failed; retrying',
            team_id: this.teamId,
            retry_in_ms: wait,
            error: String(err),
          }),
        );
        this.retryAt = Date.now() + wait;
        await this.armAlarm(this.retryAt, true);
        return false;
      }
      this.ctx.storage.transactionSync(() => confirmCopy(this.sql, copy));
    }
  }

  /** Sets the alarm for `at`, unless one is already set sooner (or `replace`: move it to `at`). */
  private async armAlarm(at: number, replace = false): Promise<void> {
    if (!replace && this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * Holds the account against its copy in D1, once everything it has is copied (if D1 takes it):
   * the differences found, and the outbox rows still waiting. The comparison runs with nothing
   * else running in the object, so both sides are read at one moment of the account; the copy
   * runs before it, outside: a copy already under way when the object stops taking events could
   * not finish inside (its D1 answer would wait for the object), and the wait would reset it.
   * A copy another request starts in between leaves its rows counted as waiting.
   */
  async reconcile(teamId: string): Promise<{ differences: string[]; pending: number }> {
    await this.opened(teamId);
    if (this.hasOutbox()) await this.record();
    return this.ctx.blockConcurrencyWhile(async () => {
      const pending = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM outbox').one().n;
      return { differences: await compareWithD1(this.sql, this.env.DB, teamId), pending };
    });
  }

  /**
   * Empties the account of a team being deleted, if it holds nothing: no balance, nothing held, no
   * job. Resolves false (and changes nothing) otherwise.
   */
  async close(): Promise<boolean> {
    const busy = this.sql
      .exec(
        `SELECT 1 FROM teams WHERE credits_balance <> 0 OR credits_held <> 0
         UNION ALL SELECT 1 FROM jobs UNION ALL SELECT 1 FROM credit_holds WHERE status = 'active'`,
      )
      .toArray().length;
    if (busy) return false;
    await this.ctx.storage.deleteAll();
    this.sql.exec(ACCOUNT_DDL);
    this.teamId = null;
    return true;
  }

  /** Retries the record. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.retryAt = 0;
    if (this.hasOutbox()) await this.record();
  }
}
