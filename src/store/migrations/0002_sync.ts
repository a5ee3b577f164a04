/**
 * Per-device synchronization data (see ../types.ts): the sync reset counter on devices, small
 * named values per device, sync states per collection and sync key, and Client Add mappings.
 * Every new table hangs off devices (user_id, device_id) with ON DELETE CASCADE, so deleting a
 * device, or its user, removes all of it.
 * Written against Kysely<any>: a migration is frozen history and must not follow later
 * changes of the Database type.
 */
import type { Kysely, Migration } from 'kysely';

export const sync: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .alterTable('devices')
      .addColumn('sync_resets', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();

    // The folder sequence an item was created at: a sync engine tells a device "Add" from
    // "Change" by comparing it with the sequence the device has seen.
    await db.schema
      .alterTable('items')
      .addColumn('created_modseq', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();

    await db.schema
      .createTable('device_data')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('device_data_pkey', ['user_id', 'device_id', 'name'])
      .addForeignKeyConstraint('device_data_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();

    await db.schema
      .createTable('sync_states')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('collection_id', 'text', (c) => c.notNull())
      .addColumn('sync_key', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('sync_states_pkey', ['user_id', 'device_id', 'collection_id', 'sync_key'])
      .addForeignKeyConstraint('sync_states_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();

    await db.schema
      .createTable('client_adds')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('collection_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('item_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('client_adds_pkey', ['user_id', 'device_id', 'collection_id', 'client_id'])
      .addForeignKeyConstraint('client_adds_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
    // The primary keys lead with (user_id, device_id), so they also serve the cascades.
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('client_adds').execute();
    await db.schema.dropTable('sync_states').execute();
    await db.schema.dropTable('device_data').execute();
    await db.schema.alterTable('devices').dropColumn('sync_resets').execute();
  },
};
