import type { OutboundMail } from '../mail/relay.ts';
import type { SearchIndex } from '../mail/search.ts';
import type { DeviceManager } from '../devices/manager.ts';
import type { Mailbox, MailboxProvider } from '../ports/mailbox.ts';
import type { ChangeHub } from '../sync/change-hub.ts';
import type { TrustStore } from '../directory/validate-chain.ts';
import type { KeyedLock } from '../sync/keyed-lock.ts';
import type { FreeBusyCache, QuietAnswers } from './answer-caches.ts';
/**
 * The long-lived services commands use beyond the store, each built once by the composition root
 * (src/cli/runtime.ts, for `easd serve` and the test server alike) and handed to every command
 * through CommandContext. Commands never make their own. An optional member left unset means the
 * deployment has not configured that service; a command that needs it answers with the status
 * its spec gives for a server-side failure.
 */
export interface Services {
  /** Sends mail: local recipients delivered directly, the rest through the SMTP relay (src/mail/relay.ts). */
  outbound?: OutboundMail;
  /** Device management (policies, access, wipe; src/devices/manager.ts). */
  devices: DeviceManager;
  /** Opens users' mailboxes (src/ports/mailbox.ts): easd's own store, or another backend. */
  mailboxes: MailboxProvider;
  /**
   * The full-text index Search and Find read (src/mail/search.ts): easd's SQL store's, kept in
   * step with each folder's change feed; it finds items of easd's own mailboxes only.
   */
  searchIndex: SearchIndex;
  /** Held Pings and Syncs with Wait, indexed by user (src/sync/change-hub.ts). */
  changes: ChangeHub;
  /** One device's Syncs of one collection run one at a time (src/sync/collection-sync.ts). */
  syncLocks: KeyedLock;
  /** Sync answers a byte-identical repeat may get again (src/commands/sync.ts). */
  quietAnswers: QuietAnswers;
  /** Recent free/busy answers (src/commands/resolve-recipients.ts). */
  freeBusy: FreeBusyCache;
  /** Largest contact picture a device may store, in bytes of image (`--max-contact-picture-size`; src/classes/contacts.ts). */
  contactPictureMaxBytes?: number;
  /** Roots and CRLs ValidateCert checks certificates against (src/directory/validate-chain.ts; `--trust-store`). */
  trustStore: TrustStore;
  /**
   * A value that changes whenever the device's state or the user's mailbox may have been
   * written to, or undefined when a backend cannot tell (then no quiet answer is kept): the
   * store's write token, combined with the mailbox's when the mailbox lives elsewhere.
   */
  writeToken(ctx: { readonly mailbox: Mailbox }): string | undefined | Promise<string | undefined>;
}
