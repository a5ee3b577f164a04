import { isStoreError, type Folder } from '../ports/types.ts';
import type { Store } from '../ports/store.ts';

/**
 * The default folders every mailbox has (MS-ASCMD 2.2.3.186.3 Type (FolderSync): types 2-10 are
 * the default Inbox, Drafts, Deleted Items, Sent Items, Outbox, Tasks, Calendar, Contacts and
 * Notes folders). easd creates them at the root of a mailbox the first time the user's hierarchy
 * is synchronized.
 *
 * Their ServerIds are fixed per type, so two requests that race to create the same default folder
 * collide on the store's unique (user, serverId) constraint and the loser sees StoreError
 * 'conflict' instead of a second Inbox.
 */
export interface DefaultFolder {
  type: number;
  displayName: string;
  serverId: string;
}

export const DEFAULT_FOLDERS: readonly DefaultFolder[] = [
  { type: 2, displayName: 'Inbox', serverId: 'inbox' },
  { type: 3, displayName: 'Drafts', serverId: 'drafts' },
  { type: 4, displayName: 'Deleted Items', serverId: 'deleted' },
  { type: 5, displayName: 'Sent Items', serverId: 'sent' },
  { type: 6, displayName: 'Outbox', serverId: 'outbox' },
  { type: 7, displayName: 'Tasks', serverId: 'tasks' },
  { type: 8, displayName: 'Calendar', serverId: 'calendar' },
  { type: 9, displayName: 'Contacts', serverId: 'contacts' },
  { type: 10, displayName: 'Notes', serverId: 'notes' },
];

/** Recipient information cache (MS-ASCMD 2.2.3.186.3, type 19). */
export const RECIPIENT_INFO_CACHE_TYPE = 19;

/**
 * Folder types reserved for default folders (MS-ASCMD 2.2.3.186.2: "Folder types 2-11 and 19 are
 * reserved for default folder types"). A client cannot create, rename, move or delete such a
 * folder (2.2.3.177.3, .4, .6).
 */
export function isSpecialFolderType(type: number): boolean {
  return (type >= 2 && type <= 11) || type === RECIPIENT_INFO_CACHE_TYPE;
}

/**
 * Folder types a client may create with FolderCreate (MS-ASCMD 2.2.3.186.2): 1 (generic) and
 * 12-17 (user-created mail, calendar, contacts, tasks, journal, notes).
 */
export function isUserCreatableType(type: number): boolean {
  return type === 1 || (type >= 12 && type <= 17);
}

/** How many "<serverId>.<n>" alternatives are tried when a default's ServerId is a tombstone. */
const MAX_SERVER_ID_ATTEMPTS = 50;

/**
 * Makes sure the user has every default folder, creating the missing ones at the root, and
 * returns the user's live folders. Costs one listFolders when nothing is missing. Idempotent and
 * safe when two requests race: a 'conflict' from a racing create counts as done.
 *
 * A default folder's ServerId is never reused once its folder is deleted (ServerIds are never
 * reused, src/store/types.ts); if an administrator deleted one, the folder is recreated as
 * "<serverId>.2", "<serverId>.3", ... — still deterministic, so still race-safe.
 */
export async function ensureDefaultFolders(store: Store, userId: string): Promise<Folder[]> {
  const folders = await store.listFolders(userId);
  const have = new Set(folders.map((f) => f.type));
  const missing = DEFAULT_FOLDERS.filter((d) => !have.has(d.type));
  if (missing.length === 0) return folders;
  for (const d of missing) await createDefault(store, userId, d);
  return store.listFolders(userId);
}

async function createDefault(store: Store, userId: string, d: DefaultFolder): Promise<void> {
  for (let n = 1; n <= MAX_SERVER_ID_ATTEMPTS; n++) {
    const serverId = n === 1 ? d.serverId : `${d.serverId}.${n}`;
    try {
      await store.createFolder({ userId, parentId: null, displayName: d.displayName, type: d.type, serverId });
      return;
    } catch (err) {
      if (!isStoreError(err, 'conflict')) throw err;
      // Someone else created it (a racing request): done. Or the ServerId belongs to a deleted
      // folder (a tombstone): try the next candidate.
      if (await store.getFolderByServerId(userId, serverId)) return;
    }
  }
  throw new Error(`no free ServerId for the default ${d.displayName} folder of user ${userId}`);
}
