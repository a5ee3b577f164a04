/**
 * The SQLite connection's caches (src/store/sqlite-connection.ts): statements by SQL text, and
 * SELECT results that stay exact across writes on this connection, transactions that roll back,
 * and commits by another connection to the same file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { cachingDatabase } from '../../src/store/sqlite-connection.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'easd-sqlite-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const open = () => {
  const sqlite = new SqliteDatabase(join(dir, 'db.sqlite'));
  sqlite.pragma('journal_mode = WAL');
  return sqlite;
};

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
  const db = cachingDatabase(counting, { statements: 2, results: 0 });
  const base = prepared; // the data_version statement
  db.prepare('create table t (n integer)').run([]);
  for (let i = 0; i < 5; i++) db.prepare('insert into t (n) values (?)').run([i]);
  assert.equal(prepared - base, 2, 'the insert was prepared once for five runs');
  assert.deepEqual(db.prepare('select sum(n) as s from t').all([]), [{ s: 10 }]);
  assert.equal(prepared - base, 3);
  // A third text evicts the oldest: 'create table' is prepared again when used again.
  db.prepare('insert into t (n) values (?)').run([5]);
  assert.equal(prepared - base, 3, 'still cached');
  db.prepare('select count(*) as c from t').all([]);
  assert.equal(prepared - base, 4);
  assert.deepEqual(db.prepare('select count(*) as c from t').all([]), [{ c: 6 }]);
  assert.equal(prepared - base, 4);
  db.close();
});

it('answers a repeated SELECT from the cache until this connection writes', () => {
  const db = cachingDatabase(open());
  db.prepare('create table t (k text primary key, v text)').run([]);
  db.prepare('insert into t values (?, ?)').run(['a', 'one']);
  const get = () => db.prepare('select v from t where k = ?').all(['a']);
  assert.deepEqual(get(), [{ v: 'one' }]);
  const misses = db.stats.misses;
  assert.deepEqual(get(), [{ v: 'one' }]);
  assert.deepEqual(get(), [{ v: 'one' }]);
  assert.equal(db.stats.misses, misses, 'answered from the cache');
  assert.ok(db.stats.hits >= 2);
  // Other parameters are another entry.
  assert.deepEqual(db.prepare('select v from t where k = ?').all(['b']), []);
  db.prepare('update t set v = ? where k = ?').run(['two', 'a']);
  assert.deepEqual(get(), [{ v: 'two' }], 'a write on this connection invalidates');
  // A write with RETURNING goes through all(), and still invalidates.
  db.prepare('update t set v = ? where k = ? returning v').all(['three', 'a']);
  assert.deepEqual(get(), [{ v: 'three' }]);
  db.close();
});

it('a transaction that rolls back leaves no trace in the cache', () => {
  const db = cachingDatabase(open());
  db.prepare('create table t (k text primary key, v text)').run([]);
  db.prepare('insert into t values (?, ?)').run(['a', 'one']);
  const get = () => db.prepare('select v from t where k = ?').all(['a']);
  assert.deepEqual(get(), [{ v: 'one' }]);
  db.prepare('begin').run([]);
  db.prepare('update t set v = ? where k = ?').run(['uncommitted', 'a']);
  assert.deepEqual(get(), [{ v: 'uncommitted' }], 'read inside the transaction (and cached)');
  db.prepare('rollback').run([]);
  assert.deepEqual(get(), [{ v: 'one' }], 'the rolled-back value is not served');
  db.close();
});

it('a commit by another connection to the same file invalidates from the next turn of the event loop (PRAGMA data_version)', async () => {
  const db = cachingDatabase(open());
  db.prepare('create table t (k text primary key, v text)').run([]);
  db.prepare('insert into t values (?, ?)').run(['a', 'one']);
  const get = () => db.prepare('select v from t where k = ?').all(['a']);
  assert.deepEqual(get(), [{ v: 'one' }]);
  assert.deepEqual(get(), [{ v: 'one' }]);
  const other = open(); // e.g. `easd user passwd` in another process
  other.prepare('update t set v = ? where k = ?').run('changed elsewhere', 'a');
  other.close();
  assert.deepEqual(get(), [{ v: 'one' }], 'within one turn, reads see one snapshot');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(get(), [{ v: 'changed elsewhere' }]);
  db.close();
});

it('hands out copies, and does not keep blobs or large results', () => {
  const db = cachingDatabase(open());
  db.prepare('create table t (k text primary key, v text, b blob)').run([]);
  db.prepare('insert into t values (?, ?, ?)').run(['a', 'one', Buffer.from('bytes')]);
  const rows = db.prepare('select k, v from t').all([]) as { v: string }[];
  rows[0]!.v = 'mutated by a caller';
  assert.deepEqual(db.prepare('select k, v from t').all([]), [{ k: 'a', v: 'one' }]);
  const again = db.prepare('select k, v from t').all([]) as { v: string }[];
  again[0]!.v = 'mutated again';
  assert.deepEqual(db.prepare('select k, v from t').all([]), [{ k: 'a', v: 'one' }]);

  const before = db.stats.misses;
  db.prepare('select b from t').all([]);
  db.prepare('select b from t').all([]);
  assert.equal(db.stats.misses - before, 2, 'a result with a blob is read every time');

  db.prepare('insert into t (k, v) values (?, ?)').run(['big', 'x'.repeat(70 * 1024)]);
  const m = db.stats.misses;
  db.prepare('select v from t where k = ?').all(['big']);
  db.prepare('select v from t where k = ?').all(['big']);
  assert.equal(db.stats.misses - m, 2, 'a large result is read every time');
  db.close();
});
