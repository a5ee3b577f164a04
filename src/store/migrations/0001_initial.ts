/**
 * Users, folders, items and devices, with the change-feed columns (see ../types.ts).
 * Written against Kysely<any>: a migration is frozen history and must not follow later
 * changes of the Database type.
 */
import type { Kysely, Migration } from 'kysely';

export const initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text')
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('hierarchy_modseq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('folders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('parent_id', 'text')
      .addColumn('server_id', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('type', 'integer', (c) => c.notNull())
      .addColumn('modseq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('hierarchy_modseq', 'bigint', (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      // (id, user_id) is the target of the composite foreign keys below: a parent folder or an
      // item's folder must belong to the same user, enforced by the database.
      .addUniqueConstraint('folders_id_user_key', ['id', 'user_id'])
      .addUniqueConstraint('folders_user_server_id_key', ['user_id', 'server_id'])
      .addForeignKeyConstraint('folders_parent_fkey', ['parent_id', 'user_id'], 'folders', ['id', 'user_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
    await db.schema
      .createIndex('folders_user_hierarchy_modseq_idx')
      .on('folders')
      .columns(['user_id', 'hierarchy_modseq'])
      .execute();
    await db.schema.createIndex('folders_parent_idx').on('folders').column('parent_id').execute();

    await db.schema
      .createTable('items')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('folder_id', 'text', (c) => c.notNull())
      .addColumn('server_id', 'text', (c) => c.notNull())
      .addColumn('class', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('uid', 'text')
      .addColumn('modseq', 'bigint', (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('items_user_server_id_key', ['user_id', 'server_id'])
      .addForeignKeyConstraint('items_folder_fkey', ['folder_id', 'user_id'], 'folders', ['id', 'user_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
    // The change feed read: WHERE folder_id = ? AND modseq > ? ORDER BY modseq LIMIT ?
    await db.schema.createIndex('items_folder_modseq_idx').on('items').columns(['folder_id', 'modseq']).execute();
    await db.schema.createIndex('items_user_uid_idx').on('items').columns(['user_id', 'uid']).execute();

    await db.schema
      .createTable('devices')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('device_type', 'text', (c) => c.notNull())
      .addColumn('user_agent', 'text')
      .addColumn('protocol_version', 'text')
      .addColumn('first_seen', 'text', (c) => c.notNull())
      .addColumn('last_seen', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('devices_pkey', ['user_id', 'device_id'])
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('devices').execute();
    await db.schema.dropTable('items').execute();
    await db.schema.dropTable('folders').execute();
    await db.schema.dropTable('users').execute();
  },
};
