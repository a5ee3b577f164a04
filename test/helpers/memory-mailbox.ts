/**
 * An in-memory MailboxProvider for tests: the mailbox port (src/ports/mailbox.ts) with the same
 * semantics as easd's SQL store (src/store/, behind src/store/store-mailbox.ts); both run the
 * same contract suite (test/ports/mailbox-contract.ts). It proves a second backend is one more
 * implementation, and lets the sync engine's tests run without a database.
 *
 * What it mirrors from the store, on purpose:
 * - ids are random UUIDs and a ServerId defaults to the row's id;
 * - per-folder item sequences and a per-user hierarchy sequence, both gap-free, never reused;
 * - ServerIds unique per user among live rows and tombstones (folders and items apart);
 * - deleteFolder tombstones the folder and its descendants but removes their items outright (the
 *   store deletes those rows, so their ServerIds are free again);
 * - item data is kept as JSON text, so what comes out is what a JSON column would give back
 *   (undefined members dropped) and a caller can never reach the stored object;
 * - the same validation, checked in the same order, with the same StoreError codes.
 * Each method runs to completion without yielding, which makes it atomic as the store's
 * transactions are: a racing call sees all of a write or none of it.
 *
 * Push timing: listeners are called synchronously right after a write is applied, before the
 * write's promise resolves, as SQLite's in-process delivery does (src/store/changes.ts). Tests
 * that wait for a notification therefore see it as soon as the write resolved; the contract
 * suite still waits for it, since PostgreSQL delivers later.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isBlobSource, type BlobInput } from '../../src/ports/mail.ts';
import type { Mailbox, MailboxChange, MailboxCredentials, MailboxProvider, ScanOptions } from '../../src/ports/mailbox.ts';
import { scanFeed } from '../../src/ports/scan-feed.ts';
import type { MailboxNewFolder, MailboxNewItem } from '../../src/ports/mailbox.ts';
import { provisionDefaultFolders } from '../../src/ports/default-folders.ts';
import { ITEM_CLASSES, StoreError, type Folder, type FolderPatch, type Item, type ItemPatch, type JsonObject } from '../../src/ports/types.ts';
import { sameFolderName } from '../../src/ports/folder-name.ts';

export interface MemoryMailboxOptions {
  /** Clock for createdAt/updatedAt (tests inject a fake one). */
  now?: () => Date;
  /** Where a throwing (or rejecting) watch listener is reported. Default: console.warn. */
  onListenerError?: (err: unknown) => void;
}

/** An item as kept: its data as JSON text, as the store's column holds it. */
type ItemRow = Omit<Item, 'data'> & { data: string };

/** One user's mailbox content: rows by id (tombstones included) and ServerId indexes. */
interface UserState {
  hierarchyModseq: number;
  folders: Map<string, Folder>;
  folderIdByServerId: Map<string, string>;
  items: Map<string, ItemRow>;
  itemIdByServerId: Map<string, string>;
}

interface Listener {
  folderIds: readonly string[] | null;
  onChange: MailboxChange;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Items per internal read of scan() when the caller gives no pageSize (the store's default). */

/** State shared by a provider and the mailboxes it opens. */
class Core {
  readonly users = new Map<string, UserState>();
  readonly blobs = new Map<string, Buffer>();
  readonly listeners = new Map<string, Set<Listener>>();
  /** Distinguishes this provider's tokens from another provider's with the same write count. */
  readonly instance = randomUUID().slice(0, 8);
  writes = 0;

  constructor(
    readonly now: () => Date,
    readonly onListenerError: (err: unknown) => void,
  ) {}

  user(userId: string): UserState {
    let s = this.users.get(userId);
    if (!s) {
      s = { hierarchyModseq: 0, folders: new Map(), folderIdByServerId: new Map(), items: new Map(), itemIdByServerId: new Map() };
      this.users.set(userId, s);
    }
    return s;
  }

  /**
   * Ends a committed write: the write token moves, then the user's listeners hear each change
   * (duplicates dropped, first-seen order, as the store's ChangeSet does).
   */
  committed(userId: string, changes: readonly (string | null)[]): void {
    this.writes += 1;
    const set = this.listeners.get(userId);
    if (!set) return;
    for (const folderId of [...new Set(changes)]) {
      // A snapshot: a listener may stop itself or others while we walk; a stopped one is skipped.
      for (const l of [...set]) {
        if (!set.has(l)) continue;
        if (folderId !== null && l.folderIds !== null && !l.folderIds.includes(folderId)) continue;
        try {
          const r: unknown = l.onChange(folderId);
          if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
            (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.report(err));
          }
        } catch (err) {
          this.report(err);
        }
      }
    }
  }

  report(err: unknown): void {
    try {
      this.onListenerError(new Error('a mailbox change listener failed', { cause: err }));
    } catch {
      // The error hook itself failed: nothing left to tell.
    }
  }
}

export class MemoryMailboxProvider implements MailboxProvider {
  readonly #core: Core;

  constructor(opts: MemoryMailboxOptions = {}) {
    this.#core = new Core(opts.now ?? (() => new Date()), opts.onListenerError ?? ((err) => console.warn('memory mailbox:', err)));
  }

  /** Any user id opens a mailbox; an unknown one starts empty (users live in easd's SQL store). */
  open(userId: string, _credentials?: MailboxCredentials): Mailbox {
    return new MemoryMailbox(this.#core, userId);
  }

  /**
   * Creates an empty mailbox (for tests that need users without a SQL store) and returns its
   * user id: a new UUID unless one is given. An existing mailbox is left as it is.
   */
  createMailbox(userId: string = randomUUID()): string {
    this.#core.user(userId);
    return userId;
  }

  watch(userId: string, folderIds: readonly string[] | null, onChange: MailboxChange): () => void {
    const listener: Listener = { folderIds: folderIds === null ? null : [...folderIds], onChange };
    let set = this.#core.listeners.get(userId);
    if (!set) this.#core.listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#core.listeners.get(userId);
      if (!s?.delete(listener)) return;
      if (s.size === 0) this.#core.listeners.delete(userId);
    };
  }
}

export class MemoryMailbox implements Mailbox {
  readonly #core: Core;

  constructor(core: Core, readonly userId: string) {
    this.#core = core;
  }

  get #s(): UserState {
    return this.#core.user(this.userId);
  }

  #ts(): Date {
    return new Date(this.#core.now().getTime());
  }

  #liveFolder(folderId: string): Folder | undefined {
    const f = this.#s.folders.get(folderId);
    return f && !f.deleted ? f : undefined;
  }

  #liveItem(itemId: string): ItemRow | undefined {
    const i = this.#s.items.get(itemId);
    return i && !i.deleted ? i : undefined;
  }

  // ------------------------------------------------------------ hierarchy

  async listFolders(): Promise<Folder[]> {
    // The store's order: createdAt, then id (so parents may follow children).
    const live = [...this.#s.folders.values()].filter((f) => !f.deleted);
    live.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || cmp(x.id, y.id));
    return live.map(copyFolder);
  }

  async getFolder(folderId: string): Promise<Folder | null> {
    const f = this.#liveFolder(folderId);
    return f ? copyFolder(f) : null;
  }

  async getFolderByServerId(serverId: string): Promise<Folder | null> {
    const id = this.#s.folderIdByServerId.get(serverId);
    const f = id === undefined ? undefined : this.#liveFolder(id);
    return f ? copyFolder(f) : null;
  }

  async createFolder(folder: MailboxNewFolder): Promise<Folder> {
    checkDisplayName(folder.displayName);
    checkType(folder.type);
    checkServerId(folder.serverId, 'folder');
    const s = this.#s;
    const id = randomUUID();
    if (folder.parentId !== null && !this.#liveFolder(folder.parentId)) throw notFound('parent folder', folder.parentId);
    if (folder.uniqueName) this.#refuseSiblingName(folder.parentId, folder.displayName, null);
    const serverId = folder.serverId ?? id;
    if (s.folderIdByServerId.has(serverId)) throw new StoreError('conflict', `folder ${serverId} already exists`);
    const ts = this.#ts();
    s.hierarchyModseq += 1;
    const row: Folder = {
      id, userId: this.userId, parentId: folder.parentId, serverId, displayName: folder.displayName, type: folder.type,
      modseq: 0, hierarchyModseq: s.hierarchyModseq, deleted: false, createdAt: ts, updatedAt: ts,
    };
    s.folders.set(id, row);
    s.folderIdByServerId.set(serverId, id);
    this.#core.committed(this.userId, [null]);
    return copyFolder(row);
  }

  async updateFolder(folderId: string, patch: FolderPatch): Promise<Folder> {
    if (patch.displayName !== undefined) checkDisplayName(patch.displayName);
    if (patch.type !== undefined) checkType(patch.type);
    const current = this.#liveFolder(folderId);
    if (!current) throw notFound('folder', folderId);
    // Nothing to change is not a change (no sequence, no notification), as in the store.
    if (patch.displayName === undefined && patch.parentId === undefined && patch.type === undefined) return copyFolder(current);
    if (patch.parentId !== undefined && patch.parentId !== null) {
      if (!this.#liveFolder(patch.parentId)) throw notFound('parent folder', patch.parentId);
      for (let at: string | null = patch.parentId; at !== null; at = this.#s.folders.get(at)!.parentId) {
        if (at === folderId) throw new StoreError('invalid', 'a folder cannot be moved under itself or its descendant');
      }
    }
    if (patch.uniqueName && (patch.displayName !== undefined || patch.parentId !== undefined)) {
      const parentId = patch.parentId !== undefined ? patch.parentId : current.parentId;
      this.#refuseSiblingName(parentId, patch.displayName ?? current.displayName, folderId);
    }
    const s = this.#s;
    s.hierarchyModseq += 1;
    if (patch.displayName !== undefined) current.displayName = patch.displayName;
    if (patch.parentId !== undefined) current.parentId = patch.parentId;
    if (patch.type !== undefined) current.type = patch.type;
    current.hierarchyModseq = s.hierarchyModseq;
    current.updatedAt = this.#ts();
    this.#core.committed(this.userId, [null]);
    return copyFolder(current);
  }

  async deleteFolder(folderId: string): Promise<void> {
    if (!this.#liveFolder(folderId)) throw notFound('folder', folderId);
    const s = this.#s;
    // The folder and its live descendants, parents first.
    const live = [...s.folders.values()].filter((f) => !f.deleted);
    const doomed = [folderId];
    for (let i = 0; i < doomed.length; i++) {
      for (const f of live) if (f.parentId === doomed[i]) doomed.push(f.id);
    }
    const ts = this.#ts();
    for (const id of doomed) {
      const f = s.folders.get(id)!;
      s.hierarchyModseq += 1;
      f.deleted = true;
      f.hierarchyModseq = s.hierarchyModseq;
      f.updatedAt = ts;
    }
    // Their items are removed, not tombstoned: the store deletes the rows (a client drops a
    // deleted folder's contents with it).
    const gone = new Set(doomed);
    for (const [id, item] of s.items) {
      if (!gone.has(item.folderId)) continue;
      s.items.delete(id);
      s.itemIdByServerId.delete(item.serverId);
    }
    this.#core.committed(this.userId, [null, ...doomed]);
  }

  async hierarchyModseq(): Promise<number> {
    return this.#s.hierarchyModseq;
  }

  async folderChangesSince(modseq: number): Promise<Folder[]> {
    checkModseq(modseq);
    const changed = [...this.#s.folders.values()].filter((f) => f.hierarchyModseq > modseq);
    changed.sort((x, y) => x.hierarchyModseq - y.hierarchyModseq);
    return changed.map(copyFolder);
  }

  ensureDefaultFolders(): Promise<Folder[]> {
    return provisionDefaultFolders(this);
  }

  #refuseSiblingName(parentId: string | null, name: string, self: string | null): void {
    for (const f of this.#s.folders.values()) {
      if (f.deleted || f.parentId !== parentId || f.id === self) continue;
      if (sameFolderName(f.displayName, name)) throw new StoreError('conflict', `a folder named "${name}" exists in that parent`);
    }
  }

  // ---------------------------------------------------------------- items

  async changesSince(folderId: string, modseq: number, limit: number): Promise<Item[]> {
    checkModseq(modseq);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new StoreError('invalid', `limit must be a positive integer, not ${limit}`);
    if (!this.#liveFolder(folderId)) throw notFound('folder', folderId);
    const rows = [...this.#s.items.values()].filter((i) => i.folderId === folderId && i.modseq > modseq);
    rows.sort((x, y) => x.modseq - y.modseq);
    return rows.slice(0, limit).map(toItem);
  }

  scan(folderId: string, options?: ScanOptions): AsyncIterable<Item> {
    return scanFeed(this, folderId, options);
  }

  async getItem(itemId: string): Promise<Item | null> {
    const i = this.#liveItem(itemId);
    return i ? toItem(i) : null;
  }

  async getItemByServerId(serverId: string, includeTombstone = false): Promise<Item | null> {
    const id = this.#s.itemIdByServerId.get(serverId);
    const i = id === undefined ? undefined : this.#s.items.get(id);
    if (!i || (i.deleted && !includeTombstone)) return null;
    return toItem(i);
  }

  async getItemsByUid(uid: string): Promise<Item[]> {
    const rows = [...this.#s.items.values()].filter((i) => !i.deleted && i.uid === uid);
    rows.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || cmp(x.id, y.id));
    return rows.map(toItem);
  }

  async putItem(item: MailboxNewItem): Promise<Item> {
    checkClass(item.class);
    const data = serializeData(item.data);
    checkServerId(item.serverId, 'item');
    const folder = this.#liveFolder(item.folderId);
    if (!folder) throw notFound('folder', item.folderId);
    const id = randomUUID();
    const serverId = item.serverId ?? id;
    if (this.#s.itemIdByServerId.has(serverId)) throw new StoreError('conflict', `item ${serverId} already exists`);
    folder.modseq += 1;
    const row = this.#addItem({ id, folderId: item.folderId, serverId, class: item.class, data, uid: item.uid ?? null }, folder.modseq, this.#ts());
    this.#core.committed(this.userId, [item.folderId]);
    return toItem(row);
  }

  async updateItem(itemId: string, patch: ItemPatch): Promise<Item> {
    const data = patch.data !== undefined ? serializeData(patch.data) : undefined;
    const current = this.#liveItem(itemId);
    if (!current) throw notFound('item', itemId);
    // A refused update takes no sequence: checked before the folder's is taken.
    if (patch.expectedModseq !== undefined && current.modseq !== patch.expectedModseq) {
      throw new StoreError('conflict', `item ${itemId} changed (modseq ${current.modseq}, expected ${patch.expectedModseq})`);
    }
    const folder = this.#liveFolder(current.folderId)!;
    folder.modseq += 1;
    if (data !== undefined) current.data = data;
    if (patch.uid !== undefined) current.uid = patch.uid;
    current.modseq = folder.modseq;
    current.updatedAt = this.#ts();
    this.#core.committed(this.userId, [current.folderId]);
    return toItem(current);
  }

  async deleteItem(itemId: string): Promise<void> {
    const current = this.#liveItem(itemId);
    if (!current) throw notFound('item', itemId);
    const folder = this.#liveFolder(current.folderId)!;
    folder.modseq += 1;
    tombstone(current, folder.modseq, this.#ts());
    this.#core.committed(this.userId, [current.folderId]);
  }

  async moveItem(itemId: string, toFolderId: string, newServerId?: string): Promise<Item> {
    checkServerId(newServerId, 'item');
    const current = this.#liveItem(itemId);
    if (!current) throw notFound('item', itemId);
    if (current.folderId === toFolderId) throw new StoreError('invalid', 'source and target folder are the same');
    const target = this.#liveFolder(toFolderId);
    if (!target) throw notFound('folder', toFolderId);
    const id = randomUUID();
    const serverId = newServerId ?? id;
    // The source item keeps its ServerId as a tombstone, so moving onto it is a conflict too.
    if (this.#s.itemIdByServerId.has(serverId)) throw new StoreError('conflict', `item ${serverId} already exists`);
    const source = this.#liveFolder(current.folderId)!;
    const ts = this.#ts();
    source.modseq += 1;
    target.modseq += 1;
    // The new item first: the tombstone drops the data it copies.
    const row = this.#addItem({ id, folderId: toFolderId, serverId, class: current.class, data: current.data, uid: current.uid }, target.modseq, ts);
    tombstone(current, source.modseq, ts);
    this.#core.committed(this.userId, [current.folderId, toFolderId]);
    return toItem(row);
  }

  /** A new live item, created (or moved in) at `modseq` of its folder. */
  #addItem(r: Pick<ItemRow, 'id' | 'folderId' | 'serverId' | 'class' | 'data' | 'uid'>, modseq: number, ts: Date): ItemRow {
    const row: ItemRow = { ...r, userId: this.userId, modseq, createdModseq: modseq, deleted: false, createdAt: ts, updatedAt: ts };
    this.#s.items.set(row.id, row);
    this.#s.itemIdByServerId.set(row.serverId, row.id);
    return row;
  }

  // ---------------------------------------------------------------- blobs

  async putBlobs(input: readonly BlobInput[]): Promise<void> {
    // A source is read whole here: in memory is where these blobs live anyway.
    const parts: Array<{ sha256: string; data: Buffer }> = [];
    for (const p of input) {
      if (!isBlobSource(p)) parts.push(p);
      else if (!this.#core.blobs.has(p.sha256)) {
        const chunks: Buffer[] = [];
        for await (const c of p.read()) chunks.push(Buffer.from(c));
        parts.push({ sha256: p.sha256, data: Buffer.concat(chunks) });
      }
    }
    // Every part is checked before any is kept, as the store refuses the call as a whole.
    for (const p of parts) {
      if (!SHA256_HEX.test(p.sha256) || createHash('sha256').update(p.data).digest('hex') !== p.sha256) {
        throw new StoreError('invalid', `blob sha256 ${String(p.sha256).slice(0, 70)} does not match its bytes`);
      }
    }
    if (parts.length === 0) return;
    for (const p of parts) if (!this.#core.blobs.has(p.sha256)) this.#core.blobs.set(p.sha256, Buffer.from(p.data));
    // Blobs belong to no user (they are shared by content): the write moves the token only.
    this.#core.writes += 1;
  }

  async getBlob(sha256: string): Promise<Buffer | null> {
    const b = this.#core.blobs.get(sha256);
    return b ? Buffer.from(b) : null;
  }

  writeToken(): string {
    return `${this.#core.instance}.${this.#core.writes}`;
  }
}

function tombstone(row: ItemRow, modseq: number, ts: Date): void {
  row.deleted = true;
  row.data = '{}';
  row.modseq = modseq;
  row.updatedAt = ts;
}

function copyFolder(f: Folder): Folder {
  return { ...f, createdAt: new Date(f.createdAt.getTime()), updatedAt: new Date(f.updatedAt.getTime()) };
}

function toItem(r: ItemRow): Item {
  return { ...r, data: JSON.parse(r.data) as JsonObject, createdAt: new Date(r.createdAt.getTime()), updatedAt: new Date(r.updatedAt.getTime()) };
}

/** Byte order, as the store's ORDER BY id compares UUIDs. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function notFound(what: string, id: string): StoreError {
  return new StoreError('not_found', `${what} ${id} not found`);
}

function checkDisplayName(name: unknown): void {
  if (typeof name !== 'string' || name === '') throw new StoreError('invalid', 'folder displayName is empty');
}

function checkServerId(serverId: string | undefined, what: string): void {
  if (serverId !== undefined && serverId === '') throw new StoreError('invalid', `${what} serverId is empty`);
}

function checkType(type: unknown): void {
  if (!Number.isInteger(type)) throw new StoreError('invalid', 'folder type must be an integer');
}

function checkModseq(modseq: number): void {
  if (!Number.isSafeInteger(modseq) || modseq < 0) throw new StoreError('invalid', `modseq must be a non-negative integer, not ${modseq}`);
}

function checkClass(cls: string): void {
  if (!(ITEM_CLASSES as readonly string[]).includes(cls)) throw new StoreError('invalid', `unknown item class ${cls}`);
}

function serializeData(data: JsonObject): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new StoreError('invalid', 'item data must be a JSON object');
  return JSON.stringify(data);
}
