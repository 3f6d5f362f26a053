import { env } from 'cloudflare:test';
import { type SQL, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dbFor } from '../../src/db/client';
import { namedSql, plainQuery, prepareNamed, stmt } from '../../src/db/raw';
import { teams } from '../../src/db/schema';

const db = dbFor(env.DB);
/** What drizzle's SQLite dialect writes for `query`. */
const drizzleQuery = (query: SQL) => {
  const { sql: text, params } = db.run(query).getQuery();
  return { sql: text, params };
};
/** `sql` called the way a template literal calls it. */
const tag = (strings: string[], values: unknown[]) =>
  sql(Object.assign([...strings], { raw: strings }) as unknown as TemplateStringsArray, ...values);

const value = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
/** Statements written the way the hot path writes them: text, values, nested and raw fragments. */
const { fragment } = fc.letrec<{ fragment: SQL }>((tie) => ({
  fragment: fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: value },
        { weight: 1, arbitrary: tie('fragment') },
        { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((s) => sql.raw(s)) },
      ),
      { maxLength: 5 },
    )
    .chain((values) =>
      fc
        .array(fc.string({ maxLength: 10 }), { minLength: values.length + 1, maxLength: values.length + 1 })
        .map((strings) => tag(strings, values)),
    ),
}));

describe('plainQuery (the hot path writes its statements without drizzle entity checks)', () => {
  it('writes exactly what drizzle writes for text, values and nested fragments', () => {
    fc.assert(
      fc.property(fragment, (query) => {
        expect(plainQuery(query)).toEqual(drizzleQuery(query));
      }),
      { numRuns: 300 },
    );
  });

  it("leaves what it does not write itself to drizzle, and stmt still gets drizzle's text", () => {
    const id = 'team_1';
    const others = [
      sql`SELECT ${teams.creditsBalance} FROM ${teams} WHERE ${teams.id} = ${id}`,
      sql`SELECT 1 WHERE ${sql`x = ${id}`.inlineParams()}`,
      sql`SELECT 1 WHERE id IN ${[id, 'team_2']}`,
    ];
    for (const query of others) {
      expect(plainQuery(query)).toBeNull();
      expect(stmt(db, query).getQuery()).toMatchObject({ ...drizzleQuery(query), method: 'run' });
    }
  });

  it('binds the values it found when the statement runs in a batch', async () => {
    const [inserted, read] = await db.batch([
      stmt(
        db,
        sql`INSERT INTO organizations (id, name, created_at) VALUES (${'org_raw'}, ${sql`${'Raw'} || ${'Org'}`}, ${7})`,
      ),
      stmt(db, sql`SELECT name, created_at FROM organizations WHERE id = ${'org_raw'}`),
    ]);
    expect((inserted as D1Result).meta.changes).toBe(1);
    expect((read as D1Result).results).toEqual([{ name: 'RawOrg', created_at: 7 }]);
  });
});

describe('namedSql (statements written once per isolate, with :name placeholders)', () => {
  it('numbers each distinct name once, in order of first use, and leaves string literals alone', () => {
    const query = namedSql(`SELECT :b AS b, :a + :a AS two, 'team:' || :b AS scope, 'a '':x'' b' AS lit`);
    expect(query.text).toBe(`SELECT ?1 AS b, ?2 + ?2 AS two, 'team:' || ?1 AS scope, 'a '':x'' b' AS lit`);
    expect(query.names).toEqual(['b', 'a']);
    expect(query.params({ a: 1, b: 'x', unused: 3 })).toEqual(['x', 1]);
  });

  it('refuses to bind a statement with a value missing (it would have run as NULL)', () => {
    const query = namedSql('UPDATE teams SET status = :status WHERE id = :id');
    expect(() => query.params({ status: 'suspended' })).toThrow(/:id/);
    expect(query.params({ status: 'suspended', id: null })).toEqual(['suspended', null]);
  });

  it('runs in a D1 batch with each value where its name is', async () => {
    const values = { id: 'org_named', name: "O'Named: Org", at: 11 };
    const [inserted, read] = await env.DB.batch([
      prepareNamed(
        env.DB,
        namedSql('INSERT INTO organizations (id, name, created_at) VALUES (:id, :name, :at)'),
        values,
      ),
      prepareNamed(
        env.DB,
        namedSql("SELECT name, created_at + :at AS twice, 'x:y' AS lit FROM organizations WHERE id = :id"),
        values,
      ),
    ]);
    expect(inserted!.meta.changes).toBe(1);
    expect(read!.results).toEqual([{ name: "O'Named: Org", twice: 22, lit: 'x:y' }]);
  });
});
