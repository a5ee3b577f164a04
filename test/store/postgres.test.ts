/**
 * The store contract against PostgreSQL, each test in a fresh schema that is dropped after.
 * Fails (does not skip) when PostgreSQL is unreachable, unless EASD_TEST_SKIP_PG=1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kysely } from 'kysely';
import pg from 'pg';
import { changeChannel } from '../../src/store/postgres-changes.ts';
import { SchemaPostgresDialect } from '../../src/store/postgres-introspector.ts';
import type { Store } from '../../src/store/types.ts';
import { openTempPostgresStore, pgSkipped, PG_TEST_URL } from '../helpers/db.ts';
import { runStoreContract } from './contract.ts';
import { watchChanges } from './contract-helpers.ts';

/** Runs `fn` with a plain connection to the test database. */
async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Backend pids of the LISTEN connections of stores on `schema`. */
async function listenPids(client: pg.Client, schema: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
    `easd:${changeChannel(schema)}`,
  ]);
  return rows.map((r) => r.pid);
}

async function mkFolder(store: Store, email = 'a@example.com') {
  const u = await store.createUser({ email, passwordHash: 'h' });
  const f = await store.createFolder({ userId: u.id, parentId: null, displayName: 'Inbox', type: 2 });
  return { u, f };
}

if (pgSkipped()) {
  it('PostgreSQL store contract', { skip: 'EASD_TEST_SKIP_PG=1' }, () => {});
} else {
  runStoreContract('postgres', (opts) => openTempPostgresStore(opts));

  describe('postgres backend', () => {
    it('keeps its tables and migration bookkeeping in the given schema, dropped after', async () => {
      const { store, schema, cleanup } = await openTempPostgresStore();
      const client = new pg.Client({ connectionString: PG_TEST_URL });
      await client.connect();
      try {
        await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
        const { rows } = await client.query<{ table_name: string }>(
          'select table_name from information_schema.tables where table_schema = $1 order by table_name',
          [schema],
        );
        // Every table of the Database type (schema.ts) and Kysely's bookkeeping, in this schema.
        const names = rows.map((r) => r.table_name);
        for (const t of ['client_adds', 'device_data', 'devices', 'folders', 'items', 'kysely_migration', 'kysely_migration_lock', 'sync_states', 'users']) {
          assert.ok(names.includes(t), `table ${t} is in schema ${schema}`);
        }
        await cleanup();
        const after = await client.query('select 1 from information_schema.schemata where schema_name = $1', [schema]);
        assert.equal(after.rowCount, 0);
      } finally {
        await cleanup();
        await client.end();
      }
    });

    it('two stores migrating the same fresh schema at once both succeed', async () => {
      const first = await openTempPostgresStore();
      try {
        const more = await Promise.all([first.reopen(), first.reopen(), first.reopen()]);
        const u = await more[0]!.createUser({ email: 'z@example.com', passwordHash: 'h' });
        assert.deepEqual(await more[2]!.getUserById(u.id), u);
      } finally {
        await first.cleanup();
      }
    });

    it('opens while other sessions create and drop schemas of their own', async () => {
      // Migrations once introspected every schema in the database, and a schema dropped by
      // someone else mid-query failed the open ("schema ... does not exist").
      let stop = false;
      const churn = withClient(async (client) => {
        for (let n = 0; !stop; n++) {
          const other = `easd_churn_${process.pid}_${n}`;
          await client.query(`create schema ${other}; create table ${other}.t (id serial primary key, a text)`);
          await client.query(`drop schema ${other} cascade`);
        }
      });
      try {
        for (let i = 0; i < 8; i++) {
          const t = await openTempPostgresStore();
          await t.cleanup();
        }
      } finally {
        stop = true;
        await churn;
      }
    });

    it('migration introspection sees the tables of its own schema only, with their columns', async () => {
      const t = await openTempPostgresStore();
      try {
        await withClient(async (client) => {
          await client.query(`create schema if not exists easd_other_${process.pid}; create table if not exists easd_other_${process.pid}.users (x int)`);
        });
        const db = new Kysely<any>({ dialect: new SchemaPostgresDialect({ pool: new pg.Pool({ connectionString: PG_TEST_URL, max: 1 }) }, () => t.schema) });
        try {
          const tables = await db.introspection.getTables();
          assert.ok(tables.every((x) => x.schema === t.schema));
          assert.ok(!tables.some((x) => x.name === 'kysely_migration'), 'bookkeeping hidden unless asked for');
          const users = tables.find((x) => x.name === 'users');
          assert.ok(users !== undefined);
          const email = users.columns.find((c) => c.name === 'email');
          assert.deepEqual(email && { type: email.dataType, nullable: email.isNullable }, { type: 'text', nullable: false });
          const withInternal = await db.introspection.getTables({ withInternalKyselyTables: true });
          assert.ok(withInternal.some((x) => x.name === 'kysely_migration'));
        } finally {
          await db.destroy();
          await withClient((client) => client.query(`drop schema if exists easd_other_${process.pid} cascade`));
        }
      } finally {
        await t.cleanup();
      }
    });

    it('names the change channel after the schema, within 63 bytes', () => {
      assert.equal(changeChannel('public'), 'easd_changes_public');
      assert.equal(changeChannel('easd_test_0123456789ab'), 'easd_changes_easd_test_0123456789ab');
      const long = 'x'.repeat(63);
      assert.ok(changeChannel(long).length <= 63);
      assert.notEqual(changeChannel(long), changeChannel('x'.repeat(62)));
      assert.match(changeChannel('My Schema'), /^easd_changes_my_schema_[0-9a-f]{16}$/);
      assert.notEqual(changeChannel('My Schema'), changeChannel('my schema'));
    });

    it('delivers a change stored by one node to the listeners of another, once', async () => {
      const t = await openTempPostgresStore();
      try {
        const nodeA = t.store;
        const nodeB = await t.reopen();
        const onA = watchChanges(nodeA);
        const onB = watchChanges(nodeB);
        const { u, f } = await mkFolder(nodeB);
        const item = await nodeB.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
        await nodeA.updateItem(u.id, item.id, { data: { v: 2 } });
        const expected = [
          { userId: u.id, folderId: null },
          { userId: u.id, folderId: f.id },
          { userId: u.id, folderId: f.id },
        ];
        await onA.until(3, 'the changes on node A');
        await onB.until(3, 'the changes on node B');
        // A last write: anything delivered twice would arrive before it.
        await nodeA.createFolder({ userId: u.id, parentId: null, displayName: 'Last', type: 1 });
        await onA.until(4, 'the last change on node A');
        await onB.until(4, 'the last change on node B');
        const all = [...expected, { userId: u.id, folderId: null }];
        assert.deepEqual(onA.events, all);
        assert.deepEqual(onB.events, all);
      } finally {
        await t.cleanup();
      }
    });

    it('does not deliver changes of a store in another schema', async () => {
      const one = await openTempPostgresStore();
      const two = await openTempPostgresStore();
      try {
        const w = watchChanges(one.store);
        await mkFolder(two.store);
        const { u } = await mkFolder(one.store);
        await w.until(1, 'the change in its own schema');
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(w.events, [{ userId: u.id, folderId: null }]);
      } finally {
        await one.cleanup();
        await two.cleanup();
      }
    });

    it('reconnects its LISTEN connection when it is lost, and closes it on close()', async () => {
      const errors: unknown[] = [];
      const t = await openTempPostgresStore({ onError: (err) => errors.push(err) });
      try {
        const w = watchChanges(t.store);
        const { u, f } = await mkFolder(t.store);
        await w.until(1, 'createFolder');
        w.events.length = 0;
        await withClient(async (client) => {
          const pids = await listenPids(client, t.schema);
          assert.equal(pids.length, 1, 'one LISTEN connection per store');
          await client.query('select pg_terminate_backend($1)', [pids[0]]);
          // Writes go on meanwhile (through the pool); once reconnected, a write is heard again.
          const deadline = Date.now() + 10_000;
          while (w.events.length === 0) {
            assert.ok(Date.now() < deadline, `not reconnected after 10 s; errors: ${errors.map(String).join('; ')}`);
            await t.store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
            await new Promise((r) => setTimeout(r, 100));
          }
          assert.deepEqual(w.events[0], { userId: u.id, folderId: f.id });
          assert.ok(errors.some((e) => /LISTEN connection .* lost/.test(String(e))), `errors: ${errors.map(String).join('; ')}`);
          const after = await listenPids(client, t.schema);
          assert.equal(after.length, 1);
          assert.notEqual(after[0], pids[0]);

          await t.store.close();
          for (let i = 0; i < 50 && (await listenPids(client, t.schema)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
          assert.deepEqual(await listenPids(client, t.schema), []);
        });
      } finally {
        await t.cleanup();
      }
    });

    it("deleting a user removes their devices' sync states, data and Client Adds", async () => {
      const { store, schema, cleanup } = await openTempPostgresStore();
      try {
        const { u } = await mkFolder(store);
        const { u: v } = await mkFolder(store, 'b@example.com');
        for (const user of [u, v]) {
          await store.upsertDevice({ userId: user.id, deviceId: 'D', deviceType: 'x' });
          await store.saveSyncState({ userId: user.id, deviceId: 'D', collectionId: 'c', syncKey: '1', data: {} }, []);
          await store.putDeviceData(user.id, 'D', 'ping', {});
          await store.putClientAdd(user.id, 'D', 'c', 'cid', 'item');
        }
        await store.deleteUser(u.id);
        await withClient(async (client) => {
          for (const table of ['sync_states', 'device_data', 'client_adds']) {
            const { rows } = await client.query<{ user_id: string }>(`select user_id from "${schema}".${table}`);
            assert.deepEqual(
              rows.map((r) => r.user_id),
              [v.id],
              table,
            );
          }
        });
      } finally {
        await cleanup();
      }
    });
  });
}
