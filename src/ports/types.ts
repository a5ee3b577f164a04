/**
 * The entities easd keeps (users, folders, items, devices, sync states), the change events of
 * the feed, and the StoreError family: the vocabulary every layer shares with the store. Pure
 * types and tiny helpers; the Store port itself is ports/store.ts, its implementation src/store/.
 */

export type ItemClass = 'Email' | 'Calendar' | 'Contacts' | 'Tasks' | 'Notes';
export const ITEM_CLASSES: readonly ItemClass[] = ['Email', 'Calendar', 'Contacts', 'Tasks', 'Notes'];

/** A JSON object as stored in an item's `data`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface User {
  id: string;
  /** Lowercased and trimmed; unique. */
  email: string;
  displayName: string | null;
  /** An encoded hash from src/auth/password.ts; never a plaintext password. */
  passwordHash: string;
  createdAt: Date;
}

export interface Folder {
  id: string;
  userId: string;
  /** Parent folder's id (not serverId); null for a top-level folder. */
  parentId: string | null;
  /** The id a client syncs by; unique per user, never reused (tombstones keep it). */
  serverId: string;
  displayName: string;
  /** Folder type number (for EAS, MS-ASCMD 2.2.3.186.3 FolderSync Type); opaque here. */
  type: number;
  /** Highest item change sequence in this folder (0 when nothing has happened yet). */
  modseq: number;
  /** User hierarchy sequence of this folder's last change (create, update or delete). */
  hierarchyModseq: number;
  deleted: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Item {
  id: string;
  userId: string;
  folderId: string;
  /** The id a client syncs by; unique per user, never reused (tombstones keep it). */
  serverId: string;
  class: ItemClass;
  /** Class-specific content. A tombstone's data is `{}`. */
  data: JsonObject;
  /** Calendar UID (GOID) or other correlation id; kept on tombstones. */
  uid: string | null;
  /** Folder change sequence of this item's last change. */
  modseq: number;
  /** Folder change sequence at which the item came into this folder (created or moved in). */
  createdModseq: number;
  /** True for a tombstone left by deleteItem or moveItem. */
  deleted: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Device {
  userId: string;
  deviceId: string;
  deviceType: string;
  userAgent: string | null;
  protocolVersion: string | null;
  firstSeen: Date;
  lastSeen: Date;
  /** How many times the device reset a collection with SyncKey 0 after its first sync (kb-2.13). */
  syncResets: number;
}

/**
 * One saved synchronization state of a device for one collection (a folder, or the folder
 * hierarchy), under the sync key the device was given. `data` belongs to the sync engine; the
 * store keeps it opaque.
 */
export interface SyncState {
  userId: string;
  deviceId: string;
  /** A folder id, or HIERARCHY_COLLECTION for FolderSync. */
  collectionId: string;
  syncKey: string;
  data: JsonObject;
  createdAt: Date;
}

/**
 * What the answer of one Sync changed in what the device holds of the collection (the sync
 * engine's record of what it was sent, src/sync/held-view.ts), saved with that answer's state.
 */
export interface HeldChange {
  /** The generation (sync key counter) of the key the answer gives. */
  gen: number;
  /** The lowest generation still answerable (the previous key's): older history may go. */
  keepFrom: number;
  /** Items the answer gave the device (Add, or its own Add), and those it took away (Delete, SoftDelete, its own Delete). */
  add: readonly string[];
  remove: readonly string[];
}

/** The collection id FolderSync states are saved under. */
export const HIERARCHY_COLLECTION = '';

/** A change notification: an item change in a folder, or (folderId null) a hierarchy change. */
export interface ChangeEvent {
  userId: string;
  folderId: string | null;
}

export type ChangeListener = (event: ChangeEvent) => void;

export interface NewUser {
  email: string;
  passwordHash: string;
  displayName?: string | null;
}

export interface NewFolder {
  userId: string;
  parentId: string | null;
  displayName: string;
  type: number;
  /** Defaults to the folder's generated id. */
  serverId?: string;
  /**
   * Refuse (StoreError 'conflict') when a live sibling has the same name (case-insensitive,
   * sameFolderName), checked under the user's hierarchy lock, so two racing creates cannot both
   * pass (FolderCreate, MS-ASCMD 2.2.3.177.3 Status 2).
   */
  uniqueName?: boolean;
}

export interface FolderPatch {
  displayName?: string;
  /** A folder of the same user, not the folder itself nor one of its descendants. */
  parentId?: string | null;
  type?: number;
  /** As NewFolder.uniqueName, for the folder's name in its (new) parent (FolderUpdate). */
  uniqueName?: boolean;
}

export interface NewItem {
  userId: string;
  folderId: string;
  class: ItemClass;
  data: JsonObject;
  /** Defaults to the item's generated id. */
  serverId?: string;
  uid?: string | null;
}

export interface ItemPatch {
  data?: JsonObject;
  uid?: string | null;
  /**
   * Optimistic concurrency: when given, the update only happens if the item's modseq is still
   * this value; otherwise StoreError 'conflict'.
   */
  expectedModseq?: number;
}

export interface DeviceSeen {
  userId: string;
  deviceId: string;
  deviceType: string;
  /** When absent, a known device keeps its stored value. */
  userAgent?: string | null;
  /** When absent, a known device keeps its stored value. */
  protocolVersion?: string | null;
}

export type StoreErrorCode = 'conflict' | 'not_found' | 'invalid';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

/** Options shared by both backends. */

const PG_CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * Whether an error is a passing condition of the database rather than a bug or bad input: a lost
 * or refused connection, a serialization failure or deadlock (PostgreSQL SQLSTATE classes 08 and
 * 40, 57P01-03), or a busy SQLite file. Commands answer these with their "retry" status.
 */
export function isTransientStoreError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // node-postgres reports a connection lost mid-query, or none to be had from the pool in time,
  // by message only (no code).
  if (typeof code !== 'string') return PG_CONNECTION_LOST.test(err.message);
  return (
    /^(08|40)/.test(code) ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_LOCKED'
  );
}
