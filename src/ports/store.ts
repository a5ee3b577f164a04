/**
 * The Store port: easd's one persistence interface, implemented by src/store/. It knows nothing
 * of EAS; it keeps users, folders, items and devices, and a change feed per folder (items) and
 * per user (folder hierarchy), as DESIGN.md "Change feed, not state diffing" asks.
 *
 * Change feed model
 * - Every folder has `modseq`, the highest item change sequence assigned in it. Each item
 *   write (put, update, delete) takes the next number and stamps it on the item row; a delete
 *   leaves a tombstone (`deleted: true`), so `listChangesSince` reports it later.
 * - Every user has a hierarchy sequence (`getHierarchyModseq`); each folder create, update and
 *   delete takes the next number and stamps it on the folder row (`hierarchyModseq`); deleted
 *   folders stay as tombstones for `listFolderChangesSince`.
 * - Sequences are strictly increasing and never reused. Within one folder (or one user's
 *   hierarchy) writes are serialized, so a reader never sees sequence N+1 committed while N is
 *   still to come.
 *
 * Ownership: every read and write of a folder or item takes the owner's userId, and never
 * returns, changes or deletes another user's row even when handed its ids (it behaves as if
 * the row did not exist: `null` or StoreError 'not_found').
 *
 * Errors: methods throw StoreError with a code the callers switch on; other errors are bugs or
 * infrastructure failures (database down, disk full).
 */

import type { DirectoryStore } from './directory.ts';
import type { DevicesStore } from './devices.ts';
import type { ProtectionStore } from './protection.ts';
import type { MailStore } from './mail.ts';
import type { HomesStore } from './homes.ts';
import type { MailboxLogStore } from './mailbox-log.ts';
import type { SearchStore } from './search.ts';
import type { SendingStore } from './sending.ts';
import type { ChangeListener, Device, DeviceSeen, Folder, FolderPatch, HeldChange, Item, ItemPatch, JsonObject, NewFolder, NewItem, NewUser, SyncState, User } from './types.ts';

/**
 * Accounts: users with their password hashes, and the directory (GAL fields, aliases, pictures,
 * out of office). Authentication reads it (src/auth/authenticator.ts).
 */
export interface AccountsStore {
  /** The directory (GAL fields, aliases, picture) and per-user settings (out of office). */
  readonly directory: DirectoryStore;

  // Users
  /**
   * Throws StoreError 'conflict' if the (case-insensitive, trimmed) email is taken: another user's
   * address, or another user's alias (the message names that user; the alias stays theirs).
   * 'invalid' if empty.
   */
  createUser(user: NewUser): Promise<User>;
  /** Case-insensitive. */
  getUserByEmail(email: string): Promise<User | null>;
  getUserById(userId: string): Promise<User | null>;
  /** Ordered by email. */
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;
  /** Deletes the user with all their folders, items and devices. */
  deleteUser(userId: string): Promise<void>;
}

/**
 * Mailbox content of every user in easd's own SQL store: folders, items, the change feed, blobs
 * and the search index. The EAS engine reaches it through the Mailbox port, one user at a time
 * (src/ports/mailbox.ts, src/store/store-mailbox.ts), never directly.
 */
export interface ContentStore {
  /** Mail content kept once by content: raw messages and attachments (mail.ts). */
  readonly mail: MailStore;
  /** The full-text index over the user's items (search.ts). */
  readonly search: SearchStore;

  // Folders (hierarchy)
  /** Throws 'not_found' if the user or parent does not exist, 'conflict' on a taken serverId. */
  createFolder(folder: NewFolder): Promise<Folder>;
  /** Live (not deleted) folders, ordered by createdAt then id (parents may follow children). */
  listFolders(userId: string): Promise<Folder[]>;
  /** Live folder or null. */
  getFolder(userId: string, folderId: string): Promise<Folder | null>;
  getFolderByServerId(userId: string, serverId: string): Promise<Folder | null>;
  updateFolder(userId: string, folderId: string, patch: FolderPatch): Promise<Folder>;
  /**
   * Deletes the folder and its descendants: each becomes a tombstone with a new hierarchy
   * sequence, and their items are removed (a client drops a deleted folder's contents).
   */
  deleteFolder(userId: string, folderId: string): Promise<void>;
  /** The user's hierarchy sequence (0 for a new user). Throws 'not_found' for an unknown user. */
  getHierarchyModseq(userId: string): Promise<number>;
  /** Folders (live and tombstones) changed after `modseq`, ordered by hierarchyModseq. */
  listFolderChangesSince(userId: string, modseq: number): Promise<Folder[]>;

  // Items
  /** Throws 'not_found' for a missing folder, 'conflict' on a taken serverId. */
  putItem(item: NewItem): Promise<Item>;
  /** Live item or null. */
  getItem(userId: string, itemId: string): Promise<Item | null>;
  /** Live item or null; with `includeTombstone`, the tombstone a ServerId left (ServerIds are never reused). */
  getItemByServerId(userId: string, serverId: string, includeTombstone?: boolean): Promise<Item | null>;
  /** Live items of the user with this uid (e.g. a meeting's occurrences across folders). */
  getItemsByUid(userId: string, uid: string): Promise<Item[]>;
  /** Bumps the item's modseq. */
  updateItem(userId: string, itemId: string, patch: ItemPatch): Promise<Item>;
  /** Leaves a tombstone with the folder's next modseq. */
  deleteItem(userId: string, itemId: string): Promise<void>;
  /**
   * Moves an item: a tombstone in the source folder and a new item (new id and serverId,
   * same data and uid) in the target folder, each with its folder's next modseq.
   */
  moveItem(userId: string, itemId: string, toFolderId: string, newServerId?: string): Promise<Item>;
  /**
   * Items (live and tombstones) of a live folder changed after `modseq`, ordered by modseq,
   * at most `limit`. Throws 'not_found' for a missing folder.
   */
  listChangesSince(userId: string, folderId: string, modseq: number, limit: number): Promise<Item[]>;

  /**
   * Change notifications for held Ping and Sync Wait requests. Every committed item write
   * notifies its folder (a move: both folders); every hierarchy write notifies (userId, null),
   * deleteFolder also each deleted folder, deleteUser the user's hierarchy. A listener hears
   * every user's changes and filters. Failed or empty writes notify nothing.
   * With PostgreSQL the notification crosses processes (LISTEN/NOTIFY), so a listener hears
   * changes stored by any node, asynchronously (maybe after the write's promise resolved); a
   * change committed before subscribing may still arrive, one committed after subscribeChanges
   * returned always does (except while the LISTEN connection is being re-established, which is
   * reported to the onError option). With SQLite it is in-process and synchronous, before the
   * write's promise resolves. Listeners are called after commit, never inside a transaction;
   * a listener that throws (or rejects) is reported to onError and does not affect the write
   * or other listeners. Returns unsubscribe.
   */
  subscribeChanges(listener: ChangeListener): () => void;

  /**
   * A value that changes whenever anything may have been written to the store, by this process
   * or another, or undefined when the backend cannot tell. Equal tokens before and after a
   * computation mean it read a store nobody wrote to: a repeated identical request may be
   * answered the same way (src/commands/sync.ts). SQLite answers at once (its data version);
   * PostgreSQL with one query (the WAL insert position, which any commit moves).
   */
  writeToken(): string | undefined | Promise<string | undefined>;
}

/**
 * The EAS server's own state per device, always in easd's SQL store whatever keeps the mail:
 * partnerships, device data, sync states and what each device holds, client Add ids, failure
 * notices, ComposeMail ClientIds.
 */
export interface DeviceStateStore {
  /** ComposeMail ClientIds already sent, per device (sending.ts). */
  readonly sending: SendingStore;

  // Devices
  /** Creates or refreshes a device; sets lastSeen (and firstSeen when new). */
  upsertDevice(device: DeviceSeen): Promise<Device>;
  getDevice(userId: string, deviceId: string): Promise<Device | null>;
  /** All devices, or one user's; ordered by userId, deviceId. */
  listDevices(userId?: string): Promise<Device[]>;
  deleteDevice(userId: string, deviceId: string): Promise<void>;
  /** Adds one to the device's syncResets and returns the new count. Throws 'not_found'. */
  recordSyncReset(userId: string, deviceId: string): Promise<number>;
  /** Small per-device values kept between requests (e.g. the last Ping or Sync request). */
  getDeviceData(userId: string, deviceId: string, name: string): Promise<JsonObject | null>;
  /** Replaces the value of that name. Throws 'not_found' for an unknown device. */
  putDeviceData(userId: string, deviceId: string, name: string, data: JsonObject): Promise<void>;

  // Sync states (per device and collection, by sync key)
  getSyncState(userId: string, deviceId: string, collectionId: string, syncKey: string): Promise<SyncState | null>;
  /** The device's states of one collection (the current key's and the previous one's, at most a few). */
  listSyncStates(userId: string, deviceId: string, collectionId: string): Promise<SyncState[]>;
  /**
   * Saves the state under its sync key and, in the same transaction, deletes the device's other
   * states of that collection except those whose keys are in `keep` (the previous key stays
   * answerable for a retried request, MS-ASCMD 2.2.3.177.3). Saving an existing key replaces it.
   * Saves of one device are serialized. Throws 'not_found' for an unknown device, 'invalid' for
   * an empty syncKey. `held`, in the same transaction: what the answer changed in what the device
   * holds of the collection (an earlier save of the same generation is undone first).
   */
  saveSyncState(state: Omit<SyncState, 'createdAt'>, keep: readonly string[], held?: HeldChange): Promise<void>;
  /**
   * Deletes the device's states of one collection, or of all collections when omitted, and what
   * it holds of them; returns how many states.
   */
  deleteSyncStates(userId: string, deviceId: string, collectionId?: string): Promise<number>;
  /** Which of `itemIds` the device holds of the collection at sync-key generation `gen`. */
  heldItems(userId: string, deviceId: string, collectionId: string, gen: number, itemIds: readonly string[]): Promise<Set<string>>;
  /**
   * Records items as held at every generation, outside a Sync (the record made for a sync state
   * saved before held items were kept). Unknown devices are ignored.
   */
  holdItems(userId: string, deviceId: string, collectionId: string, itemIds: readonly string[]): Promise<void>;

  /**
   * Client Adds are idempotent per device, collection and ClientId (kb-2.7): the item created
   * for a ClientId, or null. Mappings outlive sync keys. putClientAdd replaces an existing
   * mapping and throws 'not_found' for an unknown device.
   */
  getClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string): Promise<string | null>;
  putClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string, itemId: string): Promise<void>;

  /**
   * Records that the user was told an item could not be synchronized (kb-2.4). True the first
   * time for that user and item, false ever after (the notice is sent once per item).
   */
  markSyncFailureNoticed(userId: string, itemId: string): Promise<boolean>;

  writeToken(): string | undefined | Promise<string | undefined>;
}

/** Server-wide state: device policies and rules, protection records, mailbox logging, homes. */
export interface ServerStore {
  /** Device management: policies, access rules, per-device provisioning/access/wipe state. */
  readonly devices: DevicesStore;
  /** Throttle blocks and loop flags per device, for the admin (protection.ts). */
  readonly protection: ProtectionStore;
  /** Mailbox logging: per-user request/response capture (mailbox-log.ts). */
  readonly mailboxLog: MailboxLogStore;
  /** Users and mail domains homed on another deployment (homes.ts). */
  readonly homes: HomesStore;
}

/** The whole SQL store: what the composition root opens and hands out by owner. */
export interface Store extends AccountsStore, ContentStore, DeviceStateStore, ServerStore {
  close(): Promise<void>;
}
