import assert from 'node:assert/strict';
import { it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { prepareQuery } from '../../src/store/prepared.ts';

interface Db {
  t: { a: string; b: number; c: string };
}

it('a prepared query puts each call\'s values where the markers were and keeps constants', async () => {
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
  try {
    await db.schema.createTable('t').addColumn('a', 'text').addColumn('b', 'integer').addColumn('c', 'text').execute();
    await db.insertInto('t').values([
      { a: 'x', b: 0, c: 'one' },
      { a: 'x', b: 1, c: 'two' },
      { a: 'y', b: 0, c: 'three' },
    ]).execute();
    // A constant between two parameters: the compiled list is [a, 0, c].
    const q = prepareQuery(db, 2, (a: string, c: string) => db.selectFrom('t').select(['a', 'b', 'c']).where('a', '=', a).where('b', '=', 0).where('c', '=', c));
    assert.deepEqual(await q('x', 'one'), [{ a: 'x', b: 0, c: 'one' }]);
    assert.deepEqual(await q('x', 'two'), [], 'the constant b = 0 is kept');
    assert.deepEqual(await q('y', 'three'), [{ a: 'y', b: 0, c: 'three' }]);
    // Values that look like anything else are passed as values, never spliced into SQL.
    assert.deepEqual(await q("x' or '1'='1", 'one'), []);
    assert.throws(() => prepareQuery<[string, string], unknown>(db, 2, (a: string) => db.selectFrom('t').selectAll().where('a', '=', a)), /does not use parameter 1/);
  } finally {
    await db.destroy();
  }
});
