/**
 * Large blobs in pieces (../mail-store.ts): `mail_blob_chunks` holds a blob's bytes as numbered
 * chunks, so a large message or attachment is written (and can be read) a chunk at a time rather
 * than as one value held whole in memory. `mail_blobs.chunks` is how many chunks a blob has; 0
 * (every blob stored before this migration) means its bytes are in `mail_blobs.data`.
 * Written against Kysely<any>: a migration is frozen history.
 */
import { SqliteAdapter, type Kysely, type Migration } from 'kysely';

export const blobChunks: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
    await db.schema.alterTable('mail_blobs').addColumn('chunks', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema
      .createTable('mail_blob_chunks')
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('data', sqlite ? 'blob' : 'bytea', (c) => c.notNull())
      .addPrimaryKeyConstraint('mail_blob_chunks_pkey', ['sha256', 'seq'])
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('mail_blob_chunks').execute();
    await db.schema.alterTable('mail_blobs').dropColumn('chunks').execute();
  },
};
