/**
 * Resource mailboxes (rooms and equipment, src/calendar/resource-booking.ts): `user_resources`
 * holds one row per user that is a resource, with its kind; a user without a row is a person.
 * Dropped with the user. Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const resources: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('user_resources')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      /** 'room' or 'equipment'. */
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('user_resources').execute();
  },
};
