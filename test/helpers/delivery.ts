/**
 * Delivery targets for tests that deliver without a test server, wired as the composition root
 * wires them (src/cli/runtime.ts): recipients are the store's users, their mail goes into easd's
 * own mailboxes over the same store (or another provider's). A test with a server uses
 * `srv.runtime.deliveryTargets`, which reaches the mailboxes that server serves.
 */
import type { DeliveryTargets } from '../../src/mail/deliver.ts';
import type { MailboxProvider } from '../../src/ports/mailbox.ts';
import { StoreMailboxProvider } from '../../src/store/store-mailbox.ts';
import type { Store } from '../../src/store/types.ts';

export function deliveryTo(store: Store, mailboxes: MailboxProvider = new StoreMailboxProvider(store)): DeliveryTargets {
  return { accounts: store, mailboxes };
}
