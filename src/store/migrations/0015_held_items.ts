/**
 * What each device holds of each collection (see ../held-items-store.ts): one row per item a
 * device was sent (or wrote itself), with the sync-key generation it came at and the one it went
 * at. A device's view is decided from what it was actually sent, never inferred from sequences.
 * Hangs off devices with ON DELETE CASCADE, like sync_states.
 * Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const heldItems: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('held_items')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('collection_id', 'text', (c) => c.notNull())
      .addColumn('item_id', 'text', (c) => c.notNull())
      .addColumn('added_gen', 'bigint', (c) => c.notNull())
      .addColumn('removed_gen', 'bigint')
      .addPrimaryKeyConstraint('held_items_pkey', ['user_id', 'device_id', 'collection_id', 'item_id'])
      .addForeignKeyConstraint('held_items_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
    // A save undoes a retried generation and drops rows no kept generation sees, by these.
    await db.schema.createIndex('held_items_added_idx').on('held_items').columns(['user_id', 'device_id', 'collection_id', 'added_gen']).execute();
    await db.schema.createIndex('held_items_removed_idx').on('held_items').columns(['user_id', 'device_id', 'collection_id', 'removed_gen']).execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('held_items').execute();
  },
};
