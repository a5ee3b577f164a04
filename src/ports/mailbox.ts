/**
 * The mailbox port: one user's content (folders, items, their change feed, blobs), whatever keeps
 * it. easd's own store is one implementation (src/store/store-mailbox.ts); a gateway in front of
 * IMAP and CalDAV/CardDAV is meant to be another, and the tests run the sync engine against an
 * in-memory one (test/helpers/memory-mailbox.ts) through the same contract suite
 * (test/ports/mailbox-contract.ts).
 *
 * A Mailbox is bound to its user: no method takes a user id, and no id handed to it ever reaches
 * another user's content (an unknown or foreign id behaves as absent: null, or StoreError
 * 'not_found').
 *
 * Change feed (what the sync engine is built on, DESIGN.md "Change feed, not state diffing"):
 * - every folder has `modseq`, the highest item change sequence in it; each item write takes the
 *   next number and a delete or move-out leaves a tombstone, so `changesSince` reports it;
 * - the hierarchy has a sequence of its own (`hierarchyModseq`), stamped on each folder write;
 *   deleted folders stay as tombstones for `folderChangesSince`;
 * - sequences only grow and are never reused; a reader never sees N+1 committed before N.
 *
 * Errors are StoreError ('not_found', 'conflict', 'invalid'); anything else is a fault of the
 * backend (down, full) and callers answer with their "retry later" status.
 */
import type { BlobInput } from './mail.ts';
import type { Folder, FolderPatch, Item, ItemPatch, NewFolder, NewItem } from './types.ts';

/** A folder to create in this mailbox (NewFolder without its owner). */
export type MailboxNewFolder = Omit<NewFolder, 'userId'>;
/** An item to store in this mailbox (NewItem without its owner). */
export type MailboxNewItem = Omit<NewItem, 'userId'>;

export interface ScanOptions {
  /** Stop after this many live items (a safety bound for readers that must not read without end). */
  limit?: number;
  /** Items per backend read (default: the implementation's). */
  pageSize?: number;
}

export interface Mailbox {
  readonly userId: string;

  // Hierarchy
  /** Live folders, parents possibly after children. */
  listFolders(): Promise<Folder[]>;
  /** Live folder or null. */
  getFolder(folderId: string): Promise<Folder | null>;
  getFolderByServerId(serverId: string): Promise<Folder | null>;
  /** 'not_found' for a missing parent, 'conflict' for a taken serverId (or a sibling's name with uniqueName). */
  createFolder(folder: MailboxNewFolder): Promise<Folder>;
  updateFolder(folderId: string, patch: FolderPatch): Promise<Folder>;
  /** The folder and its descendants become tombstones; their items go with them. */
  deleteFolder(folderId: string): Promise<void>;
  /** The hierarchy sequence (0 before any folder change). */
  hierarchyModseq(): Promise<number>;
  /** Folders (live and tombstones) changed after `modseq`, in sequence order. */
  folderChangesSince(modseq: number): Promise<Folder[]>;
  /**
   * The folders every EAS mailbox has (Inbox, Drafts, Deleted Items, Sent Items, Outbox,
   * Calendar, Contacts, Tasks, Notes; MS-ASCMD 2.2.3.186.3), created where missing. Returns the
   * live folders after.
   */
  ensureDefaultFolders(): Promise<Folder[]>;

  // Items
  /**
   * Items (live and tombstones) of a live folder changed after `modseq`, in sequence order, at
   * most `limit`. 'not_found' for a missing folder.
   */
  changesSince(folderId: string, modseq: number, limit: number): Promise<Item[]>;
  /**
   * Every live item of a folder, in sequence order: for readers that need the whole folder
   * (free/busy, address book, contact matching), not a position in the feed. A missing folder
   * yields nothing.
   */
  scan(folderId: string, options?: ScanOptions): AsyncIterable<Item>;
  getItem(itemId: string): Promise<Item | null>;
  /** Live item, or with `includeTombstone` the tombstone a ServerId left. */
  getItemByServerId(serverId: string, includeTombstone?: boolean): Promise<Item | null>;
  /** Live items with this uid (a meeting's copies across folders). */
  getItemsByUid(uid: string): Promise<Item[]>;
  /** 'not_found' for a missing folder, 'conflict' for a taken serverId. */
  putItem(item: MailboxNewItem): Promise<Item>;
  /** Bumps the item's modseq; with `expectedModseq`, 'conflict' when someone changed it first. */
  updateItem(itemId: string, patch: ItemPatch): Promise<Item>;
  /** Leaves a tombstone. */
  deleteItem(itemId: string): Promise<void>;
  /** A tombstone in the source folder, a new item (new id and serverId, same data and uid) in the target. */
  moveItem(itemId: string, toFolderId: string, newServerId?: string): Promise<Item>;

  // Blobs: message sources and attachments, by SHA-256 of their content
  putBlobs(parts: readonly BlobInput[]): Promise<void>;
  getBlob(sha256: string): Promise<Buffer | null>;

  /**
   * A value that changes whenever this mailbox may have been written to, or undefined when the
   * backend cannot tell (then no answer is served from a cache that relies on it).
   */
  writeToken(): string | undefined | Promise<string | undefined>;
}

/** What a change notification says: an item change in a folder, or (null) a hierarchy change. */
export type MailboxChange = (folderId: string | null) => void;

/** Who is asking, for backends that log in to the system that keeps the mail. */
export interface MailboxCredentials {
  user: string;
  password: string;
}

export interface MailboxProvider {
  /**
   * The user's mailbox. Cheap: a backend that logs in does so on first use. `credentials` are
   * those the request carried (absent for work done on the server's own behalf, such as
   * delivery).
   */
  open(userId: string, credentials?: MailboxCredentials): Mailbox;
  /**
   * Push: `onChange` hears every committed change of the user's mailbox in `folderIds` (null:
   * every folder) and every hierarchy change, after this returns (maybe some from just before),
   * asynchronously or not, never inside a write. A backend may report more than asked (a
   * listener filters), never less. A listener that throws is reported and does not affect the
   * write or other listeners. Returns stop.
   */
  watch(userId: string, folderIds: readonly string[] | null, onChange: MailboxChange): () => void;
}
