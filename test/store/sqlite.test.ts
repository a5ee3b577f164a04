import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql, Kysely, SqliteDialect } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import { openTempSqliteStore } from '../helpers/db.ts';
import { SQLITE_FILE_NAME } from '../../src/store/sqlite.ts';
import { runStoreContract } from './contract.ts';
import { migrations } from '../../src/store/migrations/index.ts';

runStoreContract('sqlite', (opts) => openTempSqliteStore(opts));

describe('sqlite backend', () => {
  it('keeps easd.sqlite in WAL mode under the data directory, with foreign keys on', async () => {
    const { store, dir, cleanup } = await openTempSqliteStore();
    try {
      await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
      assert.ok(existsSync(join(dir, SQLITE_FILE_NAME)));
      // A second connection sees the committed row and the persistent WAL journal mode.
      const raw = new SqliteDatabase(join(dir, SQLITE_FILE_NAME), { readonly: true });
      try {
        assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal((raw.prepare('select count(*) as n from users').get() as { n: number }).n, 1);
      } finally {
        raw.close();
      }
    } finally {
      await cleanup();
    }
  });

  it("deleting a user removes their devices' sync states, data and Client Adds", async () => {
    const { store, dir, cleanup } = await openTempSqliteStore();
    try {
      const ids: string[] = [];
      for (const email of ['a@example.com', 'b@example.com']) {
        const u = await store.createUser({ email, passwordHash: 'h' });
        ids.push(u.id);
        await store.upsertDevice({ userId: u.id, deviceId: 'D', deviceType: 'x' });
        await store.saveSyncState({ userId: u.id, deviceId: 'D', collectionId: 'c', syncKey: '1', data: {} }, []);
        await store.putDeviceData(u.id, 'D', 'ping', {});
        await store.putClientAdd(u.id, 'D', 'c', 'cid', 'item');
      }
      await store.deleteUser(ids[0]!);
      const raw = new SqliteDatabase(join(dir, SQLITE_FILE_NAME), { readonly: true });
      try {
        for (const table of ['sync_states', 'device_data', 'client_adds']) {
          const rows = raw.prepare(`select user_id from ${table}`).all() as { user_id: string }[];
          assert.deepEqual(
            rows.map((r) => r.user_id),
            [ids[1]],
            table,
          );
        }
      } finally {
        raw.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('creates a missing data directory', async () => {
    const { dir, cleanup, store } = await openTempSqliteStore();
    const nested = join(dir, 'a', 'b');
    const { openSqliteStore } = await import('../../src/store/sqlite.ts');
    const s2 = await openSqliteStore(nested);
    try {
      assert.ok(existsSync(join(nested, SQLITE_FILE_NAME)));
      const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(join(nested, SQLITE_FILE_NAME)) }) });
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
      assert.deepEqual(
        rows.map((r) => r.name),
        Object.keys(migrations).sort(),
      );
      await db.destroy();
    } finally {
      await s2.close();
      await store.close();
      await cleanup();
    }
  });
});
