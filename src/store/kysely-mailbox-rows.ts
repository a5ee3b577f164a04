/**
 * The row-level SQL of the mailbox tables (folders, items and the user's hierarchy sequence),
 * used by kysely-mailbox-content.ts: the sequence counters that also serve as locks, the live-row
 * lookups, the argument checks and the row mappers.
 */
import type { Selectable } from 'kysely';
import { sameFolderName } from '../ports/folder-name.ts';
import { live, notFound, num, parseJson, type Db } from './kysely-shared.ts';
import type { FoldersTable, ItemsTable } from './schema.ts';
import { ITEM_CLASSES, StoreError, type Folder, type Item, type ItemClass } from './types.ts';

/**
 * Throws 'conflict' when a live folder under `parentId` (other than `self`) has the name. Runs
 * after bumpHierarchy, which holds the user's hierarchy row, so no other write of the user's
 * folders can come between this look and the write that follows it.
 */
export async function refuseSiblingName(trx: Db, userId: string, parentId: string | null, name: string, self: string | null): Promise<void> {
  let q = trx.selectFrom('folders').select(['id', 'display_name']).$call(live(userId));
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
export async function bumpHierarchy(trx: Db, userId: string, n: number): Promise<number> {
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
export async function bumpFolder(trx: Db, userId: string, folderId: string): Promise<number> {
  const row = await trx
    .updateTable('folders')
    .set((eb) => ({ modseq: eb('modseq', '+', 1).$castTo<number>() }))
    .where('id', '=', folderId)
    .$call(live(userId))
    .returning('modseq')
    .executeTakeFirst();
  if (!row) throw notFound('folder', folderId);
  return num(row.modseq);
}

export async function selectLiveFolder(db: Db, userId: string, folderId: string) {
  return db.selectFrom('folders').selectAll().where('id', '=', folderId).$call(live(userId)).executeTakeFirst();
}

export async function liveFolderExists(db: Db, userId: string, folderId: string): Promise<boolean> {
  const row = await db.selectFrom('folders').select('id').where('id', '=', folderId).$call(live(userId)).executeTakeFirst();
  return row !== undefined;
}

/** id -> parent_id of the user's live folders. */
export async function liveParentMap(db: Db, userId: string): Promise<Map<string, string | null>> {
  const rows = await db.selectFrom('folders').select(['id', 'parent_id']).$call(live(userId)).execute();
  return new Map(rows.map((r) => [r.id, r.parent_id]));
}

export async function selectLiveItem(db: Db, userId: string, itemId: string) {
  return db.selectFrom('items').selectAll().where('id', '=', itemId).$call(live(userId)).executeTakeFirst();
}

export async function itemFolderId(db: Db, userId: string, itemId: string): Promise<string> {
  const row = await db.selectFrom('items').select('folder_id').where('id', '=', itemId).$call(live(userId)).executeTakeFirst();
  if (!row) throw notFound('item', itemId);
  return row.folder_id;
}

export function checkModseq(modseq: number): void {
  if (!Number.isSafeInteger(modseq) || modseq < 0) throw new StoreError('invalid', `modseq must be a non-negative integer, not ${modseq}`);
}

export function checkClass(cls: string): asserts cls is ItemClass {
  if (!(ITEM_CLASSES as readonly string[]).includes(cls)) throw new StoreError('invalid', `unknown item class ${cls}`);
}

export function toFolder(r: Selectable<FoldersTable>): Folder {
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

export function toItem(r: Selectable<ItemsTable>): Item {
  return {
    id: r.id,
    userId: r.user_id,
    folderId: r.folder_id,
    serverId: r.server_id,
    class: r.class as ItemClass,
    data: parseJson(r.data),
    uid: r.uid,
    modseq: num(r.modseq),
    createdModseq: num(r.created_modseq),
    deleted: Number(r.deleted) !== 0,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}
