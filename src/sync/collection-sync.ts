import { KeyedLock } from './keyed-lock.ts';
import { classForFolderType, converterFor, withinFilter } from '../classes/index.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from '../classes/types.ts';
import type { EasVersion } from '../eas/versions.ts';
import type { Device, Folder, Item, ItemClass, JsonObject, Store, User } from '../store/types.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { RecentAddMatcher } from './recent-adds.ts';
import { loadForConversion } from '../mail/load-body.ts';
import { firstSyncKey, INITIAL_SYNC_KEY, nextSyncKey } from './sync-key.ts';
import { optionsToJson, type ClientCommand, type CollectionOptions, type CollectionRequest } from './sync-request.ts';

/** Sync statuses (MS-ASCMD 2.2.3.177.17). */
export const SyncStatus = {
  Success: 1,
  InvalidSyncKey: 3,
  ProtocolError: 4,
  ServerError: 5,
  ConversionError: 6,
  Conflict: 7,
  NotFound: 8,
  HierarchyChanged: 12,
  Incomplete: 13,
  InvalidWait: 14,
  TooManyCollections: 15,
  Retry: 16,
} as const;

/** WindowSize when the client gives none, and the most the server sends (MS-ASCMD 2.2.3.199). */
export const DEFAULT_WINDOW_SIZE = 100;
export const MAX_WINDOW_SIZE = 512;

/**
 * What the engine keeps per device, collection and sync key (Store.saveSyncState). The change
 * feed makes this small: the folder sequence the device has seen, and the options it synced
 * with (14.0+ clients may leave them out of later requests, MS-ASCMD 2.2.3.115.5).
 */
export interface CollectionState {
  /** Every change of the folder up to this sequence has been sent or deliberately skipped. */
  modseq: number;
  options: CollectionOptions;
  /**
   * Set after a SyncKey 0 reset until the device has received everything once: a client Add
   * that equals an item already in the folder is matched to it, not stored twice (kb-2.7).
   */
  matchAdds?: boolean;
  /**
   * Commands owed to the device outside the change feed: what a FilterType change brought into
   * the window (Add) or took out of it (SoftDelete), sent before the feed continues.
   */
  pending?: PendingCommand[];
  /**
   * Items the device itself wrote (or had matched) that the feed has not passed yet, with the
   * sequence of that version (-1 for its deletes): when a window cut the feed short, a later
   * Sync must not send the device its own Add or Change back (kb-2.7).
   */
  own?: Record<string, number>;
  /**
   * The Supported list of the collection's initial Sync ("Contacts:JobTitle", ...; MS-ASCMD
   * 2.2.3.179): which elements are ghosted on a Change. Absent: the client sent none.
   */
  supported?: string[];
  /**
   * When the FilterType window was last laid over the folder (epoch ms). The window is relative
   * to now, so items age out of it; see WINDOW_AGING_MS.
   */
  windowAt?: number;
}

/**
 * How often a Sync looks for items that aged out of a FilterType window (MS-ASCMD 2.2.3.68.2: a
 * window is "the past N days", so yesterday's window held mail today's does not). Once a day:
 * the narrowest window is a day, and the look scans the folder.
 */
export const WINDOW_AGING_MS = 24 * 3600_000;

/** Item id -> the sequence of the version the device has from its own write; -1 for a delete. */
export type OwnWrites = ReadonlyMap<string, number>;

export interface PendingCommand {
  id: string;
  serverId: string;
  kind: 'Add' | 'SoftDelete';
}

export function readState(data: JsonObject): CollectionState {
  return {
    modseq: Number(data.modseq ?? 0),
    options: (data.options ?? {}) as CollectionOptions,
    matchAdds: data.matchAdds === true,
    pending: Array.isArray(data.pending) ? (data.pending as unknown as PendingCommand[]) : undefined,
    own: data.own && typeof data.own === 'object' && !Array.isArray(data.own) ? (data.own as Record<string, number>) : undefined,
    supported: Array.isArray(data.supported) ? data.supported.filter((x): x is string => typeof x === 'string') : undefined,
    windowAt: typeof data.windowAt === 'number' ? data.windowAt : undefined,
  };
}

function stateToJson(s: CollectionState): JsonObject {
  return {
    modseq: s.modseq,
    options: optionsToJson(s.options),
    ...(s.matchAdds ? { matchAdds: true } : {}),
    ...(s.pending?.length ? { pending: s.pending as unknown as JsonObject[] } : {}),
    ...(s.own && Object.keys(s.own).length ? { own: s.own } : {}),
    ...(s.supported ? { supported: s.supported } : {}),
    ...(s.windowAt !== undefined ? { windowAt: s.windowAt } : {}),
  };
}

export interface SyncContext {
  store: Store;
  user: User;
  device: Device;
  version: EasVersion;
  /** The user's live folders, read once per request. */
  folders: Folder[];
  /** Runs after a client Add or Change is stored (a draft with Send: src/mail/send-draft.ts). */
  onClientWrite?: (folder: Folder, item: Item, appData: WbxmlElement) => Promise<void>;
  /**
   * Runs after a client Add, Change or Delete of an item is stored, with the item before and
   * after (undefined for an Add / a Delete): meetings organised from a device
   * (src/calendar/meeting-organizer.ts).
   */
  onClientItemChange?: (folder: Folder, before: Item | undefined, after: Item | undefined) => Promise<void>;
  /**
   * Told of every item of the folder that could not be converted for this device and was
   * skipped (kb-2.4): the caller logs it and tells the user (src/sync/failure-notice.ts).
   */
  onUnconvertible?: (folder: Folder, item: Item, err: ConversionError) => void;
  /**
   * A restricted device (a quarantined one, src/devices/quarantine.ts) is sent only the items
   * `visible` allows (others are passed over, not sent), may Fetch only those, and with
   * `readOnly` its Add, Change and Delete are each refused with Status 7 (MS-ASCMD 2.2.3.177.17,
   * 2.2.3.34: the object the client sent was discarded), changing nothing.
   */
  visible?: ItemFilter;
  readOnly?: boolean;
}

export interface CollectionOutcome {
  /** The Collection element for the response (14.0+ leaves it out when `changed` is false). */
  element: WbxmlElement;
  /** The key the response gives the device for this collection. */
  syncKey: string;
  /** False when the collection had no client commands, no changes and kept its key. */
  changed: boolean;
  folder?: Folder;
  status: number;
  sent: number;
  moreAvailable: boolean;
  /** The folder sequence the device is at after this response (for Ping, positions.ts). */
  position?: number;
}

function collectionElement(syncKey: string, collectionId: string, status: number, rest: WbxmlElement[] = []): WbxmlElement {
  // Child order of the response Collection: SyncKey, CollectionId, Status, MoreAvailable,
  // Commands, Responses (MS-ASCMD 2.2.3.29.2).
  return el('AirSync', 'Collection', el('AirSync', 'SyncKey', syncKey), el('AirSync', 'CollectionId', collectionId), el('AirSync', 'Status', status), rest);
}

export function convertContext(version: EasVersion, options: CollectionOptions): ConvertContext {
  return {
    version,
    bodyPreferences: options.bodyPreferences ?? [{ type: 1 }],
    mimeSupport: options.mimeSupport,
    mimeTruncationBytes: mimeTruncationBytes(options.mimeTruncation),
  };
}

/** MIMETruncation codes (MS-ASCMD 2.2.3.109): 0 none at all, 1 4 KB, ... 7 100 KB, 8 everything. */
function mimeTruncationBytes(code: number | undefined): number | undefined {
  const sizes = [0, 4096, 5120, 7168, 10240, 20480, 51200, 102400];
  return code === undefined || code >= 8 ? undefined : sizes[code];
}

/**
 * One collection of a Sync request: client commands first, then the server's changes since the
 * device's sync key, paged by the window (MS-ASCMD 3.2.5.1 Sync processing).
 */
export async function syncCollection(ctx: SyncContext, req: CollectionRequest, budget: { remaining: number }): Promise<CollectionOutcome> {
  const collectionId = req.collectionId ?? '';
  if (!req.syncKey || !req.collectionId) {
    return { element: collectionElement(req.syncKey ?? INITIAL_SYNC_KEY, collectionId, SyncStatus.ProtocolError), syncKey: req.syncKey ?? INITIAL_SYNC_KEY, changed: true, status: SyncStatus.ProtocolError, sent: 0, moreAvailable: false };
  }
  const folder = ctx.folders.find((f) => f.serverId === collectionId);
  if (!folder) {
    // A collection the device knows but the server does not: its hierarchy is stale.
    return { element: collectionElement(req.syncKey, collectionId, SyncStatus.HierarchyChanged), syncKey: req.syncKey, changed: true, status: SyncStatus.HierarchyChanged, sent: 0, moreAvailable: false };
  }
  // One device's requests for one collection run one at a time. A device that gives up on a
  // Sync and sends it again (same key) while the first is still being worked out would otherwise
  // have both save the next key's state, the first last: then the state would not be the one
  // behind the answer the device kept (the second), and what came in between would be sent
  // twice or never (MS-ASCMD 2.2.3.177.3 SyncKey: a retried request gets the same next key).
  const keyed = req as CollectionRequest & { syncKey: string };
  return collectionLocks.run(`${ctx.user.id}\0${ctx.device.deviceId}\0${folder.id}`, () => syncFolder(ctx, keyed, folder, budget));
}

/** Per process: two easd nodes sharing PostgreSQL do not share it (a retry sent to the other node can still race). */
const collectionLocks = new KeyedLock();

/** syncCollection for a collection the server has, under the device's lock of it. */
async function syncFolder(ctx: SyncContext, req: CollectionRequest & { syncKey: string }, folder: Folder, budget: { remaining: number }): Promise<CollectionOutcome> {
  const { store, user, device } = ctx;
  const collectionId = folder.serverId;

  if (req.syncKey === INITIAL_SYNC_KEY) {
    // SyncKey 0 resets this collection alone (kb-2.13); a device that had state counts a reset.
    const removed = await store.deleteSyncStates(user.id, device.deviceId, folder.id);
    if (removed > 0) await store.recordSyncReset(user.id, device.deviceId);
    const key = firstSyncKey();
    const state: CollectionState = { modseq: 0, options: req.options ?? {}, matchAdds: true, supported: req.supported, ...(req.options?.filterType ? { windowAt: Date.now() } : {}) };
    await store.saveSyncState({ userId: user.id, deviceId: device.deviceId, collectionId: folder.id, syncKey: key, data: stateToJson(state) }, []);
    return { element: collectionElement(key, collectionId, SyncStatus.Success), syncKey: key, changed: true, folder, status: SyncStatus.Success, sent: 0, moreAvailable: false };
  }

  const saved = await store.getSyncState(user.id, device.deviceId, folder.id, req.syncKey);
  if (!saved) {
    // Neither the current key nor the previous one: the client must start over (Status 3).
    return { element: collectionElement(INITIAL_SYNC_KEY, collectionId, SyncStatus.InvalidSyncKey), syncKey: INITIAL_SYNC_KEY, changed: true, folder, status: SyncStatus.InvalidSyncKey, sent: 0, moreAvailable: false };
  }
  const state = readState(saved.data);
  const options: CollectionOptions = req.options ?? state.options;
  const itemClass = classForFolderType(folder.type);
  const converter = converterFor(itemClass);
  const cctx: ConvertContext = { ...convertContext(ctx.version, options), supported: state.supported, userEmail: ctx.user.email };

  // Client commands (MS-ASCMD 2.2.3.32 Commands): answered in Responses.
  const responses: WbxmlElement[] = [];
  // This request's own writes, and those of earlier requests the feed has not passed yet.
  const touched = new Map<string, number>(Object.entries(state.own ?? {}));
  const matcher = state.matchAdds ? new AddMatcher(store, user.id, folder, converter) : undefined;
  const recent = itemClass === 'Contacts' ? new RecentAddMatcher(store, user.id, folder, converter, state.modseq) : undefined;
  for (const cmd of req.commands) {
    const refused = await refuseRestricted(ctx, folder, cmd);
    if (refused) {
      responses.push(refused);
      continue;
    }
    responses.push(...(await applyClientCommand(ctx, folder, converter, cctx, options, state, cmd, touched, req.deletesAsMoves ?? true, matcher, recent)));
  }

  // A FilterType change (MS-ASCMD 2.2.3.68.2) without a reset: what entered the window is
  // owed as Add, what left it as SoftDelete (MS-ASCMD 2.2.3.167), before the feed goes on.
  let pending = state.pending ?? [];
  // (Not for a restricted device: the transition would owe it items it may not see; its one
  // visible item, the quarantine notice, is new and inside any window.)
  const nowMs = Date.now();
  let windowAt = options.filterType ? (state.windowAt ?? nowMs) : undefined;
  const owe = (more: PendingCommand[]) => {
    const already = new Set(pending.map((p) => p.id));
    pending = [...pending, ...more.filter((p) => !already.has(p.id))];
  };
  if ((state.options.filterType ?? 0) !== (options.filterType ?? 0)) {
    if (state.modseq > 0 && !ctx.visible) {
      owe(await filterTransition(store, user.id, folder, itemClass, state.options.filterType, options.filterType, state.modseq, new Date(nowMs), new Date(nowMs)));
    }
    windowAt = options.filterType ? nowMs : undefined;
  } else if (windowAt !== undefined && nowMs - windowAt >= WINDOW_AGING_MS && state.modseq > 0 && !ctx.visible) {
    // The same window a day or more later: what aged out of it since is owed as SoftDelete.
    owe(await filterTransition(store, user.id, folder, itemClass, options.filterType, options.filterType, state.modseq, new Date(windowAt), new Date(nowMs)));
    windowAt = nowMs;
  }

  // Server changes since the key's sequence, up to the window.
  const commands: WbxmlElement[] = [];
  let modseq = state.modseq;
  let moreAvailable = false;
  const getChanges = req.getChanges ?? true;
  if (getChanges) {
    const window = Math.min(req.windowSize ?? options.maxItems ?? DEFAULT_WINDOW_SIZE, MAX_WINDOW_SIZE, budget.remaining);
    const skipped = (item: Item, err: ConversionError) => ctx.onUnconvertible?.(folder, item, err);
    const drained = await drainPending(store, user.id, folder, converter, cctx, pending, window, touched, skipped);
    commands.push(...drained.commands);
    pending = drained.rest;
    // A folder whose sequence (as read at the start of the request) is where the device is has
    // nothing to read, unless this request's own commands just wrote to it.
    if (pending.length === 0 && (folder.modseq > state.modseq || req.commands.length > 0)) {
      // Items just sent from `pending` went with their current data: the feed skips them.
      const skip = new Map(touched);
      for (const id of drained.sentIds) skip.set(id, SKIP_ANY);
      const filter = restrictFilter(filterFor(itemClass, options.filterType), ctx.visible);
      const page = await collectChanges(store, user.id, folder, converter, cctx, state.modseq, window - commands.length, filter, skip, skipped);
      commands.push(...page.commands);
      modseq = page.modseq;
      moreAvailable = page.moreAvailable;
    } else if (pending.length > 0) {
      moreAvailable = true;
    }
    budget.remaining -= commands.length;
  }

  const optionsChanged = req.options !== undefined && JSON.stringify(optionsToJson(req.options)) !== JSON.stringify(optionsToJson(state.options));
  const changed =
    responses.length > 0 ||
    commands.length > 0 ||
    moreAvailable || // even with no room left in this response, the device must hear there is more
    modseq !== state.modseq ||
    req.commands.length > 0 ||
    optionsChanged ||
    windowAt !== state.windowAt ||
    pending.length !== (state.pending?.length ?? 0);
  let key = req.syncKey;
  if (changed) {
    key = nextSyncKey(req.syncKey);
    // Adds are matched only until the first full pass after a reset has been sent.
    const own: Record<string, number> = {};
    for (const [id, seq] of touched) {
      // Kept while the feed has not passed them; a delete's tombstone sequence is unknown, so
      // it is kept until the feed has been read to the end.
      if (seq > modseq || (seq === OWN_DELETE && moreAvailable)) own[id] = seq;
    }
    const next: CollectionState = { modseq, options, matchAdds: state.matchAdds && moreAvailable ? true : undefined, pending, own, supported: state.supported, windowAt };
    await store.saveSyncState({ userId: user.id, deviceId: device.deviceId, collectionId: folder.id, syncKey: key, data: stateToJson(next) }, [req.syncKey]);
  }
  const rest: WbxmlElement[] = [];
  if (moreAvailable) rest.push(el('AirSync', 'MoreAvailable'));
  if (commands.length) rest.push(el('AirSync', 'Commands', commands));
  if (responses.length) rest.push(el('AirSync', 'Responses', responses));
  return { element: collectionElement(key, collectionId, SyncStatus.Success, rest), syncKey: key, changed, folder, status: SyncStatus.Success, sent: commands.length, moreAvailable, position: modseq };
}

/**
 * Compares the old window (FilterType `oldType` as of `oldNow`) and the new one (`newType` as of
 * `newNow`) over the items the device could have (those that existed at its sequence): in the
 * new window only -> Add, in the old one only -> SoftDelete. Filter changes are rare and aging
 * looks once a day, so one scan of the folder is acceptable here.
 */
async function filterTransition(
  store: Store,
  userId: string,
  folder: Folder,
  itemClass: ItemClass,
  oldType: number | undefined,
  newType: number | undefined,
  since: number,
  oldNow: Date,
  newNow: Date,
): Promise<PendingCommand[]> {
  const inOld = filterFor(itemClass, oldType, oldNow);
  const inNew = filterFor(itemClass, newType, newNow);
  const out: PendingCommand[] = [];
  let cursor = 0;
  for (;;) {
    const page = await store.listChangesSince(userId, folder.id, cursor, 1000);
    for (const item of page) {
      cursor = item.modseq;
      if (item.deleted || item.createdModseq > since) continue;
      const before = !inOld || inOld(item.data);
      const after = !inNew || inNew(item.data);
      if (after && !before) out.push({ id: item.id, serverId: item.serverId, kind: 'Add' });
      if (before && !after) out.push({ id: item.id, serverId: item.serverId, kind: 'SoftDelete' });
    }
    if (page.length < 1000) return out;
  }
}

/** Sends owed commands first, up to the window; returns what is still owed. */
async function drainPending(
  store: Store,
  userId: string,
  folder: Folder,
  converter: ItemConverter,
  cctx: ConvertContext,
  pending: PendingCommand[],
  window: number,
  touched: OwnWrites,
  skipped?: Unconvertible,
): Promise<{ commands: WbxmlElement[]; rest: PendingCommand[]; sentIds: string[] }> {
  const commands: WbxmlElement[] = [];
  const sentIds: string[] = [];
  let i = 0;
  for (; i < pending.length && commands.length < window; i++) {
    const p = pending[i]!;
    if (touched.has(p.id)) continue;
    if (p.kind === 'SoftDelete') {
      commands.push(el('AirSync', 'SoftDelete', el('AirSync', 'ServerId', p.serverId)));
      continue;
    }
    const item = await store.getItem(userId, p.id);
    if (!item || item.folderId !== folder.id) continue; // gone since: the feed reports it
    try {
      commands.push(el('AirSync', 'Add', el('AirSync', 'ServerId', item.serverId), el('AirSync', 'ApplicationData', converter.toEas(item.data, cctx))));
      sentIds.push(item.id);
    } catch (err) {
      skipped?.(item, asConversionError(err, converter));
    }
  }
  return { commands, rest: pending.slice(i), sentIds };
}

interface ChangePage {
  commands: WbxmlElement[];
  modseq: number;
  moreAvailable: boolean;
}

/**
 * Reads the folder's change feed after `since` and turns it into Add/Change/Delete commands for
 * the device, at most `window` of them. Items the device itself just wrote are skipped (it has
 * them), as are items outside the FilterType window. The returned sequence is the last change
 * looked at, so the next request resumes exactly there: nothing lost, nothing sent twice.
 */
export async function collectChanges(
  store: Store,
  userId: string,
  folder: Folder,
  converter: ItemConverter,
  cctx: ConvertContext,
  since: number,
  window: number,
  filter: ItemFilter | undefined,
  touched: OwnWrites = new Map(),
  skipped?: Unconvertible,
): Promise<ChangePage> {
  const commands: WbxmlElement[] = [];
  let cursor = since;
  const batch = Math.max(window + 1, 64);
  for (;;) {
    const changes = await store.listChangesSince(userId, folder.id, cursor, batch);
    await loadForConversion(store, changes, cctx); // raw MIME from store.mail for BodyPreference Type 4 (src/mail/load-body.ts)
    for (const item of changes) {
      const command = commandFor(item, since, converter, cctx, filter, touched, skipped);
      if (command === undefined) {
        cursor = item.modseq;
        continue;
      }
      if (commands.length >= window) return { commands, modseq: cursor, moreAvailable: true };
      commands.push(command);
      cursor = item.modseq;
    }
    if (changes.length < batch) return { commands, modseq: cursor, moreAvailable: false };
  }
}

type ChangeKind = 'Add' | 'Change' | 'Delete';

/** What one change-feed entry means to a device at sequence `since`, or undefined to skip it. */
/** Whether an item's data is inside the collection's FilterType window (MS-ASCMD 2.2.3.68.2). */
export type ItemFilter = (data: JsonObject) => boolean;

export function filterFor(itemClass: ItemClass, filterType: number | undefined, now = new Date()): ItemFilter | undefined {
  if (!filterType) return undefined;
  return (data) => withinFilter(itemClass, data, filterType, now);
}

/** In OwnWrites: skip every feed entry of the item in this response (sent from `pending`). */
const SKIP_ANY = -2;
/** In OwnWrites: the device deleted the item; skip its tombstone. */
const OWN_DELETE = -1;

function classify(item: Item, since: number, filter: ItemFilter | undefined, own: OwnWrites): ChangeKind | undefined {
  const mine = own.get(item.id);
  // The version the device wrote itself, its own delete, or an item just sent: nothing to send.
  if (mine !== undefined && (mine === item.modseq || mine === SKIP_ANY || (mine === OWN_DELETE && item.deleted))) return undefined;
  const newToDevice = item.createdModseq > since;
  // A tombstone of an item created after the device's sequence was never sent to it.
  if (item.deleted) return newToDevice ? undefined : 'Delete';
  if (filter && !filter(item.data)) return undefined;
  return newToDevice ? 'Add' : 'Change';
}

/**
 * Whatever a converter throws for a stored item, the item is skipped rather than the folder
 * stalled (kb-2.4): corrupt stored data must not keep a device from the rest of its mail. An
 * error that is not a ConversionError (a converter meeting data it does not expect) is reported
 * the same way, with its message.
 */
function asConversionError(err: unknown, converter: ItemConverter): ConversionError {
  if (err instanceof ConversionError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ConversionError(`${converter.itemClass} item could not be converted: ${message}`);
}

/** Told of an item skipped because it cannot be converted (kb-2.4). */
type Unconvertible = (item: Item, err: ConversionError) => void;

function commandFor(
  item: Item,
  since: number,
  converter: ItemConverter,
  cctx: ConvertContext,
  filter: ItemFilter | undefined,
  touched: OwnWrites,
  skipped?: Unconvertible,
): WbxmlElement | undefined {
  const kind = classify(item, since, filter, touched);
  if (kind === undefined) return undefined;
  if (kind === 'Delete') return el('AirSync', 'Delete', el('AirSync', 'ServerId', item.serverId));
  let appData: WbxmlElement[];
  try {
    appData = converter.toEas(item.data, cctx);
  } catch (err) {
    // An item that cannot be converted is skipped without stalling the folder (kb-2.4).
    skipped?.(item, asConversionError(err, converter));
    return undefined;
  }
  return el('AirSync', kind, el('AirSync', 'ServerId', item.serverId), el('AirSync', 'ApplicationData', appData));
}

/** How many commands a Sync from sequence `since` would send in all (GetItemEstimate, MS-ASCMD 2.2.1.9). */
export async function countChanges(store: Store, userId: string, folder: Folder, since: number, filter: ItemFilter | undefined, own: OwnWrites = new Map()): Promise<number> {
  let count = 0;
  let cursor = since;
  const batch = 1000;
  for (;;) {
    const changes = await store.listChangesSince(userId, folder.id, cursor, batch);
    for (const item of changes) {
      if (classify(item, since, filter, own) !== undefined) count++;
      cursor = item.modseq;
    }
    if (changes.length < batch) return count;
  }
}

/** Matches client Adds after a reset against the folder's items by the class's match key (kb-2.7). */
class AddMatcher {
  private index: Map<string, string> | undefined;
  constructor(
    private readonly store: Store,
    private readonly userId: string,
    private readonly folder: Folder,
    private readonly converter: ItemConverter,
  ) {}

  async find(data: JsonObject): Promise<string | undefined> {
    const key = this.converter.matchKey(data);
    if (key === undefined) return undefined;
    if (!this.index) {
      this.index = new Map();
      let cursor = 0;
      for (;;) {
        const page = await this.store.listChangesSince(this.userId, this.folder.id, cursor, 1000);
        for (const item of page) {
          cursor = item.modseq;
          const k = item.deleted ? undefined : this.converter.matchKey(item.data);
          if (k !== undefined && !this.index.has(k)) this.index.set(k, item.id);
        }
        if (page.length < 1000) break;
      }
    }
    return this.index.get(key);
  }
}

const responseElement = (name: string, ...children: WbxmlElement[]) => el('AirSync', name, children);

/** Both the FilterType window and a restricted device's visibility (SyncContext.visible). */
function restrictFilter(filter: ItemFilter | undefined, visible: ItemFilter | undefined): ItemFilter | undefined {
  if (!visible) return filter;
  return filter ? (data) => visible(data) && filter(data) : visible;
}

/**
 * The answer to a client command a restricted device may not make (SyncContext.readOnly,
 * visible), or undefined to apply it: Add, Change and Delete get Status 7 and change nothing;
 * Fetch of an item it may not see gets Status 8, as an unknown item does.
 */
async function refuseRestricted(ctx: SyncContext, folder: Folder, cmd: ClientCommand): Promise<WbxmlElement | undefined> {
  if (!ctx.visible && !ctx.readOnly) return undefined;
  if (cmd.kind === 'Fetch') {
    if (!ctx.visible) return undefined;
    const item = await ctx.store.getItemByServerId(ctx.user.id, cmd.serverId);
    if (item && item.folderId === folder.id && !item.deleted && ctx.visible(item.data)) return undefined;
    return responseElement('Fetch', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.NotFound));
  }
  if (!ctx.readOnly) return undefined;
  if (cmd.kind === 'Add') return responseElement('Add', idElement('ClientId', cmd.clientId), statusElement(SyncStatus.Conflict));
  return responseElement(cmd.kind, idElement('ServerId', cmd.serverId), ...instanceElement(cmd.instanceId), statusElement(SyncStatus.Conflict));
}
const idElement = (name: 'ClientId' | 'ServerId', value: string) => el('AirSync', name, value);
const statusElement = (status: number) => el('AirSync', 'Status', status);
/** The occurrence a response is about, beside its ServerId (MS-ASAIRS 2.2.2.25). */
const instanceElement = (instanceId: string | undefined) => (instanceId ? [el('AirSyncBase', 'InstanceId', instanceId)] : []);

async function applyClientCommand(
  ctx: SyncContext,
  folder: Folder,
  converter: ItemConverter,
  cctx: ConvertContext,
  options: CollectionOptions,
  state: CollectionState,
  cmd: ClientCommand,
  touched: Map<string, number>,
  deletesAsMoves: boolean,
  matcher: AddMatcher | undefined,
  recent?: RecentAddMatcher,
): Promise<WbxmlElement[]> {
  const { store, user, device } = ctx;
  switch (cmd.kind) {
    case 'Add': {
      // Idempotent per device, collection and ClientId (kb-2.7): a replayed Add gets the same ServerId.
      const known = await store.getClientAdd(user.id, device.deviceId, folder.id, cmd.clientId);
      const knownItem = known ? await store.getItem(user.id, known) : null;
      if (knownItem) {
        touched.set(knownItem.id, knownItem.modseq);
        return [responseElement('Add', idElement('ClientId', cmd.clientId), idElement('ServerId', knownItem.serverId), statusElement(SyncStatus.Success))];
      }
      let data: JsonObject;
      try {
        data = converter.fromEas(cmd.appData, cctx);
      } catch (err) {
        if (!(err instanceof ConversionError)) throw err;
        return [responseElement('Add', idElement('ClientId', cmd.clientId), statusElement(SyncStatus.ConversionError))];
      }
      const matchedId = (matcher ? await matcher.find(data) : undefined) ?? (recent ? await recent.find(data, touched) : undefined);
      const item = matchedId ? await store.getItem(user.id, matchedId) : await store.putItem({ userId: user.id, folderId: folder.id, class: converter.itemClass, data, uid: uidOf(data) });
      if (!item) throw new Error('matched item vanished');
      await store.putClientAdd(user.id, device.deviceId, folder.id, cmd.clientId, item.id);
      touched.set(item.id, item.modseq);
      if (!matchedId) await ctx.onClientWrite?.(folder, item, cmd.appData);
      if (!matchedId) await ctx.onClientItemChange?.(folder, undefined, item);
      return [responseElement('Add', idElement('ClientId', cmd.clientId), idElement('ServerId', item.serverId), statusElement(SyncStatus.Success))];
    }
    case 'Change': {
      const item = await store.getItemByServerId(user.id, cmd.serverId);
      if (!item || item.folderId !== folder.id) {
        return [responseElement('Change', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.NotFound))];
      }
      // Conflict (MS-ASCMD 2.2.3.34): the server changed the item after the device's sequence.
      // Server wins by default: the client gets Status 7 and the server's version as a Change.
      if (item.modseq > state.modseq && (options.conflict ?? 1) === 1) {
        return [responseElement('Change', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.Conflict))];
      }
      let data: JsonObject;
      try {
        data = converter.fromEas(cmd.appData, cmd.instanceId ? { ...cctx, instanceId: cmd.instanceId } : cctx, item.data);
      } catch (err) {
        if (!(err instanceof ConversionError)) throw err;
        return [responseElement('Change', idElement('ServerId', cmd.serverId), ...instanceElement(cmd.instanceId), statusElement(SyncStatus.ConversionError))];
      }
      // A Change the server acts on (a recurring task's occurrence completed): the stored data
      // differs from the device's, so the device is sent it back; new items reach it as Adds.
      const after = converter.afterClientChange?.(data, item.data, cctx);
      if (after) {
        data = after.data;
        for (const created of after.created) await store.putItem({ userId: user.id, folderId: folder.id, class: converter.itemClass, data: created });
      }
      const updated = await store.updateItem(user.id, item.id, { data, uid: uidOf(data) ?? item.uid });
      if (!after) touched.set(updated.id, updated.modseq);
      await ctx.onClientWrite?.(folder, updated, cmd.appData);
      await ctx.onClientItemChange?.(folder, item, updated);
      return []; // a successful Change is not answered (MS-ASCMD 2.2.3.24.3)
    }
    case 'Delete': {
      const item = await store.getItemByServerId(user.id, cmd.serverId);
      if (!item || item.folderId !== folder.id) {
        return [responseElement('Delete', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.NotFound))];
      }
      // 16.0+: a Delete with InstanceId deletes one occurrence; the series stays (a Change on the server).
      if (cmd.instanceId) {
        let data: JsonObject;
        try {
          if (!converter.deleteInstance) throw new ConversionError(`${converter.itemClass} items have no occurrences`);
          data = converter.deleteInstance(item.data, cmd.instanceId);
        } catch (err) {
          if (!(err instanceof ConversionError)) throw err;
          return [responseElement('Delete', idElement('ServerId', cmd.serverId), ...instanceElement(cmd.instanceId), statusElement(SyncStatus.ConversionError))];
        }
        const updated = await store.updateItem(user.id, item.id, { data, uid: uidOf(data) ?? item.uid });
        touched.set(updated.id, updated.modseq);
        await ctx.onClientItemChange?.(folder, item, updated);
        return [];
      }
      // DeletesAsMoves (default true, MS-ASCMD 2.2.3.43): deletes from a device move the item
      // to Deleted Items, recoverable; only a delete inside Deleted Items is final (kb-1.5).
      const trash = ctx.folders.find((f) => f.type === 4);
      if (deletesAsMoves && trash && trash.id !== folder.id) await store.moveItem(user.id, item.id, trash.id);
      else await store.deleteItem(user.id, item.id);
      touched.set(item.id, OWN_DELETE);
      await ctx.onClientItemChange?.(folder, item, undefined);
      return [];
    }
    case 'Fetch': {
      const item = await store.getItemByServerId(user.id, cmd.serverId);
      if (!item || item.folderId !== folder.id) {
        return [responseElement('Fetch', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.NotFound))];
      }
      try {
        const appData = converter.toEas(item.data, cctx);
        return [responseElement('Fetch', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.Success), el('AirSync', 'ApplicationData', appData))];
      } catch (err) {
        if (!(err instanceof ConversionError)) throw err;
        return [responseElement('Fetch', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.ConversionError))];
      }
    }
  }
}

function uidOf(data: JsonObject): string | undefined {
  return typeof data.uid === 'string' && data.uid !== '' ? data.uid : undefined;
}

