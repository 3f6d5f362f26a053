import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import type { Db } from '../env';

type Item = BatchItem<'sqlite'>;
type Items = readonly [Item, ...Item[]];

/**
 * At most this many statements go in one combined batch. A caller with more still goes alone.
 * It bounds the size of one transaction and of what one invocation sends.
 */
export const MAX_GROUP_STATEMENTS = 64;

/**
 * A caller whose statements another request sends waits on that request's I/O, which the
 * runtime does not count as the caller's own: with nothing else pending, it takes the caller
 * for hung and cancels it (a 500 in a request; silently, in `waitUntil` work such as the books).
 * An interval of the caller's own, cleared once its results are in, is work it does count.
 * Every caller sets one, the sender included: a version that spared the sender was followed
 * by lost streams in one full bench run (D1 apart), a failure not explained yet.
 */
const WAITING_TICK_MS = 10_000;

interface Waiting {
  items: Items;
  settled: boolean;
  resolve(results: unknown[]): void;
  reject(err: unknown): void;
}

/** One queue per D1 database, shared by every request the isolate serves. */
class GroupCommit {
  private readonly queue: Waiting[] = [];
  /** The combined batch on its way, if any. */
  private inFlight: Promise<void> | null = null;

  constructor(private readonly db: Db) {}

  async run(items: Items, ctx: Pick<ExecutionContext, 'waitUntil'>): Promise<unknown[]> {
    let me!: Waiting;
    const promise = new Promise<unknown[]>((resolve, reject) => (me = { items, settled: false, resolve, reject }));
    // It may be rejected while this caller still waits in the loop below, before anyone awaits it.
    promise.catch(() => {});
    this.queue.push(me);
    const waiting = setInterval(() => {}, WAITING_TICK_MS);
    try {
      // While a batch is on its way, wait; whoever finds the way clear first sends the next one,
      // for everyone queued by then. So the first caller goes at once and, under load, one
      // round trip carries many calls' statements.
      while (!me.settled) {
        if (this.inFlight) {
          await this.inFlight;
          continue;
        }
        const group = this.take();
        this.inFlight = this.send(group).finally(() => (this.inFlight = null));
        // The batch must finish even if this caller's client goes away: others wait on it.
        ctx.waitUntil(this.inFlight);
      }
      return await promise;
    } finally {
      clearInterval(waiting);
    }
  }

  /** The oldest callers whose statements fit in one batch (always at least one). */
  private take(): Waiting[] {
    let count = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || count + this.queue[n]!.items.length <= MAX_GROUP_STATEMENTS)) {
      count += this.queue[n]!.items.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /**
   * Runs the group as one D1 batch (one transaction) and hands each caller its own slice of
   * the results. Statements run in queue order, so each caller's see the writes of those
   * before it, exactly as if they had run one after another. If the combined batch fails, the
   * whole transaction is rolled back and each caller's statements run again on their own, so
   * one caller's failure is never another's.
   */
  private async send(group: Waiting[]): Promise<void> {
    const settle = (w: Waiting, fn: () => void) => {
      w.settled = true;
      fn();
    };
    try {
      const all = group.flatMap((w) => w.items) as unknown as Items;
      const results: readonly unknown[] = await this.db.batch(all);
      let at = 0;
      for (const w of group) {
        const mine = results.slice(at, (at += w.items.length));
        settle(w, () => w.resolve(mine));
      }
    } catch (err) {
      if (group.length === 1) return settle(group[0]!, () => group[0]!.reject(err));
      for (const w of group) {
        try {
          const mine = [...(await this.db.batch(w.items))];
          settle(w, () => w.resolve(mine));
        } catch (own) {
          settle(w, () => w.reject(own));
        }
      }
    }
  }
}

const queues = new WeakMap<Db, GroupCommit>();

/**
 * `db.batch(items)` for the books: the same one transaction for these statements, but sent
 * together with the batches of other requests this isolate is serving at the same moment.
 * Idle, it costs nothing (the batch leaves at once); under load, one D1 round trip carries
 * the books of many calls instead of one. A waiter resumes inside the request that sent its
 * batch, so only work that touches none of its own request's streams afterwards may use it:
 * admission does not (see admitCall).
 */
export function groupBatch<T extends Items>(
  db: Db,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  items: T,
): Promise<BatchResponse<T>> {
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = new GroupCommit(db)));
  return queue.run(items, ctx) as Promise<BatchResponse<T>>;
}
