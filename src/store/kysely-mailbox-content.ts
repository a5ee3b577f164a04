/**
 * Mailbox content over Kysely, one part of KyselyStore (kysely-store.ts): folders, the user's
 * hierarchy sequence, items and the change feed, and the transactions that write them with
 * their change notifications.
 *
 * Concurrency: every write that assigns a change sequence starts by incrementing the counter
 * row (the folder's `modseq` or the user's `hierarchy_modseq`) inside its transaction. On
 * PostgreSQL that row lock serializes writers of one folder (or one user's hierarchy) until
 * commit, so sequences commit in order; on SQLite the connection runs one transaction at a
 * time anyway.
 *
 * Change notifications: writes that change items or folders run in `write`, which collects
 * their ChangeEvents and hands them to the backend's ChangeBus (changes.ts) inside the
 * transaction and after the commit.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { ChangeSet, type ChangeBus } from './changes.ts';
import {
  bumpFolder,
  bumpHierarchy,
  checkClass,
  checkModseq,
  itemFolderId,
  liveFolderExists,
  liveParentMap,
  refuseSiblingName,
  selectLiveFolder,
  selectLiveItem,
  toFolder,
  toItem,
} from './kysely-mailbox-rows.ts';
import { live, mapDbError, notFound, num, serializeData, timestamp } from './kysely-shared.ts';
import { prepareQuery } from './prepared.ts';
import type { Database } from './schema.ts';
import { StoreError, type ChangeListener, type Folder, type FolderPatch, type Item, type ItemPatch, type NewFolder, type NewItem } from './types.ts';

/** Runs `fn` in a transaction whose reported changes are notified (KyselyMailboxContent.write). */
export type WriteFn = <T>(fn: (trx: Transaction<Database>, changed: ChangeSet) => Promise<T>) => Promise<T>;

export class KyselyMailboxContent {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;
  readonly #changes: ChangeBus;
  /** The folder list every request reads, compiled once (src/store/prepared.ts). */
  readonly #folders: ReturnType<typeof prepareFolders>;

  constructor(db: Kysely<Database>, now: () => Date, changes: ChangeBus) {
    this.#db = db;
    this.#now = now;
    this.#changes = changes;
    this.#folders = prepareFolders(db);
  }

  /**
   * Runs `fn` in a transaction. The changes it reports with `changed` are published inside
   * the transaction (after `fn`, so only if it succeeded) and dispatched after the commit.
   */
  async write<T>(fn: (trx: Transaction<Database>, changed: ChangeSet) => Promise<T>): Promise<T> {
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

  // -------------------------------------------------------------- folders

  async createFolder(f: NewFolder): Promise<Folder> {
    if (typeof f.displayName !== 'string' || f.displayName === '') throw new StoreError('invalid', 'folder displayName is empty');
    if (!Number.isInteger(f.type)) throw new StoreError('invalid', 'folder type must be an integer');
    if (f.serverId !== undefined && f.serverId === '') throw new StoreError('invalid', 'folder serverId is empty');
    const id = randomUUID();
    const ts = timestamp(this.#now);
    try {
      return await this.write(async (trx, changed) => {
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
    const rows = await this.#folders(userId);
    return rows.map(toFolder);
  }

  async getFolder(userId: string, folderId: string): Promise<Folder | null> {
    const row = await selectLiveFolder(this.#db, userId, folderId);
    return row ? toFolder(row) : null;
  }

  async getFolderByServerId(userId: string, serverId: string): Promise<Folder | null> {
    const row = await this.#db.selectFrom('folders').selectAll().where('server_id', '=', serverId).$call(live(userId)).executeTakeFirst();
    return row ? toFolder(row) : null;
  }

  async updateFolder(userId: string, folderId: string, patch: FolderPatch): Promise<Folder> {
    if (patch.displayName !== undefined && (typeof patch.displayName !== 'string' || patch.displayName === ''))
      throw new StoreError('invalid', 'folder displayName is empty');
    if (patch.type !== undefined && !Number.isInteger(patch.type)) throw new StoreError('invalid', 'folder type must be an integer');
    try {
      return await this.write(async (trx, changed) => {
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
            updated_at: timestamp(this.#now),
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
    await this.write(async (trx, changed) => {
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
      const ts = timestamp(this.#now);
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
    const ts = timestamp(this.#now);
    try {
      return await this.write(async (trx, changed) => {
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
    const row = await selectLiveItem(this.#db, userId, itemId);
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
      .where('uid', '=', uid)
      .$call(live(userId))
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toItem);
  }

  async updateItem(userId: string, itemId: string, patch: ItemPatch): Promise<Item> {
    const data = patch.data !== undefined ? serializeData(patch.data) : undefined;
    return this.write(async (trx, changed) => {
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
          updated_at: timestamp(this.#now),
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
    await this.write(async (trx, changed) => {
      const current = await this.#lockLiveItem(trx, userId, itemId);
      await trx
        .updateTable('items')
        .set({ deleted: 1, data: '{}', modseq: current.nextModseq, updated_at: timestamp(this.#now) })
        .where('id', '=', itemId)
        .where('user_id', '=', userId)
        .execute();
      changed.add(userId, current.folder_id);
    });
  }

  async moveItem(userId: string, itemId: string, toFolderId: string, newServerId?: string): Promise<Item> {
    if (newServerId !== undefined && newServerId === '') throw new StoreError('invalid', 'item serverId is empty');
    const id = randomUUID();
    const ts = timestamp(this.#now);
    try {
      return await this.write(async (trx, changed) => {
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
}

/** The user's live folders, as a prepared query (same SQL as the builder call it replaces). */
function prepareFolders(db: Kysely<Database>) {
  return prepareQuery(db, 1, (userId: string) => db.selectFrom('folders').selectAll().$call(live(userId)).orderBy('created_at').orderBy('id'));
}
