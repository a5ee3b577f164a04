/**
 * The one Store implementation, over a Kysely instance of either dialect (sqlite.ts and
 * postgres.ts only build the Kysely instance and run migrations). It is made of parts, one per
 * owner of the data, and hands each Store method to its part:
 * - kysely-mailbox-content.ts: folders, the hierarchy sequence, items, the change feed and the
 *   transactions that notify changes (its row-level SQL in kysely-mailbox-rows.ts);
 * - kysely-device-state.ts: devices, device data, sync states, held items, client adds and
 *   sync-failure notices;
 * - kysely-accounts.ts: users;
 * - the areas (sending, search, devices, ...) in their own *-store.ts files.
 * kysely-shared.ts has what they share: the dialect differences, timestamps and `live()`.
 */
import type { Kysely } from 'kysely';
import { LocalChangeBus, type ChangeBus } from './changes.ts';
import { KyselySearchStore } from './search-store.ts';
import type { SearchStore } from './search-types.ts';
import { KyselySendingStore } from './sending-store.ts';
import type { SendingStore } from './sending-types.ts';
import { KyselyDevicesStore } from './devices-store.ts';
import type { DevicesStore } from './devices-types.ts';
import { KyselyProtectionStore } from './protection-store.ts';
import type { ProtectionStore } from './protection-types.ts';
import { KyselyDirectoryStore } from './directory-store.ts';
import type { DirectoryStore } from './directory-types.ts';
import { KyselyMailStore } from './mail-store.ts';
import { KyselyHomesStore } from './homes-store.ts';
import type { HomesStore } from './homes-types.ts';
import { KyselyMailboxLogStore } from './mailbox-log-store.ts';
import type { MailboxLogStore } from './mailbox-log-types.ts';
import type { MailStore } from './mail-types.ts';
import { KyselyAccounts } from './kysely-accounts.ts';
import { KyselyDeviceState } from './kysely-device-state.ts';
import { KyselyMailboxContent } from './kysely-mailbox-content.ts';
import type { Database } from './schema.ts';
import type {
  ChangeListener,
  Device,
  DeviceSeen,
  Folder,
  FolderPatch,
  HeldChange,
  Item,
  ItemPatch,
  JsonObject,
  NewFolder,
  NewItem,
  NewUser,
  Store,
  StoreOptions,
  SyncState,
  User,
} from './types.ts';

export interface KyselyStoreOptions extends StoreOptions {
  /** Runs after the database is closed. */
  onClose?: () => Promise<void>;
  /** How change notifications travel; default in-process (LocalChangeBus). */
  changes?: ChangeBus;
  /** Store.writeToken, when the connection can tell (SQLite at once, PostgreSQL with a query). */
  writeToken?: () => string | Promise<string>;
}

export class KyselyStore implements Store {
  readonly #db: Kysely<Database>;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #changes: ChangeBus;
  readonly #writeToken: (() => string | Promise<string>) | undefined;
  readonly #content: KyselyMailboxContent;
  readonly #deviceState: KyselyDeviceState;
  readonly #accounts: KyselyAccounts;
  #closing: Promise<void> | undefined;
  readonly sending: SendingStore;
  readonly search: SearchStore;
  readonly devices: DevicesStore;
  readonly protection: ProtectionStore;
  readonly directory: DirectoryStore;
  readonly mail: MailStore;
  readonly homes: HomesStore;
  readonly mailboxLog: MailboxLogStore;

  constructor(db: Kysely<Database>, opts: KyselyStoreOptions = {}) {
    const now = opts.now ?? (() => new Date());
    this.#db = db;
    this.#onClose = opts.onClose;
    this.#changes = opts.changes ?? new LocalChangeBus();
    this.#writeToken = opts.writeToken;
    this.sending = new KyselySendingStore(db, now);
    this.search = new KyselySearchStore(db);
    this.devices = new KyselyDevicesStore(db, now);
    this.protection = new KyselyProtectionStore(db, now);
    this.directory = new KyselyDirectoryStore(db, now);
    this.mail = new KyselyMailStore(db, now);
    this.homes = new KyselyHomesStore(db, now);
    this.mailboxLog = new KyselyMailboxLogStore(db, now);
    const content = new KyselyMailboxContent(db, now, this.#changes);
    this.#content = content;
    this.#deviceState = new KyselyDeviceState(db, now);
    this.#accounts = new KyselyAccounts(db, now, (fn) => content.write(fn));
  }

  writeToken(): string | undefined | Promise<string | undefined> {
    return this.#writeToken?.();
  }

  subscribeChanges(listener: ChangeListener): () => void {
    return this.#content.subscribeChanges(listener);
  }

  /** Idempotent. Stops change notifications first, then closes the database. */
  async close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#changes.close();
      await this.#db.destroy();
      await this.#onClose?.();
    })();
    return this.#closing;
  }

  // ------------------------------------------------------------- accounts (kysely-accounts.ts)

  createUser(user: NewUser): Promise<User> {
    return this.#accounts.createUser(user);
  }

  getUserByEmail(email: string): Promise<User | null> {
    return this.#accounts.getUserByEmail(email);
  }

  getUserById(userId: string): Promise<User | null> {
    return this.#accounts.getUserById(userId);
  }

  listUsers(): Promise<User[]> {
    return this.#accounts.listUsers();
  }

  countUsers(): Promise<number> {
    return this.#accounts.countUsers();
  }

  setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    return this.#accounts.setPasswordHash(userId, passwordHash);
  }

  deleteUser(userId: string): Promise<void> {
    return this.#accounts.deleteUser(userId);
  }

  // ----------------------------------------------- mailbox content (kysely-mailbox-content.ts)

  createFolder(folder: NewFolder): Promise<Folder> {
    return this.#content.createFolder(folder);
  }

  listFolders(userId: string): Promise<Folder[]> {
    return this.#content.listFolders(userId);
  }

  getFolder(userId: string, folderId: string): Promise<Folder | null> {
    return this.#content.getFolder(userId, folderId);
  }

  getFolderByServerId(userId: string, serverId: string): Promise<Folder | null> {
    return this.#content.getFolderByServerId(userId, serverId);
  }

  updateFolder(userId: string, folderId: string, patch: FolderPatch): Promise<Folder> {
    return this.#content.updateFolder(userId, folderId, patch);
  }

  deleteFolder(userId: string, folderId: string): Promise<void> {
    return this.#content.deleteFolder(userId, folderId);
  }

  getHierarchyModseq(userId: string): Promise<number> {
    return this.#content.getHierarchyModseq(userId);
  }

  listFolderChangesSince(userId: string, modseq: number): Promise<Folder[]> {
    return this.#content.listFolderChangesSince(userId, modseq);
  }

  putItem(item: NewItem): Promise<Item> {
    return this.#content.putItem(item);
  }

  getItem(userId: string, itemId: string): Promise<Item | null> {
    return this.#content.getItem(userId, itemId);
  }

  getItemByServerId(userId: string, serverId: string, includeTombstone?: boolean): Promise<Item | null> {
    return this.#content.getItemByServerId(userId, serverId, includeTombstone);
  }

  getItemsByUid(userId: string, uid: string): Promise<Item[]> {
    return this.#content.getItemsByUid(userId, uid);
  }

  updateItem(userId: string, itemId: string, patch: ItemPatch): Promise<Item> {
    return this.#content.updateItem(userId, itemId, patch);
  }

  deleteItem(userId: string, itemId: string): Promise<void> {
    return this.#content.deleteItem(userId, itemId);
  }

  moveItem(userId: string, itemId: string, toFolderId: string, newServerId?: string): Promise<Item> {
    return this.#content.moveItem(userId, itemId, toFolderId, newServerId);
  }

  listChangesSince(userId: string, folderId: string, modseq: number, limit: number): Promise<Item[]> {
    return this.#content.listChangesSince(userId, folderId, modseq, limit);
  }

  // ----------------------------------------------------- device state (kysely-device-state.ts)

  upsertDevice(device: DeviceSeen): Promise<Device> {
    return this.#deviceState.upsertDevice(device);
  }

  getDevice(userId: string, deviceId: string): Promise<Device | null> {
    return this.#deviceState.getDevice(userId, deviceId);
  }

  listDevices(userId?: string): Promise<Device[]> {
    return this.#deviceState.listDevices(userId);
  }

  deleteDevice(userId: string, deviceId: string): Promise<void> {
    return this.#deviceState.deleteDevice(userId, deviceId);
  }

  recordSyncReset(userId: string, deviceId: string): Promise<number> {
    return this.#deviceState.recordSyncReset(userId, deviceId);
  }

  getDeviceData(userId: string, deviceId: string, name: string): Promise<JsonObject | null> {
    return this.#deviceState.getDeviceData(userId, deviceId, name);
  }

  putDeviceData(userId: string, deviceId: string, name: string, data: JsonObject): Promise<void> {
    return this.#deviceState.putDeviceData(userId, deviceId, name, data);
  }

  getSyncState(userId: string, deviceId: string, collectionId: string, syncKey: string): Promise<SyncState | null> {
    return this.#deviceState.getSyncState(userId, deviceId, collectionId, syncKey);
  }

  listSyncStates(userId: string, deviceId: string, collectionId: string): Promise<SyncState[]> {
    return this.#deviceState.listSyncStates(userId, deviceId, collectionId);
  }

  saveSyncState(state: Omit<SyncState, 'createdAt'>, keep: readonly string[], held?: HeldChange): Promise<void> {
    return this.#deviceState.saveSyncState(state, keep, held);
  }

  deleteSyncStates(userId: string, deviceId: string, collectionId?: string): Promise<number> {
    return this.#deviceState.deleteSyncStates(userId, deviceId, collectionId);
  }

  heldItems(userId: string, deviceId: string, collectionId: string, gen: number, itemIds: readonly string[]): Promise<Set<string>> {
    return this.#deviceState.heldItems(userId, deviceId, collectionId, gen, itemIds);
  }

  holdItems(userId: string, deviceId: string, collectionId: string, itemIds: readonly string[]): Promise<void> {
    return this.#deviceState.holdItems(userId, deviceId, collectionId, itemIds);
  }

  getClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string): Promise<string | null> {
    return this.#deviceState.getClientAdd(userId, deviceId, collectionId, clientId);
  }

  putClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string, itemId: string): Promise<void> {
    return this.#deviceState.putClientAdd(userId, deviceId, collectionId, clientId, itemId);
  }

  markSyncFailureNoticed(userId: string, itemId: string): Promise<boolean> {
    return this.#deviceState.markSyncFailureNoticed(userId, itemId);
  }
}
