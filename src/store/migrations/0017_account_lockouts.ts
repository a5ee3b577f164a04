/**
 * Account lockouts (src/auth/lockout.ts, src/ports/protection.ts): one row per login whose
 * account block ever started, so `easd user show` sees it, `easd user unlock` reaches every
 * server, and a block started on one node is honoured by the others. Keyed by the normalized
 * login (only logins of existing users are written).
 * Written against Kysely<any>: a migration is frozen history.
 */
import type { Kysely, Migration } from 'kysely';

export const accountLockouts: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('account_lockouts')
      .addColumn('login', 'text', (c) => c.primaryKey())
      .addColumn('started_at', 'text')
      .addColumn('blocked_until', 'text')
      .addColumn('failures', 'bigint', (c) => c.notNull())
      .addColumn('last_address', 'text')
      .addColumn('blocks', 'bigint', (c) => c.notNull())
      .addColumn('unlocked_at', 'text')
      .addColumn('admit_device', 'text')
      .addColumn('admit_until', 'text')
      .execute();
  },

  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('account_lockouts').execute();
  },
};
