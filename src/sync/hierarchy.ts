/**
 * Folder hierarchy synchronization (MS-ASCMD 2.2.1.5 FolderSync): a device's hierarchy state and
 * the changes it has not seen yet, computed from the store's per-user hierarchy change feed
 * (`listFolderChangesSince`, tombstones included) — no diffing of folder lists.
 *
 * State, saved per device under each hierarchy sync key (collection HIERARCHY_COLLECTION):
 * - `modseq`: every hierarchy change up to this sequence has been delivered to the device;
 * - `known`:  the ServerIds the device has (so a live folder is an Add or an Update, and a
 *             tombstone is a Delete only if the device ever had the folder);
 * - `seen`:   ServerId -> sequence of a change the device made itself with FolderCreate or
 *             FolderUpdate; a change of that folder at or below that sequence is not echoed
 *             back by the next FolderSync (MS-ASCMD 2.2.1.3: the client already has it);
 * - `parents`: ServerId -> the parent's ServerId as the device has it (as last sent, or as it
 *             set it itself). A device's tree can be older than the server's (another device
 *             moved or deleted folders since): its FolderDelete takes the subtree as *it* sees
 *             it, and a Delete sent to it first moves out what it has under the folder;
 * - `owed`:   ServerIds of live folders the device dropped with a FolderDelete of a parent it
 *             still had them under, though the server had moved them out: sent again as Adds.
 *
 * Sync keys: a key K's successor is always nextSyncKey(K) and it is saved keeping K, so the store
 * holds at most {K, nextSyncKey(K)} for a device: the current key and the previous one. A key is
 * current when its successor is not stored. A request with the previous key is answered again
 * from the previous key's state, under the same successor key, so a retried FolderSync whose
 * response was lost gets the same answer (MS-ASCMD 2.2.3.181.2 / DESIGN.md "Change feed").
 *
 * The functions at the top are pure; the ones at the bottom read and write the store.
 */
import { HIERARCHY_COLLECTION, type Folder, type JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { DeviceStateStore } from '../ports/store.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { isWellFormedSyncKey, nextSyncKey } from './sync-key.ts';

export const NS = 'FolderHierarchy';

/** ParentId of a top-level folder (MS-ASCMD 2.2.3.129.2 ParentId (FolderSync): "0" is the root). */
export const ROOT_PARENT_ID = '0';

export interface HierarchyState {
  modseq: number;
  known: string[];
  seen: Record<string, number>;
  /** Parent ServerId ("0": the root) of each known folder as the device has it; absent in states of older releases. */
  parents?: Record<string, string>;
  owed?: string[];
}

export const EMPTY_HIERARCHY_STATE: HierarchyState = Object.freeze({ modseq: 0, known: [], seen: {}, parents: {}, owed: [] }) as HierarchyState;

/** One entry of a FolderSync response's Changes (MS-ASCMD 2.2.3.7.1 Add, 2.2.3.187 Update, 2.2.3.42.1 Delete). */
export type HierarchyChange =
  | { kind: 'Add' | 'Update'; serverId: string; parentId: string; displayName: string; type: number }
  | { kind: 'Delete'; serverId: string };

export interface HierarchyDiff {
  changes: HierarchyChange[];
  /** The state after the device has applied `changes`. */
  next: HierarchyState;
}

/** A live folder whose parent's ServerId the caller could not provide (an inconsistent read). */
export class UnresolvedParentError extends Error {
  override readonly name = 'UnresolvedParentError';
}

/** The state as saved in the store, or null when `data` is not one (a corrupt state). */
export function parseHierarchyState(data: JsonObject): HierarchyState | null {
  const { modseq, known, seen, parents, owed } = data;
  if (typeof modseq !== 'number' || !Number.isSafeInteger(modseq) || modseq < 0) return null;
  if (!Array.isArray(known) || !known.every((s) => typeof s === 'string')) return null;
  const seenOut: Record<string, number> = {};
  if (seen !== undefined) {
    if (seen === null || typeof seen !== 'object' || Array.isArray(seen)) return null;
    for (const [k, v] of Object.entries(seen)) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return null;
      seenOut[k] = v;
    }
  }
  const parentsOut: Record<string, string> = {};
  if (parents !== undefined) {
    if (parents === null || typeof parents !== 'object' || Array.isArray(parents)) return null;
    for (const [k, v] of Object.entries(parents)) {
      if (typeof v !== 'string') return null;
      parentsOut[k] = v;
    }
  }
  if (owed !== undefined && (!Array.isArray(owed) || !owed.every((x) => typeof x === 'string'))) return null;
  return { modseq, known: known as string[], seen: seenOut, parents: parentsOut, owed: (owed as string[] | undefined) ?? [] };
}

export function hierarchyStateData(state: HierarchyState): JsonObject {
  return { modseq: state.modseq, known: [...state.known], seen: { ...state.seen }, parents: { ...state.parents }, owed: [...(state.owed ?? [])] };
}

/** The device-side subtree of `serverId` (itself first), from the parents it has. */
function deviceSubtree(state: Pick<HierarchyState, 'known' | 'parents'>, serverId: string): string[] {
  const parents = state.parents ?? {};
  const out = [serverId];
  for (let i = 0; i < out.length; i++) for (const sid of state.known) if (parents[sid] === out[i] && !out.includes(sid)) out.push(sid);
  return out;
}

/**
 * The changes a device in `state` has not seen, from `rows`: folder rows (live and tombstones) as
 * listFolderChangesSince returns them; rows at or below `state.modseq` are ignored, so a full
 * snapshot (`listFolderChangesSince(user, 0)`) works too.
 *
 * live & unknown -> Add; live & known -> Update; tombstone & known -> Delete; tombstone & unknown
 * -> nothing. ParentId is the parent's ServerId, "0" at the root; `serverIdOf` maps a folder id
 * to its ServerId (throws UnresolvedParentError when it cannot).
 *
 * Order: the feed's order (each folder at its last change), except that a folder the device does
 * not have yet is added before the first entry that names it as parent, and a deleted folder's
 * deleted subfolders are deleted before it. Replaying the list in order is then valid on the
 * device: a parent always exists when named, a folder moved out of a deleted parent is moved
 * before the parent goes, and a deleted name is gone before a new sibling takes it. (The XSD of
 * MS-ASCMD 6.15 lists Update, Delete, Add as a sequence; clients read the elements one by one,
 * and that fixed order cannot express "add the parent, then move a folder into it".)
 */
export function computeHierarchyChanges(
  state: HierarchyState,
  rows: readonly Folder[],
  serverIdOf: (folderId: string) => string | undefined,
  visible?: (f: Folder) => boolean,
  owedFolders: readonly Folder[] = [],
): HierarchyDiff {
  const known = new Set(state.known);
  const parents: Record<string, string> = { ...state.parents };
  // Live folders the device dropped though the server kept them (withOwnDelete) come first, as
  // if they had just changed; a newer change of the same folder stands in for them.
  const changedIds = new Set(rows.filter((f) => f.hierarchyModseq > state.modseq).map((f) => f.id));
  const owed = owedFolders.filter((f) => !f.deleted && !changedIds.has(f.id) && !known.has(f.serverId));
  const all = [...owed, ...[...rows].filter((f) => f.hierarchyModseq > state.modseq).sort((a, b) => a.hierarchyModseq - b.hierarchyModseq)];
  let modseq = state.modseq;
  for (const f of all) modseq = Math.max(modseq, f.hierarchyModseq);
  // A restricted device (a quarantined one, src/devices/quarantine.ts) is not told of folders it
  // may not see; their changes are passed over all the same. Visible folders are top-level ones
  // (the Inbox), so no hidden parent is ever named.
  const pending = visible ? all.filter(visible) : all;

  const isOwnEcho = (f: Folder) => (state.seen[f.serverId] ?? -1) >= f.hierarchyModseq;
  const liveById = new Map<string, Folder>();
  const liveBySid = new Map<string, Folder>();
  const goneBySid = new Map<string, Folder>();
  const goneChildren = new Map<string, Folder[]>();
  for (const f of pending) {
    if (isOwnEcho(f)) continue;
    if (!f.deleted) {
      liveById.set(f.id, f);
      liveBySid.set(f.serverId, f);
    } else goneBySid.set(f.serverId, f);
    if (f.deleted && f.parentId !== null) {
      const list = goneChildren.get(f.parentId) ?? [];
      list.push(f);
      goneChildren.set(f.parentId, list);
    }
  }

  const changes: HierarchyChange[] = [];
  const emitted = new Set<string>();

  const emitLive = (f: Folder): void => {
    if (emitted.has(f.id)) return;
    emitted.add(f.id);
    let parentId = ROOT_PARENT_ID;
    if (f.parentId !== null) {
      const parent = liveById.get(f.parentId);
      if (parent && !known.has(parent.serverId)) emitLive(parent);
      const sid = parent?.serverId ?? serverIdOf(f.parentId);
      if (sid === undefined) throw new UnresolvedParentError(`parent ${f.parentId} of folder ${f.serverId} is not known`);
      parentId = sid;
    }
    changes.push({ kind: known.has(f.serverId) ? 'Update' : 'Add', serverId: f.serverId, parentId, displayName: f.displayName, type: f.type });
    known.add(f.serverId);
    parents[f.serverId] = parentId;
  };

  const emitDelete = (f: Folder): void => {
    if (emitted.has(f.id)) return;
    emitted.add(f.id);
    // What the device has under the folder goes first: what the server moved out is moved out
    // (a client drops a deleted folder's subtree), what the server deleted is deleted, children
    // before parents. Subfolders the device does not know of are deleted by the server's tree.
    for (const child of goneChildren.get(f.id) ?? []) emitDelete(child);
    for (const sid of state.known) {
      if (parents[sid] !== f.serverId || !known.has(sid)) continue;
      const live = liveBySid.get(sid);
      const gone = goneBySid.get(sid);
      if (live) emitLive(live);
      else if (gone) emitDelete(gone);
    }
    if (!known.has(f.serverId)) return;
    changes.push({ kind: 'Delete', serverId: f.serverId });
    // Whatever the device still has under it goes with it on the device.
    for (const sid of deviceSubtree({ known: [...known], parents }, f.serverId)) {
      known.delete(sid);
      delete parents[sid];
    }
  };

  for (const f of pending) {
    if (isOwnEcho(f)) continue;
    if (f.deleted) emitDelete(f);
    else emitLive(f);
  }

  // Entries of `seen` at or below the new modseq can no longer match a pending change.
  const seen: Record<string, number> = {};
  for (const [sid, m] of Object.entries(state.seen)) if (m > modseq && known.has(sid)) seen[sid] = m;
  for (const sid of Object.keys(parents)) if (!known.has(sid)) delete parents[sid];
  // Owed folders the server deleted meanwhile are owed nothing; the others were just sent.
  return { changes, next: { modseq, known: [...known], seen, parents, owed: [] } };
}

/** The state after the device itself created a folder under `parentSid` (FolderCreate). */
export function withOwnAdd(state: HierarchyState, folder: Pick<Folder, 'serverId' | 'hierarchyModseq'>, parentSid = ROOT_PARENT_ID): HierarchyState {
  return withOwnUpdate(state, folder, parentSid);
}

/** The state after the device itself renamed or moved a folder to `parentSid` (FolderUpdate). */
export function withOwnUpdate(state: HierarchyState, folder: Pick<Folder, 'serverId' | 'hierarchyModseq'>, parentSid = ROOT_PARENT_ID): HierarchyState {
  const known = state.known.includes(folder.serverId) ? [...state.known] : [...state.known, folder.serverId];
  return { ...state, known, seen: { ...state.seen, [folder.serverId]: folder.hierarchyModseq }, parents: { ...state.parents, [folder.serverId]: parentSid } };
}

/**
 * The state after the device itself deleted a folder (FolderDelete). The device drops the
 * subtree as it has it (`parents`; folders of states from older releases without a recorded
 * parent go by the server's tree, `serverSubtree`), so those tombstones are not echoed. A folder
 * it dropped that the server keeps (moved out by another device meanwhile) is owed as an Add;
 * one the server deleted that the device had elsewhere stays known and gets its Delete.
 */
export function withOwnDelete(state: HierarchyState, serverId: string, serverSubtree: readonly string[], liveServerIds: ReadonlySet<string>): HierarchyState {
  const parents = state.parents ?? {};
  const gone = new Set(deviceSubtree(state, serverId));
  for (const sid of serverSubtree) if (state.known.includes(sid) && parents[sid] === undefined) gone.add(sid);
  const seen: Record<string, number> = {};
  for (const [sid, m] of Object.entries(state.seen)) if (!gone.has(sid)) seen[sid] = m;
  const nextParents: Record<string, string> = {};
  for (const [sid, p] of Object.entries(parents)) if (!gone.has(sid)) nextParents[sid] = p;
  const owed = [...(state.owed ?? []).filter((sid) => !gone.has(sid)), ...[...gone].filter((sid) => liveServerIds.has(sid))];
  return { modseq: state.modseq, known: state.known.filter((s) => !gone.has(s)), seen, parents: nextParents, owed };
}

/** The Changes element of a FolderSync response (MS-ASCMD 2.2.3.25), Count first (2.2.3.37). */
export function changesElement(changes: readonly HierarchyChange[]): WbxmlElement {
  return el(
    NS,
    'Changes',
    el(NS, 'Count', changes.length),
    changes.map((c) =>
      c.kind === 'Delete'
        ? el(NS, 'Delete', el(NS, 'ServerId', c.serverId))
        : el(NS, c.kind, el(NS, 'ServerId', c.serverId), el(NS, 'ParentId', c.parentId), el(NS, 'DisplayName', c.displayName), el(NS, 'Type', c.type)),
    ),
  );
}

/** Folder ids of `folderId` and its live descendants, from a list of live folders. */
export function subtree(folders: readonly Folder[], folderId: string): Folder[] {
  const out = folders.filter((f) => f.id === folderId);
  for (let i = 0; i < out.length; i++) for (const f of folders) if (f.parentId === out[i]!.id) out.push(f);
  return out;
}

// The store checks it too, under its hierarchy lock (NewFolder.uniqueName).
export { sameFolderName } from '../ports/folder-name.ts';

/**
 * Whether a DisplayName from FolderCreate or FolderUpdate is acceptable: 1 to 256 characters
 * (MS-ASCMD 2.2.3.49.3), and not only white space.
 */
export function isValidFolderName(name: string): boolean {
  const length = [...name].length;
  return length >= 1 && length <= 256 && name.trim() !== '';
}

// ------------------------------------------------------------------ with the store

/**
 * The state saved under a hierarchy sync key, or null when the key is not one easd issued to this
 * device and still keeps (MS-ASCMD 2.2.3.181.2: Status 9), or its state is corrupt.
 */
export async function loadHierarchyState(store: Pick<DeviceStateStore, 'getSyncState'>, userId: string, deviceId: string, key: string): Promise<HierarchyState | null> {
  if (!isWellFormedSyncKey(key)) return null;
  const saved = await store.getSyncState(userId, deviceId, HIERARCHY_COLLECTION, key);
  return saved ? parseHierarchyState(saved.data) : null;
}

/** Whether `key` (a stored key) is the device's current hierarchy key: nothing was saved after it. */
export async function isCurrentHierarchyKey(store: Pick<DeviceStateStore, 'getSyncState'>, userId: string, deviceId: string, key: string): Promise<boolean> {
  return (await store.getSyncState(userId, deviceId, HIERARCHY_COLLECTION, nextSyncKey(key))) === null;
}

/**
 * Saves a hierarchy state under `key`, dropping the device's other hierarchy states except
 * `keep` (the key it follows, so a retried request stays answerable; none for a first key).
 */
export async function saveHierarchyState(
  store: Pick<DeviceStateStore, 'saveSyncState'>,
  userId: string,
  deviceId: string,
  key: string,
  state: HierarchyState,
  keep: readonly string[],
): Promise<void> {
  await store.saveSyncState({ userId, deviceId, collectionId: HIERARCHY_COLLECTION, syncKey: key, data: hierarchyStateData(state) }, keep);
}

/**
 * Reads the hierarchy changes after `state` and computes the diff (of the folders `visible`
 * allows, when given). `liveFolders` (from
 * Mailbox.ensureDefaultFolders) resolves parents that did not change; if a parent still cannot be
 * resolved (a folder created or moved between the two reads), everything is recomputed from one
 * full read of the feed, which is self-consistent.
 */
export async function readHierarchyChanges(
  mailbox: Pick<Mailbox, 'folderChangesSince'>,
  state: HierarchyState,
  liveFolders: readonly Folder[] = [],
  visible?: (f: Folder) => boolean,
): Promise<HierarchyDiff> {
  const owedSids = new Set(state.owed ?? []);
  if (state.modseq > 0 && (owedSids.size === 0 || liveFolders.length > 0)) {
    const rows = await mailbox.folderChangesSince(state.modseq);
    const ids = new Map<string, string>();
    for (const f of liveFolders) ids.set(f.id, f.serverId);
    for (const f of rows) ids.set(f.id, f.serverId);
    try {
      return computeHierarchyChanges(state, rows, (id) => ids.get(id), visible, liveFolders.filter((f) => owedSids.has(f.serverId)));
    } catch (err) {
      if (!(err instanceof UnresolvedParentError)) throw err;
    }
  }
  const all = await mailbox.folderChangesSince(0);
  const ids = new Map(all.map((f) => [f.id, f.serverId]));
  return computeHierarchyChanges(state, all, (id) => ids.get(id), visible, all.filter((f) => owedSids.has(f.serverId)));
}
