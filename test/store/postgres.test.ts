/**
 * The store contract against PostgreSQL, each test in a fresh schema that is dropped after.
 * Fails (does not skip) when PostgreSQL is unreachable, unless EASD_TEST_SKIP_PG=1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openTempPostgresStore, pgSkipped, PG_TEST_URL } from '../helpers/db.ts';
import { runStoreContract } from './contract.ts';

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
        assert.deepEqual(
          rows.map((r) => r.table_name),
          ['devices', 'folders', 'items', 'kysely_migration', 'kysely_migration_lock', 'users'],
        );
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

  });
}
