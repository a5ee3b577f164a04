/**
 * The default folders every mailbox has (MS-ASCMD 2.2.3.186.3 Type (FolderSync): types 2-10 are
 * the default Inbox, Drafts, Deleted Items, Sent Items, Outbox, Tasks, Calendar, Contacts and
 * Notes folders; and Junk E-mail, a mail folder of type 12 as on Exchange), and their race-safe
 * creation over any Mailbox. easd creates them at the root
 * of a mailbox the first time anything needs them (FolderSync, delivery, a meeting, a policy).
 *
 * Their ServerIds are fixed per type, so two requests that race to create the same default folder
 * collide on the mailbox's unique ServerId and the loser sees StoreError 'conflict' instead of a
 * second Inbox.
 */
import type { Mailbox } from './mailbox.ts';
import { isStoreError, type Folder } from './types.ts';

export interface DefaultFolder {
  type: number;
  displayName: string;
  serverId: string;
}

/** MS-ASCMD 2.2.3.186.3: 12 is a user-created mail folder; Junk E-mail is one for EAS. */
export const JUNK_FOLDER_TYPE = 12;
const JUNK_SERVER_ID = 'junk';

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
  // Junk mail (src/mail/junk.ts). EAS has no folder type for it: Exchange sends its Junk Email
  // folder as a generic mail folder (type 12), so devices show it by name. easd knows it by its
  // ServerId and keeps clients from deleting or renaming it, as they cannot the typed defaults.
  { type: JUNK_FOLDER_TYPE, displayName: 'Junk E-mail', serverId: JUNK_SERVER_ID },
];

/** Whether this live folder is the mailbox's default folder `d` (typed defaults are one per type). */
function isDefault(d: DefaultFolder, f: Pick<Folder, 'type' | 'serverId' | 'parentId'>): boolean {
  return d.serverId === JUNK_SERVER_ID ? isJunkFolder(f) : f.type === d.type;
}

/**
 * The user's Junk E-mail folder: the type-12 folder at the root whose ServerId is "junk", or
 * "junk.<n>" when an earlier one was deleted (see provisionDefaultFolders). A folder a client
 * creates never gets such a ServerId (the store makes its own).
 */
export function isJunkFolder(f: Pick<Folder, 'type' | 'serverId' | 'parentId'>): boolean {
  return f.type === JUNK_FOLDER_TYPE && f.parentId === null && /^junk(?:\.\d+)?$/.test(f.serverId);
}

/** A folder no client may delete, rename or move: the typed defaults and the Junk E-mail folder. */
export function isProtectedFolder(f: Pick<Folder, 'type' | 'serverId' | 'parentId'>): boolean {
  return isSpecialFolderType(f.type) || isJunkFolder(f);
}

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

type Provisioned = Pick<Mailbox, 'userId' | 'listFolders' | 'createFolder' | 'getFolderByServerId'>;

/**
 * Makes sure the mailbox has every default folder, creating the missing ones at the root, and
 * returns its live folders. Costs one listFolders when nothing is missing. Idempotent and safe
 * when two requests race: a 'conflict' from a racing create counts as done.
 *
 * A default folder's ServerId is never reused once its folder is deleted (ServerIds are never
 * reused); if an administrator deleted one, the folder is recreated as "<serverId>.2",
 * "<serverId>.3", ... — still deterministic, so still race-safe.
 */
export async function provisionDefaultFolders(mailbox: Provisioned): Promise<Folder[]> {
  const folders = await mailbox.listFolders();
  const missing = DEFAULT_FOLDERS.filter((d) => !folders.some((f) => isDefault(d, f)));
  if (missing.length === 0) return folders;
  for (const d of missing) await createDefault(mailbox, d);
  return mailbox.listFolders();
}

async function createDefault(mailbox: Provisioned, d: DefaultFolder): Promise<void> {
  for (let n = 1; n <= MAX_SERVER_ID_ATTEMPTS; n++) {
    const serverId = n === 1 ? d.serverId : `${d.serverId}.${n}`;
    try {
      await mailbox.createFolder({ parentId: null, displayName: d.displayName, type: d.type, serverId });
      return;
    } catch (err) {
      if (!isStoreError(err, 'conflict')) throw err;
      // Someone else created it (a racing request): done. Or the ServerId belongs to a deleted
      // folder (a tombstone): try the next candidate.
      if (await mailbox.getFolderByServerId(serverId)) return;
    }
  }
  throw new Error(`no free ServerId for the default ${d.displayName} folder of user ${mailbox.userId}`);
}
