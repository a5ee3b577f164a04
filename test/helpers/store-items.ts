import { ensureDefaultFolders } from './default-folders.ts';
import type { Item, Store } from '../../src/store/types.ts';

/** The live (not deleted) items of a user's default folder of `type` (MS-ASCMD FolderSync Type). */
export async function liveItems(store: Store, userId: string, type: number): Promise<Item[]> {
  const folder = (await ensureDefaultFolders(store, userId)).find((f) => f.type === type)!;
  return (await store.listChangesSince(userId, folder.id, 0, 1000)).filter((i) => !i.deleted);
}

/** The same by e-mail address, without creating folders: none when the user has no such folder. */
export async function liveItemsOf(store: Store, email: string, type: number): Promise<Item[]> {
  const user = (await store.getUserByEmail(email))!;
  const folder = (await store.listFolders(user.id)).find((f) => f.type === type);
  if (!folder) return [];
  return (await store.listChangesSince(user.id, folder.id, 0, 1000)).filter((i) => !i.deleted);
}
