/**
 * Mail content kept once by content (../mail-types.ts): `mail_blobs`, keyed by sha256.
 * The bytes are `blob` on SQLite and `bytea` on PostgreSQL; both drivers return a Buffer.
 * Written against Kysely<any>: a migration is frozen history.
 */
import { SqliteAdapter, type Kysely, type Migration } from 'kysely';

export const mail: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
    await db.schema
      .createTable('mail_blobs')
      .addColumn('sha256', 'text', (c) => c.primaryKey())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('data', sqlite ? 'blob' : 'bytea', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('mail_blobs').execute();
  },
};
