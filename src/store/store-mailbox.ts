/**
 * The mailbox port (src/ports/mailbox.ts) over easd's own store: each method is the store's,
 * bound to the user. Push comes from the store's change notifications, dispatched by user so a
 * change costs the work of that user's listeners only (10,000 held Pings must not each be handed
 * every change on the node).
 */
import type { Mailbox, MailboxChange, MailboxNewFolder, MailboxNewItem, MailboxProvider, ScanOptions } from '../ports/mailbox.ts';
import { provisionDefaultFolders } from '../ports/default-folders.ts';
import { scanFeed } from '../ports/scan-feed.ts';
import type { BlobInput } from '../ports/mail.ts';
import type { ChangeEvent, Folder, FolderPatch, Item, ItemPatch } from '../ports/types.ts';
import type { ContentStore } from '../ports/store.ts';


export class StoreMailbox implements Mailbox {
  constructor(
    private readonly store: ContentStore,
    readonly userId: string,
  ) {}

  listFolders(): Promise<Folder[]> {
    return this.store.listFolders(this.userId);
  }
  getFolder(folderId: string): Promise<Folder | null> {
    return this.store.getFolder(this.userId, folderId);
  }
  getFolderByServerId(serverId: string): Promise<Folder | null> {
    return this.store.getFolderByServerId(this.userId, serverId);
  }
  createFolder(folder: MailboxNewFolder): Promise<Folder> {
    return this.store.createFolder({ ...folder, userId: this.userId });
  }
  updateFolder(folderId: string, patch: FolderPatch): Promise<Folder> {
    return this.store.updateFolder(this.userId, folderId, patch);
  }
  deleteFolder(folderId: string): Promise<void> {
    return this.store.deleteFolder(this.userId, folderId);
  }
  hierarchyModseq(): Promise<number> {
    return this.store.getHierarchyModseq(this.userId);
  }
  folderChangesSince(modseq: number): Promise<Folder[]> {
    return this.store.listFolderChangesSince(this.userId, modseq);
  }
  ensureDefaultFolders(): Promise<Folder[]> {
    return provisionDefaultFolders(this);
  }

  changesSince(folderId: string, modseq: number, limit: number): Promise<Item[]> {
    return this.store.listChangesSince(this.userId, folderId, modseq, limit);
  }
  scan(folderId: string, options?: ScanOptions): AsyncIterable<Item> {
    return scanFeed(this, folderId, options);
  }
  getItem(itemId: string): Promise<Item | null> {
    return this.store.getItem(this.userId, itemId);
  }
  getItemByServerId(serverId: string, includeTombstone?: boolean): Promise<Item | null> {
    return this.store.getItemByServerId(this.userId, serverId, includeTombstone);
  }
  getItemsByUid(uid: string): Promise<Item[]> {
    return this.store.getItemsByUid(this.userId, uid);
  }
  putItem(item: MailboxNewItem): Promise<Item> {
    return this.store.putItem({ ...item, userId: this.userId });
  }
  updateItem(itemId: string, patch: ItemPatch): Promise<Item> {
    return this.store.updateItem(this.userId, itemId, patch);
  }
  deleteItem(itemId: string): Promise<void> {
    return this.store.deleteItem(this.userId, itemId);
  }
  moveItem(itemId: string, toFolderId: string, newServerId?: string): Promise<Item> {
    return this.store.moveItem(this.userId, itemId, toFolderId, newServerId);
  }

  putBlobs(parts: readonly BlobInput[]): Promise<void> {
    return this.store.mail.putBlobs(parts);
  }
  getBlob(sha256: string): Promise<Buffer | null> {
    return this.store.mail.getBlob(sha256);
  }

  writeToken(): string | undefined | Promise<string | undefined> {
    return this.store.writeToken();
  }
}

interface Listener {
  folderIds: readonly string[] | null;
  onChange: MailboxChange;
}

/** Opens StoreMailboxes and dispatches the store's change notifications to each user's listeners. */
export class StoreMailboxProvider implements MailboxProvider {
  readonly #byUser = new Map<string, Set<Listener>>();
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: ContentStore,
    private readonly onListenerError: (err: unknown) => void = () => {},
  ) {}

  open(userId: string): Mailbox {
    return new StoreMailbox(this.store, userId);
  }

  watch(userId: string, folderIds: readonly string[] | null, onChange: MailboxChange): () => void {
    this.#unsubscribe ??= this.store.subscribeChanges((e) => this.#dispatch(e));
    const listener: Listener = { folderIds, onChange };
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#byUser.get(userId);
      if (!s?.delete(listener)) return;
      if (s.size === 0) this.#byUser.delete(userId);
    };
  }

  #dispatch(e: ChangeEvent): void {
    const set = this.#byUser.get(e.userId);
    if (!set) return;
    // A copy: a listener may stop watching (and so change the set) while we walk it. One stopped
    // by an earlier listener of this change is not called: after stop() nothing more arrives.
    for (const l of [...set]) {
      if (!set.has(l)) continue;
      if (e.folderId !== null && l.folderIds !== null && !l.folderIds.includes(e.folderId)) continue;
      try {
        const r: unknown = l.onChange(e.folderId);
        // An async listener's rejection is reported too, not left unhandled (which would end
        // the process under Node's default policy).
        if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
          (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#report(err));
        }
      } catch (err) {
        this.#report(err);
      }
    }
  }

  #report(err: unknown): void {
    try {
      this.onListenerError(err);
    } catch {
      // The error hook itself failed: nothing left to tell.
    }
  }
}
