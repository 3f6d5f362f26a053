import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { batch, first, namedSql, rows, run, write } from '../../src/db/statement';

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
});

describe('statements and batches', () => {
  it('any mix of writes and reads runs in one batch, each read its own way', async () => {
    const values = { id: 'org_named', name: "O'Named: Org", at: 11 };
    const [inserted, read, one, none] = await batch(env.DB, [
      write(namedSql('INSERT INTO organizations (id, name, created_at) VALUES (:id, :name, :at)'), values),
      rows<{ name: string; twice: number; lit: string }>(
        namedSql("SELECT name, created_at + :at AS twice, 'x:y' AS lit FROM organizations WHERE id = :id"),
        values,
      ),
      first(rows<{ id: string }>(namedSql('SELECT id FROM organizations WHERE id = :id'), values)),
      first(rows<{ id: string }>(namedSql("SELECT id FROM organizations WHERE id = 'nobody'"))),
    ]);
    expect(inserted).toBe(1);
    expect(read).toEqual([{ name: "O'Named: Org", twice: 22, lit: 'x:y' }]);
    expect(one).toEqual({ id: 'org_named' });
    expect(none).toBeNull();
  });

  it('a batch is one transaction: a failing statement undoes the ones before it', async () => {
    const insert = write(namedSql("INSERT INTO organizations (id, name, created_at) VALUES ('org_undone', 'U', 1)"));
    const failing = write(namedSql("INSERT INTO teams (id, name, organization_id) VALUES ('t_undone', 'T', 'nope')"));
    await expect(batch(env.DB, [insert, failing])).rejects.toThrow(/FOREIGN KEY/);
    const left = await run(env.DB, rows(namedSql("SELECT id FROM organizations WHERE id = 'org_undone'")));
    expect(left).toEqual([]);
  });
});
