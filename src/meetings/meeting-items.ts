/**
 * Finding and writing a user's calendar item of a meeting by UID, for the meeting paths (delivery
 * of iTIP mail, MeetingResponse, meetings organised from devices). Items are matched by the
 * store's uid (the Calendar item's UID, store.getItemsByUid), only among the user's own items.
 */
import { isStoreError, type Folder, type Item, type JsonObject } from '../ports/types.ts';
import type { Store } from '../ports/store.ts';
import { ensureDefaultFolders } from '../mailbox/default-folders.ts';

/** Calendar folder types (MS-ASCMD 2.2.3.186.3): the default Calendar and user-created calendars. */
export const CALENDAR_FOLDER_TYPES = new Set([8, 13]);
/** Deleted Items. */
export const DELETED_ITEMS_TYPE = 4;

export interface MeetingItems {
  /** The live item in one of the user's calendars, if any. */
  item?: Item;
  /** Items of that UID in Deleted Items (a declined meeting, kb-1.8). */
  trashed: Item[];
  folders: Folder[];
}

export async function findMeetingItems(store: Store, userId: string, uid: string): Promise<MeetingItems> {
  const folders = await ensureDefaultFolders(store, userId);
  const typeOf = new Map(folders.map((f) => [f.id, f.type]));
  const items = (await store.getItemsByUid(userId, uid)).filter((i) => i.class === 'Calendar');
  const live = items.filter((i) => CALENDAR_FOLDER_TYPES.has(typeOf.get(i.folderId) ?? -1));
  // The default calendar's item first, then the oldest.
  live.sort((a, b) => (typeOf.get(a.folderId) === 8 ? 0 : 1) - (typeOf.get(b.folderId) === 8 ? 0 : 1) || a.createdAt.getTime() - b.createdAt.getTime());
  return { item: live[0], trashed: items.filter((i) => typeOf.get(i.folderId) === DELETED_ITEMS_TYPE), folders };
}

/**
 * Reads the item, decides, writes; again from the top when another writer changed the item in
 * between (StoreError 'conflict' on expectedModseq), so two replies delivered at once both count.
 */
export async function updateWithRetry(
  store: Store,
  userId: string,
  uid: string,
  decide: (current: Item | undefined, found: MeetingItems) => Promise<{ data?: JsonObject; delete?: boolean; create?: JsonObject } | undefined>,
): Promise<Item | undefined> {
  for (let attempt = 0; ; attempt++) {
    const found = await findMeetingItems(store, userId, uid);
    const outcome = await decide(found.item, found);
    if (!outcome) return found.item;
    try {
      if (outcome.create) {
        const calendar = found.folders.find((f) => f.type === 8);
        if (!calendar) throw new Error(`user ${userId} has no Calendar folder`);
        return await store.putItem({ userId, folderId: calendar.id, class: 'Calendar', data: outcome.create, uid });
      }
      if (!found.item) return undefined;
      if (outcome.delete) {
        await store.deleteItem(userId, found.item.id);
        return undefined;
      }
      if (outcome.data) return await store.updateItem(userId, found.item.id, { data: outcome.data, uid, expectedModseq: found.item.modseq });
      return found.item;
    } catch (err) {
      if (attempt < 4 && (isStoreError(err, 'conflict') || isStoreError(err, 'not_found'))) continue;
      throw err;
    }
  }
}
