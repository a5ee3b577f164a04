/**
 * Mailbox provisioning for code that still works on easd's own store by user id (delivery,
 * meetings, the address book, device notices): the default folders through the same race-safe
 * creation the Mailbox port uses (src/ports/default-folders.ts).
 */
import { provisionDefaultFolders } from '../ports/default-folders.ts';
import type { ContentStore } from '../ports/store.ts';
import type { Folder } from '../ports/types.ts';

export { DEFAULT_FOLDERS, isSpecialFolderType, isUserCreatableType, RECIPIENT_INFO_CACHE_TYPE, type DefaultFolder } from '../ports/default-folders.ts';

/**
 * Makes sure the user has every default folder and returns the user's live folders (one
 * listFolders when nothing is missing; see provisionDefaultFolders).
 */
export function ensureDefaultFolders(store: Pick<ContentStore, 'listFolders' | 'createFolder' | 'getFolderByServerId'>, userId: string): Promise<Folder[]> {
  return provisionDefaultFolders({
    userId,
    listFolders: () => store.listFolders(userId),
    createFolder: (f) => store.createFolder({ ...f, userId }),
    getFolderByServerId: (serverId) => store.getFolderByServerId(userId, serverId),
  });
}
