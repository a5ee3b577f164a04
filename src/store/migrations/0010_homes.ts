/**
 * Users homed on another deployment (redirects, MS-ASHTTP 3.1.5.2.2) and mailbox logging
 * (homes-types.ts, mailbox-log-types.ts):
 * - `user_homes`: one row per user served elsewhere, dropped with the user;
 * - `domain_homes`: one row per mail domain served elsewhere (a user row wins over it);
 * - `mailbox_log_settings`: users whose requests are logged, and until when;
 * - `mailbox_log_entries`: one row per logged request with its response, as XML text.
 * Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const homes: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('user_homes')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('domain_homes')
      .addColumn('domain', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('mailbox_log_settings')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('until', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('mailbox_log_entries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('device_id', 'text')
      .addColumn('cmd', 'text')
      .addColumn('http_status', 'integer', (c) => c.notNull())
      /** JSON text: the request line, headers (no Authorization), response headers, timing. */
      .addColumn('meta', 'text', (c) => c.notNull())
      .addColumn('request', 'text')
      .addColumn('response', 'text')
      .execute();
    await db.schema.createIndex('mailbox_log_entries_user_at_idx').on('mailbox_log_entries').columns(['user_id', 'at']).execute();
    await db.schema.createIndex('mailbox_log_entries_at_idx').on('mailbox_log_entries').column('at').execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('mailbox_log_entries').execute();
    await db.schema.dropTable('mailbox_log_settings').execute();
    await db.schema.dropTable('domain_homes').execute();
    await db.schema.dropTable('user_homes').execute();
  },
};
