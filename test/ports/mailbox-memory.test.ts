/** The mailbox contract on the in-memory provider the sync engine's tests run against. */
import { MemoryMailboxProvider } from '../helpers/memory-mailbox.ts';
import { mailboxContract } from './mailbox-contract.ts';

mailboxContract('memory', async ({ now }) => {
  const listenerErrors: unknown[] = [];
  const provider = new MemoryMailboxProvider({ now, onListenerError: (err) => listenerErrors.push(err) });
  return {
    provider,
    userIds: [provider.createMailbox(), provider.createMailbox()],
    listenerErrors,
    exactWatch: true,
    cleanup: async () => {},
  };
});
