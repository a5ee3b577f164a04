/**
 * The one Store implementation, over a Kysely instance of either dialect (sqlite.ts and
 * postgres.ts only build the Kysely instance and run migrations).
 *
 * Dialect differences handled here, explicitly:
 * - pg returns bigint (int8) columns and count(*) as strings -> `num()`;
 * - constraint violations carry different error codes -> `mapDbError()`;
 * - JSON is text on both, parsed and serialized here.
 * Both dialects support UPDATE ... RETURNING and INSERT ... ON CONFLICT, which are used as-is.
 *
 * Concurrency: every write that assigns a change sequence starts by incrementing the counter
 * row (the folder's `modseq` or the user's `hierarchy_modseq`) inside its transaction. On
 * PostgreSQL that row lock serializes writers of one folder (or one user's hierarchy) until
 * commit, so sequences commit in order; on SQLite the connection runs one transaction at a
 * time anyway.
 *
 * Change notifications: writes that change items or folders run in `#write`, which collects
 * their ChangeEvents and hands them to the backend's ChangeBus (changes.ts) inside the
 * transaction and after the commit.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { ChangeSet, LocalChangeBus, type ChangeBus } from './changes.ts';
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
import { prepareQuery } from './prepared.ts';
import { applyHeldChange, heldAmong, holdAlways } from './held-items-store.ts';
import { sameFolderName } from './folder-name.ts';
import type { Database, DevicesTable, FoldersTable, ItemsTable, SyncStatesTable, UsersTable } from './schema.ts';
import {
  ITEM_CLASSES,
  StoreError,
  type ChangeListener,
  type Device,
  type DeviceSeen,
  type Folder,
  type FolderPatch,
  type HeldChange,
  type Item,
  type ItemClass,
  type ItemPatch,
  type JsonObject,
  type NewFolder,
  type NewItem,
  type NewUser,
  type Store,
  type StoreOptions,
  type SyncState,
  type User,
} from './types.ts';

type Db = Kysely<Database> | Transaction<Database>;

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
  readonly #now: () => Date;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #changes: ChangeBus;
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
    this.#db = db;
    this.#now = opts.now ?? (() => new Date());
    this.#onClose = opts.onClose;
    this.#changes = opts.changes ?? new LocalChangeBus();
    this.sending = new KyselySendingStore(db, this.#now);
    this.search = new KyselySearchStore(db);
    this.devices = new KyselyDevicesStore(db, this.#now);
    this.protection = new KyselyProtectionStore(db, this.#now);
    this.directory = new KyselyDirectoryStore(db, this.#now);
    this.mail = new KyselyMailStore(db, this.#now);
    this.homes = new KyselyHomesStore(db, this.#now);
    this.mailboxLog = new KyselyMailboxLogStore(db, this.#now);
    this.#hot = hotQueries(db);
    this.#writeToken = opts.writeToken;
  }

  readonly #writeToken: (() => string | Promise<string>) | undefined;

  writeToken(): string | undefined | Promise<string | undefined> {
    return this.#writeToken?.();
  }

  async markSyncFailureNoticed(userId: string, itemId: string): Promise<boolean> {
    const res = await this.#db
      .insertInto('sync_failure_notices')
      .values({ user_id: userId, item_id: itemId, notified_at: this.#ts() })
      .onConflict((oc) => oc.columns(['user_id', 'item_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** The lookups every request makes, compiled once (src/store/prepared.ts). */
  readonly #hot: ReturnType<typeof hotQueries>;

  #ts(): string {
    return this.#now().toISOString();
  }

  /**
   * Runs `fn` in a transaction. The changes it reports with `changed` are published inside
   * the transaction (after `fn`, so only if it succeeded) and dispatched after the commit.
   */
  async #write<T>(fn: (trx: Transaction<Database>, changed: ChangeSet) => Promise<T>): Promise<T> {
    const changes = new ChangeSet();
    const result = await this.#db.transaction().execute(async (trx) => {
      const r = await fn(trx, changes);
      const events = changes.list();
      if (events.length > 0) await this.#changes.publish(trx, events);
      return r;
    });
    const events = changes.list();
    if (events.length > 0) this.#changes.committed(events);
    return result;
  }

  subscribeChanges(listener: ChangeListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('subscribeChanges: listener must be a function');
    return this.#changes.subscribe(listener);
  }

  // ---------------------------------------------------------------- users

  async createUser(u: NewUser): Promise<User> {
    const email = normalizeEmail(u.email);
    if (email === '') throw new StoreError('invalid', 'email is empty');
    if (typeof u.passwordHash !== 'string' || u.passwordHash === '') throw new StoreError('invalid', 'passwordHash is empty');
    const row = {
      id: randomUUID(),
      email,
      display_name: u.displayName ?? null,
      password_hash: u.passwordHash,
      hierarchy_modseq: 0,
      created_at: this.#ts(),
    };
    try {
      const inserted = await this.#db.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
      return toUser(inserted);
    } catch (err) {
      throw mapDbError(err, `user ${email}`);
    }
  }

  async getUserByEmail(email: string): Promise<User | null> {
    const [row] = await this.#hot.userByEmail(normalizeEmail(email));
    return row ? toUser(row) : null;
  }

  async getUserById(userId: string): Promise<User | null> {
    const [row] = await this.#hot.userById(userId);
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.#db.selectFrom('users').selectAll().orderBy('email').execute();
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return num(row.n);
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    if (typeof passwordHash !== 'string' || passwordHash === '') throw new StoreError('invalid', 'passwordHash is empty');
    const row = await this.#db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', userId)
      .returning('id')
      .executeTakeFirst();
    if (!row) throw notFound('user', userId);
  }

  async deleteUser(userId: string): Promise<void> {
    // Folders, items, devices and the devices' data go by ON DELETE CASCADE. The user's
    // hierarchy is notified, so their held requests end.
    await this.#write(async (trx, changed) => {
      const row = await trx.deleteFrom('users').where('id', '=', userId).returning('id').executeTakeFirst();
      if (!row) throw notFound('user', userId);
      changed.add(userId, null);
    });
  }

  // -------------------------------------------------------------- folders

  async createFolder(f: NewFolder): Promise<Folder> {
    if (typeof f.displayName !== 'string' || f.displayName === '') throw new StoreError('invalid', 'folder displayName is empty');
    if (!Number.isInteger(f.type)) throw new StoreError('invalid', 'folder type must be an integer');
    if (f.serverId !== undefined && f.serverId === '') throw new StoreError('invalid', 'folder serverId is empty');
    const id = randomUUID();
    const ts = this.#ts();
    try {
      return await this.#write(async (trx, changed) => {
        const hm = await bumpHierarchy(trx, f.userId, 1);
        if (f.parentId !== null && !(await liveFolderExists(trx, f.userId, f.parentId))) throw notFound('parent folder', f.parentId);
        if (f.uniqueName) await refuseSiblingName(trx, f.userId, f.parentId, f.displayName, null);
        const row = await trx
          .insertInto('folders')
          .values({
            id,
            user_id: f.userId,
            parent_id: f.parentId,
            server_id: f.serverId ?? id,
            display_name: f.displayName,
            type: f.type,
            modseq: 0,
            hierarchy_modseq: hm,
            deleted: 0,
            created_at: ts,
            updated_at: ts,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        changed.add(f.userId, null);
        return toFolder(row);
      });
    } catch (err) {
      throw mapDbError(err, `folder ${f.serverId ?? id}`);
    }
  }

  async listFolders(userId: string): Promise<Folder[]> {
    const rows = await this.#hot.folders(userId);
    return rows.map(toFolder);
  }

  async getFolder(userId: string, folderId: string): Promise<Folder | null> {
    const row = await this.#db
      .selectFrom('folders')
      .selectAll()
      .where('id', '=', folderId)
      .where('user_id', '=', userId)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return row ? toFolder(row) : null;
  }

  async getFolderByServerId(userId: string, serverId: string): Promise<Folder | null> {
    const row = await this.#db
      .selectFrom('folders')
      .selectAll()
      .where('user_id', '=', userId)
      .where('server_id', '=', serverId)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return row ? toFolder(row) : null;
  }

  async updateFolder(userId: string, folderId: string, patch: FolderPatch): Promise<Folder> {
    if (patch.displayName !== undefined && (typeof patch.displayName !== 'string' || patch.displayName === ''))
      throw new StoreError('invalid', 'folder displayName is empty');
    if (patch.type !== undefined && !Number.isInteger(patch.type)) throw new StoreError('invalid', 'folder type must be an integer');
    try {
      return await this.#write(async (trx, changed) => {
        // Lock the user's hierarchy first (see bumpHierarchy), then read under the lock.
        const hm = (await bumpHierarchy(trx, userId, 0)) + 1;
        const current = await selectLiveFolder(trx, userId, folderId);
        if (!current) throw notFound('folder', folderId);
        if (patch.displayName === undefined && patch.parentId === undefined && patch.type === undefined) return toFolder(current);
        if (patch.parentId !== undefined && patch.parentId !== null) {
          // The new parent must be a live folder of this user and not in the moved subtree.
          const parents = await liveParentMap(trx, userId);
          if (!parents.has(patch.parentId)) throw notFound('parent folder', patch.parentId);
          for (let at: string | null | undefined = patch.parentId; at != null; at = parents.get(at)) {
            if (at === folderId) throw new StoreError('invalid', 'a folder cannot be moved under itself or its descendant');
          }
        }
        if (patch.uniqueName && (patch.displayName !== undefined || patch.parentId !== undefined)) {
          const parentId = patch.parentId !== undefined ? patch.parentId : current.parent_id;
          await refuseSiblingName(trx, userId, parentId, patch.displayName ?? current.display_name, folderId);
        }
        await bumpHierarchy(trx, userId, 1);
        const row = await trx
          .updateTable('folders')
          .set({
            ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
            ...(patch.parentId !== undefined ? { parent_id: patch.parentId } : {}),
            ...(patch.type !== undefined ? { type: patch.type } : {}),
            hierarchy_modseq: hm,
            updated_at: this.#ts(),
          })
          .where('id', '=', folderId)
          .where('user_id', '=', userId)
          .returningAll()
          .executeTakeFirstOrThrow();
        changed.add(userId, null);
        return toFolder(row);
      });
    } catch (err) {
      throw mapDbError(err, `folder ${folderId}`);
    }
  }

  async deleteFolder(userId: string, folderId: string): Promise<void> {
    await this.#write(async (trx, changed) => {
      // Lock the user's hierarchy first (see bumpHierarchy), then read under the lock.
      let hm = await bumpHierarchy(trx, userId, 0);
      if (!(await liveFolderExists(trx, userId, folderId))) throw notFound('folder', folderId);
      // The folder and its live descendants, parents first.
      const parents = await liveParentMap(trx, userId);
      const doomed = [folderId];
      for (let i = 0; i < doomed.length; i++) {
        for (const [child, parent] of parents) if (parent === doomed[i]) doomed.push(child);
      }
      await bumpHierarchy(trx, userId, doomed.length);
      const ts = this.#ts();
      // Tombstone the folders before removing their items: on pg this takes each folder's row
      // lock, so an item write in flight finishes first (and its item is removed below) and a
      // later one finds the folder deleted.
      for (const id of doomed) {
        hm += 1;
        await trx
          .updateTable('folders')
          .set({ deleted: 1, hierarchy_modseq: hm, updated_at: ts })
          .where('id', '=', id)
          .where('user_id', '=', userId)
          .execute();
      }
      await trx.deleteFrom('items').where('user_id', '=', userId).where('folder_id', 'in', doomed).execute();
      // Every device's sync state and ClientId map of the deleted folders go too: the folder's
      // id is never reused, so nothing could ever read them again.
      await trx.deleteFrom('sync_states').where('user_id', '=', userId).where('collection_id', 'in', doomed).execute();
      await trx.deleteFrom('client_adds').where('user_id', '=', userId).where('collection_id', 'in', doomed).execute();
      await trx.deleteFrom('held_items').where('user_id', '=', userId).where('collection_id', 'in', doomed).execute();
      // The hierarchy, then each deleted folder (its items are gone).
      changed.add(userId, null);
      for (const id of doomed) changed.add(userId, id);
    });
  }

  async getHierarchyModseq(userId: string): Promise<number> {
    const row = await this.#db.selectFrom('users').select('hierarchy_modseq').where('id', '=', userId).executeTakeFirst();
    if (!row) throw notFound('user', userId);
    return num(row.hierarchy_modseq);
  }

  async listFolderChangesSince(userId: string, modseq: number): Promise<Folder[]> {
    checkModseq(modseq);
    const rows = await this.#db
      .selectFrom('folders')
      .selectAll()
      .where('user_id', '=', userId)
      .where('hierarchy_modseq', '>', modseq)
      .orderBy('hierarchy_modseq')
      .execute();
    return rows.map(toFolder);
  }

  // ---------------------------------------------------------------- items

  async putItem(it: NewItem): Promise<Item> {
    checkClass(it.class);
    const data = serializeData(it.data);
    if (it.serverId !== undefined && it.serverId === '') throw new StoreError('invalid', 'item serverId is empty');
    const id = randomUUID();
    const ts = this.#ts();
    try {
      return await this.#write(async (trx, changed) => {
        const modseq = await bumpFolder(trx, it.userId, it.folderId);
        const row = await trx
          .insertInto('items')
          .values({
            id,
            user_id: it.userId,
            folder_id: it.folderId,
            server_id: it.serverId ?? id,
            class: it.class,
            data,
            uid: it.uid ?? null,
            modseq,
            created_modseq: modseq,
            deleted: 0,
            created_at: ts,
            updated_at: ts,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        changed.add(it.userId, it.folderId);
        return toItem(row);
      });
    } catch (err) {
      throw mapDbError(err, `item ${it.serverId ?? id}`);
    }
  }

  async getItem(userId: string, itemId: string): Promise<Item | null> {
    const row = await this.#db
      .selectFrom('items')
      .selectAll()
      .where('id', '=', itemId)
      .where('user_id', '=', userId)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return row ? toItem(row) : null;
  }

  async getItemByServerId(userId: string, serverId: string, includeTombstone = false): Promise<Item | null> {
    let q = this.#db.selectFrom('items').selectAll().where('user_id', '=', userId).where('server_id', '=', serverId);
    if (!includeTombstone) q = q.where('deleted', '=', 0);
    const row = await q.executeTakeFirst();
    return row ? toItem(row) : null;
  }

  async getItemsByUid(userId: string, uid: string): Promise<Item[]> {
    const rows = await this.#db
      .selectFrom('items')
      .selectAll()
      .where('user_id', '=', userId)
      .where('uid', '=', uid)
      .where('deleted', '=', 0)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toItem);
  }

  async updateItem(userId: string, itemId: string, patch: ItemPatch): Promise<Item> {
    const data = patch.data !== undefined ? serializeData(patch.data) : undefined;
    return this.#write(async (trx, changed) => {
      const current = await this.#lockLiveItem(trx, userId, itemId);
      if (patch.expectedModseq !== undefined && num(current.modseq) !== patch.expectedModseq) {
        throw new StoreError('conflict', `item ${itemId} changed (modseq ${num(current.modseq)}, expected ${patch.expectedModseq})`);
      }
      const row = await trx
        .updateTable('items')
        .set({
          ...(data !== undefined ? { data } : {}),
          ...(patch.uid !== undefined ? { uid: patch.uid } : {}),
          modseq: current.nextModseq,
          updated_at: this.#ts(),
        })
        .where('id', '=', itemId)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirstOrThrow();
      changed.add(userId, current.folder_id);
      return toItem(row);
    });
  }

  async deleteItem(userId: string, itemId: string): Promise<void> {
    await this.#write(async (trx, changed) => {
      const current = await this.#lockLiveItem(trx, userId, itemId);
      await trx
        .updateTable('items')
        .set({ deleted: 1, data: '{}', modseq: current.nextModseq, updated_at: this.#ts() })
        .where('id', '=', itemId)
        .where('user_id', '=', userId)
        .execute();
      changed.add(userId, current.folder_id);
    });
  }

  async moveItem(userId: string, itemId: string, toFolderId: string, newServerId?: string): Promise<Item> {
    if (newServerId !== undefined && newServerId === '') throw new StoreError('invalid', 'item serverId is empty');
    const id = randomUUID();
    const ts = this.#ts();
    try {
      return await this.#write(async (trx, changed) => {
        const fromFolderId = await itemFolderId(trx, userId, itemId);
        if (fromFolderId === toFolderId) throw new StoreError('invalid', 'source and target folder are the same');
        // Lock both folders in a fixed order, so two opposite moves cannot deadlock.
        const seq = new Map<string, number>();
        for (const fid of [fromFolderId, toFolderId].sort()) seq.set(fid, await bumpFolder(trx, userId, fid));
        const current = await selectLiveItem(trx, userId, itemId);
        if (!current) throw notFound('item', itemId);
        await trx
          .updateTable('items')
          .set({ deleted: 1, data: '{}', modseq: seq.get(fromFolderId)!, updated_at: ts })
          .where('id', '=', itemId)
          .where('user_id', '=', userId)
          .execute();
        const row = await trx
          .insertInto('items')
          .values({
            id,
            user_id: userId,
            folder_id: toFolderId,
            server_id: newServerId ?? id,
            class: current.class,
            data: current.data,
            uid: current.uid,
            modseq: seq.get(toFolderId)!,
            created_modseq: seq.get(toFolderId)!,
            deleted: 0,
            created_at: ts,
            updated_at: ts,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        changed.add(userId, fromFolderId);
        changed.add(userId, toFolderId);
        return toItem(row);
      });
    } catch (err) {
      throw mapDbError(err, `item ${newServerId ?? id}`);
    }
  }

  async listChangesSince(userId: string, folderId: string, modseq: number, limit: number): Promise<Item[]> {
    checkModseq(modseq);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new StoreError('invalid', `limit must be a positive integer, not ${limit}`);
    if (!(await liveFolderExists(this.#db, userId, folderId))) throw notFound('folder', folderId);
    const rows = await this.#db
      .selectFrom('items')
      .selectAll()
      .where('folder_id', '=', folderId)
      .where('user_id', '=', userId)
      .where('modseq', '>', modseq)
      .orderBy('modseq')
      .limit(limit)
      .execute();
    return rows.map(toItem);
  }

  /**
   * Takes the next modseq of the item's folder (locking the folder row on pg), then reads the
   * item under that lock. Rolled back with the transaction if the caller throws.
   */
  async #lockLiveItem(trx: Transaction<Database>, userId: string, itemId: string) {
    // An item row never changes folder (moveItem makes a new row), so folder_id read before
    // the lock is still right after it.
    const folderId = await itemFolderId(trx, userId, itemId);
    const nextModseq = await bumpFolder(trx, userId, folderId);
    const current = await selectLiveItem(trx, userId, itemId);
    if (!current) throw notFound('item', itemId);
    return { ...current, nextModseq };
  }

  // -------------------------------------------------------------- devices

  async upsertDevice(d: DeviceSeen): Promise<Device> {
    if (d.deviceId === '') throw new StoreError('invalid', 'deviceId is empty');
    const ts = this.#ts();
    try {
      const row = await this.#db
        .insertInto('devices')
        .values({
          user_id: d.userId,
          device_id: d.deviceId,
          device_type: d.deviceType,
          user_agent: d.userAgent ?? null,
          protocol_version: d.protocolVersion ?? null,
          first_seen: ts,
          last_seen: ts,
        })
        .onConflict((oc) =>
          oc.columns(['user_id', 'device_id']).doUpdateSet({
            device_type: d.deviceType,
            ...(d.userAgent !== undefined ? { user_agent: d.userAgent } : {}),
            ...(d.protocolVersion !== undefined ? { protocol_version: d.protocolVersion } : {}),
            last_seen: ts,
          }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toDevice(row);
    } catch (err) {
      throw mapDbError(err, `device ${d.deviceId}`);
    }
  }

  async getDevice(userId: string, deviceId: string): Promise<Device | null> {
    const [row] = await this.#hot.device(userId, deviceId);
    return row ? toDevice(row) : null;
  }

  async listDevices(userId?: string): Promise<Device[]> {
    let q = this.#db.selectFrom('devices').selectAll();
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const rows = await q.orderBy('user_id').orderBy('device_id').execute();
    return rows.map(toDevice);
  }

  async deleteDevice(userId: string, deviceId: string): Promise<void> {
    const row = await this.#db
      .deleteFrom('devices')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .returning('device_id')
      .executeTakeFirst();
    if (!row) throw notFound('device', deviceId);
  }

  async recordSyncReset(userId: string, deviceId: string): Promise<number> {
    const row = await this.#db
      .updateTable('devices')
      .set((eb) => ({ sync_resets: eb('sync_resets', '+', 1) }))
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .returning('sync_resets')
      .executeTakeFirst();
    if (!row) throw notFound('device', deviceId);
    return Number(row.sync_resets);
  }

  async getDeviceData(userId: string, deviceId: string, name: string): Promise<JsonObject | null> {
    const [row] = await this.#hot.deviceData(userId, deviceId, name);
    return row ? (JSON.parse(row.data) as JsonObject) : null;
  }

  async putDeviceData(userId: string, deviceId: string, name: string, data: JsonObject): Promise<void> {
    const text = serializeData(data, 'device data');
    const ts = this.#ts();
    try {
      await this.#db
        .insertInto('device_data')
        .values({ user_id: userId, device_id: deviceId, name, data: text, updated_at: ts })
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'name']).doUpdateSet({ data: text, updated_at: ts }))
        .execute();
    } catch (err) {
      throw mapDbError(err, `device ${deviceId}`);
    }
  }

  // ---------------------------------------------------------- sync states

  async getSyncState(userId: string, deviceId: string, collectionId: string, syncKey: string): Promise<SyncState | null> {
    const [row] = await this.#hot.syncState(userId, deviceId, collectionId, syncKey);
    return row ? toSyncState(row) : null;
  }

  async listSyncStates(userId: string, deviceId: string, collectionId: string): Promise<SyncState[]> {
    const rows = await this.#db
      .selectFrom('sync_states')
      .selectAll()
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('collection_id', '=', collectionId)
      .execute();
    return rows.map(toSyncState);
  }

  async saveSyncState(state: Omit<SyncState, 'createdAt'>, keep: readonly string[], held?: HeldChange): Promise<void> {
    if (typeof state.syncKey !== 'string' || state.syncKey === '') throw new StoreError('invalid', 'syncKey is empty');
    if (typeof state.collectionId !== 'string') throw new StoreError('invalid', 'collectionId must be a string');
    const data = serializeData(state.data, 'sync state data');
    const ts = this.#ts();
    const { userId, deviceId, collectionId, syncKey } = state;
    await this.#db.transaction().execute(async (trx) => {
      // Takes the device row's lock (pg), so saves of one device apply one after the other and
      // each one's clean-up sees the state the previous one left; also checks the device exists.
      const device = await trx
        .updateTable('devices')
        .set((eb) => ({ sync_resets: eb.ref('sync_resets') }))
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .returning('device_id')
        .executeTakeFirst();
      if (!device) throw notFound('device', deviceId);
      await trx
        .insertInto('sync_states')
        .values({ user_id: userId, device_id: deviceId, collection_id: collectionId, sync_key: syncKey, data, created_at: ts })
        .onConflict((oc) => oc.columns(['user_id', 'device_id', 'collection_id', 'sync_key']).doUpdateSet({ data, created_at: ts }))
        .execute();
      await trx
        .deleteFrom('sync_states')
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('collection_id', '=', collectionId)
        .where('sync_key', 'not in', [syncKey, ...keep])
        .execute();
      if (held) await applyHeldChange(trx, { userId, deviceId, collectionId }, held);
    });
  }

  async deleteSyncStates(userId: string, deviceId: string, collectionId?: string): Promise<number> {
    return this.#db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('sync_states').where('user_id', '=', userId).where('device_id', '=', deviceId);
      let h = trx.deleteFrom('held_items').where('user_id', '=', userId).where('device_id', '=', deviceId);
      if (collectionId !== undefined) {
        q = q.where('collection_id', '=', collectionId);
        h = h.where('collection_id', '=', collectionId);
      }
      await h.execute();
      const result = await q.executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  async heldItems(userId: string, deviceId: string, collectionId: string, gen: number, itemIds: readonly string[]): Promise<Set<string>> {
    if (itemIds.length === 0) return new Set();
    return heldAmong(this.#db, { userId, deviceId, collectionId }, gen, itemIds);
  }

  async holdItems(userId: string, deviceId: string, collectionId: string, itemIds: readonly string[]): Promise<void> {
    if (itemIds.length === 0) return;
    try {
      await holdAlways(this.#db, { userId, deviceId, collectionId }, itemIds);
    } catch (err) {
      // A device removed meanwhile holds nothing: nothing to record.
      const mapped = mapDbError(err, `device ${deviceId}`);
      if (mapped instanceof StoreError && mapped.code === 'not_found') return;
      throw err;
    }
  }

  // ---------------------------------------------------------- client adds

  async getClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom('client_adds')
      .select('item_id')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .where('collection_id', '=', collectionId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    return row ? row.item_id : null;
  }

  async putClientAdd(userId: string, deviceId: string, collectionId: string, clientId: string, itemId: string): Promise<void> {
    const ts = this.#ts();
    try {
      await this.#db
        .insertInto('client_adds')
        .values({ user_id: userId, device_id: deviceId, collection_id: collectionId, client_id: clientId, item_id: itemId, created_at: ts })
        .onConflict((oc) =>
          oc.columns(['user_id', 'device_id', 'collection_id', 'client_id']).doUpdateSet({ item_id: itemId, created_at: ts }),
        )
        .execute();
    } catch (err) {
      throw mapDbError(err, `device ${deviceId}`);
    }
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
}

// ------------------------------------------------------------------ helpers

/**
 * Throws 'conflict' when a live folder under `parentId` (other than `self`) has the name. Runs
 * after bumpHierarchy, which holds the user's hierarchy row, so no other write of the user's
 * folders can come between this look and the write that follows it.
 */
async function refuseSiblingName(trx: Db, userId: string, parentId: string | null, name: string, self: string | null): Promise<void> {
  let q = trx.selectFrom('folders').select(['id', 'display_name']).where('user_id', '=', userId).where('deleted', '=', 0);
  q = parentId === null ? q.where('parent_id', 'is', null) : q.where('parent_id', '=', parentId);
  for (const r of await q.execute()) {
    if (r.id !== self && sameFolderName(r.display_name, name)) throw new StoreError('conflict', `a folder named "${name}" exists in that parent`);
  }
}

/**
 * Increments the user's hierarchy sequence by n and returns the new value. Every hierarchy
 * write calls it first (n = 0 just to take the lock), so on pg the user row lock serializes
 * one user's folder changes and their reads of the folder tree happen under it.
 */
async function bumpHierarchy(trx: Db, userId: string, n: number): Promise<number> {
  const row = await trx
    .updateTable('users')
    .set((eb) => ({ hierarchy_modseq: eb('hierarchy_modseq', '+', n).$castTo<number>() }))
    .where('id', '=', userId)
    .returning('hierarchy_modseq')
    .executeTakeFirst();
  if (!row) throw notFound('user', userId);
  return num(row.hierarchy_modseq);
}

/** Increments a live folder's item sequence and returns the new value. */
async function bumpFolder(trx: Db, userId: string, folderId: string): Promise<number> {
  const row = await trx
    .updateTable('folders')
    .set((eb) => ({ modseq: eb('modseq', '+', 1).$castTo<number>() }))
    .where('id', '=', folderId)
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .returning('modseq')
    .executeTakeFirst();
  if (!row) throw notFound('folder', folderId);
  return num(row.modseq);
}

async function selectLiveFolder(db: Db, userId: string, folderId: string) {
  return db
    .selectFrom('folders')
    .selectAll()
    .where('id', '=', folderId)
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .executeTakeFirst();
}

async function liveFolderExists(db: Db, userId: string, folderId: string): Promise<boolean> {
  const row = await db
    .selectFrom('folders')
    .select('id')
    .where('id', '=', folderId)
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  return row !== undefined;
}

/** id -> parent_id of the user's live folders. */
async function liveParentMap(db: Db, userId: string): Promise<Map<string, string | null>> {
  const rows = await db
    .selectFrom('folders')
    .select(['id', 'parent_id'])
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .execute();
  return new Map(rows.map((r) => [r.id, r.parent_id]));
}

async function selectLiveItem(db: Db, userId: string, itemId: string) {
  return db
    .selectFrom('items')
    .selectAll()
    .where('id', '=', itemId)
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .executeTakeFirst();
}

async function itemFolderId(db: Db, userId: string, itemId: string): Promise<string> {
  const row = await db
    .selectFrom('items')
    .select('folder_id')
    .where('id', '=', itemId)
    .where('user_id', '=', userId)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  if (!row) throw notFound('item', itemId);
  return row.folder_id;
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function notFound(what: string, id: string): StoreError {
  return new StoreError('not_found', `${what} ${id} not found`);
}

function checkModseq(modseq: number): void {
  if (!Number.isSafeInteger(modseq) || modseq < 0) throw new StoreError('invalid', `modseq must be a non-negative integer, not ${modseq}`);
}

function checkClass(cls: string): asserts cls is ItemClass {
  if (!(ITEM_CLASSES as readonly string[]).includes(cls)) throw new StoreError('invalid', `unknown item class ${cls}`);
}

function serializeData(data: JsonObject, what = 'item data'): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new StoreError('invalid', `${what} must be a JSON object`);
  return JSON.stringify(data);
}

/** int8 from either driver (number from SQLite, string from pg) to a JS number. */
function num(v: number | string | bigint): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`store: integer out of range: ${String(v)}`);
  return n;
}

/**
 * Constraint violations to StoreError; anything else passes through unchanged.
 * SQLite (better-sqlite3): SqliteError.code SQLITE_CONSTRAINT_*; pg: SQLSTATE 23505/23503.
 */
function mapDbError(err: unknown, what: string): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreError('conflict', `${what} already exists`, { cause: err });
  }
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new StoreError('not_found', `${what}: a referenced row does not exist`, { cause: err });
  }
  return err;
}

function toUser(r: Selectable<UsersTable>): User {
  return {
    id: r.id,
    email: r.email,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    createdAt: new Date(r.created_at),
  };
}

function toFolder(r: Selectable<FoldersTable>): Folder {
  return {
    id: r.id,
    userId: r.user_id,
    parentId: r.parent_id,
    serverId: r.server_id,
    displayName: r.display_name,
    type: Number(r.type),
    modseq: num(r.modseq),
    hierarchyModseq: num(r.hierarchy_modseq),
    deleted: Number(r.deleted) !== 0,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toItem(r: Selectable<ItemsTable>): Item {
  return {
    id: r.id,
    userId: r.user_id,
    folderId: r.folder_id,
    serverId: r.server_id,
    class: r.class as ItemClass,
    data: JSON.parse(r.data) as JsonObject,
    uid: r.uid,
    modseq: num(r.modseq),
    createdModseq: num(r.created_modseq),
    deleted: Number(r.deleted) !== 0,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toDevice(r: Selectable<DevicesTable>): Device {
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    deviceType: r.device_type,
    userAgent: r.user_agent,
    protocolVersion: r.protocol_version,
    firstSeen: new Date(r.first_seen),
    lastSeen: new Date(r.last_seen),
    syncResets: Number(r.sync_resets),
  };
}

function toSyncState(r: Selectable<SyncStatesTable>): SyncState {
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    collectionId: r.collection_id,
    syncKey: r.sync_key,
    data: JSON.parse(r.data) as JsonObject,
    createdAt: new Date(r.created_at),
  };
}

/** The per-request lookups as prepared queries (same SQL as the builder calls they replace). */
function hotQueries(db: Kysely<Database>) {
  return {
    userByEmail: prepareQuery(db, 1, (email: string) => db.selectFrom('users').selectAll().where('email', '=', email)),
    userById: prepareQuery(db, 1, (id: string) => db.selectFrom('users').selectAll().where('id', '=', id)),
    folders: prepareQuery(db, 1, (userId: string) =>
      db.selectFrom('folders').selectAll().where('user_id', '=', userId).where('deleted', '=', 0).orderBy('created_at').orderBy('id'),
    ),
    device: prepareQuery(db, 2, (userId: string, deviceId: string) =>
      db.selectFrom('devices').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId),
    ),
    deviceData: prepareQuery(db, 3, (userId: string, deviceId: string, name: string) =>
      db.selectFrom('device_data').select('data').where('user_id', '=', userId).where('device_id', '=', deviceId).where('name', '=', name),
    ),
    syncState: prepareQuery(db, 4, (userId: string, deviceId: string, collectionId: string, syncKey: string) =>
      db
        .selectFrom('sync_states')
        .selectAll()
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .where('collection_id', '=', collectionId)
        .where('sync_key', '=', syncKey),
    ),
  };
}
