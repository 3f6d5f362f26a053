import { env } from 'cloudflare:test';
import { eq, inArray } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it } from 'vitest';
import { MAX_GROUP_STATEMENTS, groupBatch } from '../../src/db/group-commit';
import * as schema from '../../src/db/schema';
import { organizations } from '../../src/db/schema';
import type { Db } from '../../src/env';

/** A fresh client (so a fresh queue) whose round trips to D1 are counted. */
function countingDb() {
  const db = drizzle(env.DB, { schema }) as Db;
  const sizes: number[] = [];
  const batch = db.batch.bind(db);
  db.batch = ((items: Parameters<typeof batch>[0]) => {
    sizes.push(items.length);
    return batch(items);
  }) as unknown as typeof db.batch;
  return { db, sizes };
}

const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => {}) };
const org = (db: Db, id: string) => db.insert(organizations).values({ id, name: id });
const read = (db: Db, id: string) => db.select().from(organizations).where(eq(organizations.id, id));

describe('group commit of D1 batches', () => {
  it('the first caller goes at once; callers arriving meanwhile share the next round trip', async () => {
    const { db, sizes } = countingDb();
    const ids = Array.from({ length: 5 }, () => `org_${crypto.randomUUID()}`);
    const results = await Promise.all(ids.map((id) => groupBatch(db, ctx, [org(db, id), read(db, id)])));
    // Each caller gets its own results, in its own order.
    results.forEach(([, rows], i) => expect(rows).toEqual([expect.objectContaining({ id: ids[i], name: ids[i] })]));
    expect(sizes).toEqual([2, 8]);
  });

  it('statements run in queue order: a caller sees the writes of callers before it', async () => {
    const { db } = countingDb();
    const id = `org_${crypto.randomUUID()}`;
    const [, [, seen]] = await Promise.all([
      groupBatch(db, ctx, [org(db, `org_${crypto.randomUUID()}`)]),
      groupBatch(db, ctx, [org(db, id), read(db, id)]),
    ]);
    expect(seen).toHaveLength(1);
  });

  it("one caller's failure rolls back only its own statements; the others commit", async () => {
    const { db, sizes } = countingDb();
    const taken = `org_${crypto.randomUUID()}`;
    await db.insert(organizations).values({ id: taken, name: 'first' });
    const [a, c] = [`org_${crypto.randomUUID()}`, `org_${crypto.randomUUID()}`];
    const outcomes = await Promise.allSettled([
      groupBatch(db, ctx, [org(db, `org_${crypto.randomUUID()}`)]),
      groupBatch(db, ctx, [org(db, a)]),
      groupBatch(db, ctx, [
        db.insert(organizations).values({ id: `org_${crypto.randomUUID()}`, name: 'x' }),
        org(db, taken),
      ]),
      groupBatch(db, ctx, [org(db, c)]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/i);
    const rows = await db
      .select()
      .from(organizations)
      .where(inArray(organizations.id, [a, c, taken]));
    expect(rows.map((r) => [r.id, r.name]).sort()).toEqual(
      [
        [a, a],
        [c, c],
        [taken, 'first'],
      ].sort(),
    );
    // The combined batch failed as a whole, then each of its callers ran alone.
    expect(sizes).toEqual([1, 4, 1, 2, 1]);
  });

  it(`a combined batch holds at most ${MAX_GROUP_STATEMENTS} statements`, async () => {
    const { db, sizes } = countingDb();
    const per = 10;
    const callers = 14;
    const results = await Promise.all(
      Array.from({ length: callers }, () => {
        const [first, ...rest] = Array.from({ length: per }, () => read(db, 'nobody'));
        return groupBatch(db, ctx, [first!, ...rest]);
      }),
    );
    expect(results.every((r) => r.length === per)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(per * callers);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_GROUP_STATEMENTS);
    expect(sizes.length).toBeLessThan(callers);
  });
});
