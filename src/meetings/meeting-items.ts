/**
 * Finding and writing a user's calendar item of a meeting by UID, for the meeting paths (delivery
 * of iTIP mail, MeetingResponse, meetings organised from devices). Items are matched by the
 * item's uid (the Calendar item's UID, Mailbox.getItemsByUid), only among the user's own items.
 */
import { isStoreError, type Folder, type Item, type JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';

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

export async function findMeetingItems(mailbox: Mailbox, uid: string): Promise<MeetingItems> {
  const folders = await mailbox.ensureDefaultFolders();
  const typeOf = new Map(folders.map((f) => [f.id, f.type]));
  const items = (await mailbox.getItemsByUid(uid)).filter((i) => i.class === 'Calendar');
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
  mailbox: Mailbox,
  uid: string,
  decide: (current: Item | undefined, found: MeetingItems) => Promise<{ data?: JsonObject; delete?: boolean; create?: JsonObject } | undefined>,
): Promise<Item | undefined> {
  for (let attempt = 0; ; attempt++) {
    const found = await findMeetingItems(mailbox, uid);
    const outcome = await decide(found.item, found);
    if (!outcome) return found.item;
    try {
      if (outcome.create) {
        const calendar = found.folders.find((f) => f.type === 8);
        if (!calendar) throw new Error(`user ${mailbox.userId} has no Calendar folder`);
        return await mailbox.putItem({ folderId: calendar.id, class: 'Calendar', data: outcome.create, uid });
      }
      if (!found.item) return undefined;
      if (outcome.delete) {
        await mailbox.deleteItem(found.item.id);
        return undefined;
      }
      if (outcome.data) return await mailbox.updateItem(found.item.id, { data: outcome.data, uid, expectedModseq: found.item.modseq });
      return found.item;
    } catch (err) {
      if (attempt < 4 && (isStoreError(err, 'conflict') || isStoreError(err, 'not_found'))) continue;
      throw err;
    }
  }
}
