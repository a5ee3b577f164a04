/**
 * The mailbox contract on easd's own store (StoreMailboxProvider), over a temp SQLite store and a
 * temp PostgreSQL schema (test/helpers/db.ts; EASD_TEST_SKIP_PG=1 skips PostgreSQL).
 */
import { describe } from 'node:test';
import { StoreMailboxProvider } from '../../src/store/store-mailbox.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, type TestStore } from '../helpers/db.ts';
import { mailboxContract, type MailboxSetup } from './mailbox-contract.ts';

function onStore(open: (opts: { now: () => Date }) => Promise<TestStore>): MailboxSetup {
  return async ({ now }) => {
    const t = await open({ now });
    try {
      const listenerErrors: unknown[] = [];
      const provider = new StoreMailboxProvider(t.store, (err) => listenerErrors.push(err));
      const a = await t.store.createUser({ email: 'a@example.com', passwordHash: 'scrypt$a' });
      const b = await t.store.createUser({ email: 'b@example.com', passwordHash: 'scrypt$b' });
      // The store delivers what was asked only: per user, per folder, committed writes.
      return { provider, userIds: [a.id, b.id], listenerErrors, exactWatch: true, cleanup: t.cleanup };
    } catch (err) {
      await t.cleanup();
      throw err;
    }
  };
}

mailboxContract('SQLite store', onStore(openTempSqliteStore));

if (pgSkipped()) describe.skip('Mailbox contract: PostgreSQL store (EASD_TEST_SKIP_PG=1)', () => {});
else mailboxContract('PostgreSQL store', onStore(openTempPostgresStore));
