/**
 * The directory and per-user settings (see ../directory-types.ts): directory fields of a user,
 * additional addresses, out-of-office settings and the automatic-reply history. Every table hangs
 * off users with ON DELETE CASCADE. The picture is base64 text, read back the same on both
 * dialects (at most MAX_PICTURE_BYTES, so the third more is cheap).
 * Written against Kysely<any>: a migration is frozen history and must not follow later
 * changes of the Database type.
 */
import type { Kysely, Migration } from 'kysely';

export const directory: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('user_directory')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('first_name', 'text')
      .addColumn('last_name', 'text')
      .addColumn('title', 'text')
      .addColumn('phone', 'text')
      .addColumn('mobile_phone', 'text')
      .addColumn('home_phone', 'text')
      .addColumn('office', 'text')
      .addColumn('company', 'text')
      .addColumn('picture', 'text')
      .addColumn('picture_size', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    // An alias is unique across users; a user's primary address is checked against it in code.
    await db.schema
      .createTable('user_aliases')
      .addColumn('address', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('user_aliases_user_idx').on('user_aliases').column('user_id').execute();

    await db.schema
      .createTable('oof_settings')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('auto_replies')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('sender', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('auto_replies_pkey', ['user_id', 'sender'])
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('auto_replies').execute();
    await db.schema.dropTable('oof_settings').execute();
    await db.schema.dropTable('user_aliases').execute();
    await db.schema.dropTable('user_directory').execute();
  },
};
