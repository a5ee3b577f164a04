import assert from 'node:assert/strict';
import { it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { withStatementCache } from '../../src/store/sqlite.ts';

it('prepares each SQL text once and keeps at most the configured number of statements', () => {
  const sqlite = new SqliteDatabase(':memory:');
  let prepared = 0;
  const counting = new Proxy(sqlite, {
    get(target, prop) {
      if (prop === 'prepare') {
        return (sql: string) => {
          prepared++;
          return target.prepare(sql);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const db = withStatementCache(counting, 2);
  db.prepare('create table t (n integer)').run([]);
  for (let i = 0; i < 5; i++) db.prepare('insert into t (n) values (?)').run([i]);
  assert.equal(prepared, 2, 'the insert was prepared once for five runs');
  assert.deepEqual(db.prepare('select sum(n) as s from t').all([]), [{ s: 10 }]);
  assert.equal(prepared, 3);
  // A third text evicts the oldest: 'create table' is prepared again when used again.
  db.prepare('insert into t (n) values (?)').run([5]);
  assert.equal(prepared, 3, 'still cached');
  db.prepare('select count(*) as c from t').all([]);
  assert.equal(prepared, 4);
  assert.deepEqual(db.prepare('select count(*) as c from t').all([]), [{ c: 6 }]);
  assert.equal(prepared, 4);
  db.close();
});
