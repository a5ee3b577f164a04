/**
 * S/MIME certificates of users (../directory-types.ts, src/directory/certificates.ts): one row per
 * certificate, keyed by the user and the SHA-256 of its DER bytes, removed with the user. The DER
 * is `blob` on SQLite and `bytea` on PostgreSQL; both drivers return a Buffer.
 * Written against Kysely<any>: a migration is frozen history.
 */
import { SqliteAdapter, type Kysely, type Migration } from 'kysely';

export const certificates: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
    await db.schema
      .createTable('user_certificates')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('der', sqlite ? 'blob' : 'bytea', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_certificates_pkey', ['user_id', 'fingerprint'])
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('user_certificates').execute();
  },
};
