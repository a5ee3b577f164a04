/**
 * Items a user has been told could not be synchronized to a device (kb-2.4), so the notice is
 * sent once per item, whatever device or reset meets it again. Goes with the user.
 * Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const syncNotices: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('sync_failure_notices')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('item_id', 'text', (c) => c.notNull())
      .addColumn('notified_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('sync_failure_notices_pkey', ['user_id', 'item_id'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('sync_failure_notices').execute();
  },
};
