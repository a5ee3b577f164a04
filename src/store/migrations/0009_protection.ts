/**
 * Device protection events for the admin view (src/store/protection-types.ts): throttle blocks
 * and loop flags per device partnership, removed with the partnership (ON DELETE CASCADE).
 * Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const protection: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('device_protection')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('throttles', 'bigint', (c) => c.notNull())
      .addColumn('last_throttle_at', 'text')
      .addColumn('last_throttle_reason', 'text')
      .addColumn('throttled_until', 'text')
      .addColumn('loops', 'bigint', (c) => c.notNull())
      .addColumn('last_loop_at', 'text')
      .addColumn('last_loop_command', 'text')
      .addPrimaryKeyConstraint('device_protection_pkey', ['user_id', 'device_id'])
      .addForeignKeyConstraint('device_protection_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) => fk.onDelete('cascade'))
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('device_protection').execute();
  },
};
