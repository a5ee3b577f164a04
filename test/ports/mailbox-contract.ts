/**
 * The Mailbox contract (src/ports/mailbox.ts): one suite every mailbox backend runs, so a second
 * backend is proved to behave as easd's own store does. mailbox-store.test.ts runs it on the SQL
 * store (SQLite and PostgreSQL), mailbox-memory.test.ts on the in-memory provider the tests use.
 *
 * Each test opens a fresh backend with two users' empty mailboxes and a fake clock. The suite is
 * split by subject into the files imported here (no file over 500 lines).
 */
import { describe } from 'node:test';
import { folderTests } from './mailbox-contract-folders.ts';
import { itemTests } from './mailbox-contract-items.ts';
import { crossTests } from './mailbox-contract-push.ts';
import { runner, type MailboxSetup } from './mailbox-contract-support.ts';

export type { MailboxHarness, MailboxSetup } from './mailbox-contract-support.ts';

export function mailboxContract(name: string, setup: MailboxSetup): void {
  describe(`Mailbox contract: ${name}`, () => {
    const run = runner(setup);
    folderTests(run);
    itemTests(run);
    crossTests(run);
  });
}
