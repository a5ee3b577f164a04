import type { MailboxProvider } from '../ports/mailbox.ts';
import type { Watch } from '../protocol/watch.ts';

class UserWatch implements Watch {
  dirty = false;
  holder: { changed(): void } | undefined = undefined;
  constructor(
    readonly userId: string,
    public folderIds: ReadonlySet<string> | readonly string[] | null,
    private readonly hub: ChangeHub,
  ) {}

  matches(folderId: string | null): boolean {
    // A hierarchy change (folderId null) matters to everyone: a watched folder may be gone.
    const ids = this.folderIds;
    if (folderId === null || ids === null) return true;
    return Array.isArray(ids) ? (ids as readonly string[]).includes(folderId) : (ids as ReadonlySet<string>).has(folderId);
  }

  close(): void {
    this.hub.remove(this);
  }
}

/**
 * Every held request of the process, indexed by user, over the mailbox provider's per-user push
 * (MailboxProvider.watch): the first watch of a user subscribes, the last one closing stops it.
 * A change costs the work of that user's holders, not of every holder on the node (10,000 held
 * Pings would otherwise each be a listener handed every change of every user). With PostgreSQL
 * the store's notifications cross nodes (LISTEN/NOTIFY), so this does too. Built once by the
 * composition root (src/cli/runtime.ts).
 */
export class ChangeHub {
  readonly #byUser = new Map<string, { watches: Set<UserWatch>; stop: () => void }>();
  #count = 0;

  constructor(private readonly mailboxes: Pick<MailboxProvider, 'watch'>) {}

  /** Watches held now (for metrics and tests). */
  get size(): number {
    return this.#count;
  }

  watch(userId: string, folderIds: ReadonlySet<string> | readonly string[] | null): Watch {
    const w = new UserWatch(userId, folderIds, this);
    let entry = this.#byUser.get(userId);
    if (!entry) {
      const watches = new Set<UserWatch>();
      entry = { watches, stop: () => {} };
      this.#byUser.set(userId, entry);
      // Every folder: the user's watches differ, and each filters for itself.
      entry.stop = this.mailboxes.watch(userId, null, (folderId) => this.#dispatch(watches, folderId));
    }
    entry.watches.add(w);
    this.#count++;
    return w;
  }

  /** @internal Called by Watch.close. */
  remove(w: UserWatch): void {
    const entry = this.#byUser.get(w.userId);
    if (!entry?.watches.delete(w)) return;
    this.#count--;
    if (entry.watches.size === 0) {
      this.#byUser.delete(w.userId);
      entry.stop();
    }
  }

  #dispatch(watches: Set<UserWatch>, folderId: string | null): void {
    // A copy: a holder may close its watch (and so change the set) while we walk it.
    for (const w of [...watches]) {
      if (!w.matches(folderId)) continue;
      w.dirty = true;
      w.holder?.changed();
    }
  }
}
