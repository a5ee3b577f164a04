/**
 * Mail out and search (see ../sending-types.ts and ../search-types.ts):
 *
 * - `sent_client_ids`: the ClientIds of messages a device has sent (SendMail, SmartReply,
 *   SmartForward, MS-ASCMD 2.2.3.28), so a replayed request sends nothing twice. Hangs off
 *   devices with ON DELETE CASCADE, like the other per-device tables.
 * - `search_positions`: per user and folder, the folder change sequence up to which the
 *   full-text index has taken the folder's items in (the index follows the change feed lazily).
 * - The full-text documents, one per indexed item, by dialect:
 *   SQLite: an FTS5 table `search_fts` (words of subject, addresses and body; the ids are
 *   UNINDEXED columns). FTS5 tables take no foreign keys; rows of a deleted user are dropped by
 *   the search store and never returned, since every query joins the live items.
 *   PostgreSQL: a table `search_docs` with a stored tsvector (configuration 'simple': easd's
 *   users write in many languages, so no stemming) and a GIN index.
 *   Both receive the same already-normalised words (search-store.ts), so matching is the same.
 *
 * Written against Kysely<any>: a migration is frozen history.
 */
import { sql, SqliteAdapter, type Kysely, type Migration } from 'kysely';

function isSqlite(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

export const sending: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('sent_client_ids')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('sent_client_ids_pkey', ['user_id', 'device_id', 'client_id'])
      .addForeignKeyConstraint('sent_client_ids_device_fkey', ['user_id', 'device_id'], 'devices', ['user_id', 'device_id'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();

    await db.schema
      .createTable('search_positions')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('folder_id', 'text', (c) => c.notNull())
      .addColumn('indexed_modseq', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('search_positions_pkey', ['user_id', 'folder_id'])
      .execute();

    if (isSqlite(db)) {
      await sql`create virtual table search_fts using fts5(
        item_id unindexed, user_id unindexed, folder_id unindexed, conversation_id unindexed, received unindexed,
        subject, addresses, body,
        tokenize = 'unicode61 remove_diacritics 2'
      )`.execute(db);
    } else {
      await sql`create table search_docs (
        item_id text primary key,
        user_id text not null references users(id) on delete cascade,
        folder_id text not null,
        conversation_id text,
        received text not null,
        subject text not null,
        addresses text not null,
        body text not null,
        doc tsvector generated always as (
          setweight(to_tsvector('simple', subject), 'A') ||
          setweight(to_tsvector('simple', addresses), 'B') ||
          setweight(to_tsvector('simple', body), 'C')
        ) stored
      )`.execute(db);
      await sql`create index search_docs_doc_idx on search_docs using gin (doc)`.execute(db);
      await sql`create index search_docs_user_idx on search_docs (user_id, folder_id)`.execute(db);
    }
  },

  async down(db: Kysely<any>): Promise<void> {
    if (isSqlite(db)) await sql`drop table search_fts`.execute(db);
    else await db.schema.dropTable('search_docs').execute();
    await db.schema.dropTable('search_positions').execute();
    await db.schema.dropTable('sent_client_ids').execute();
  },
};
