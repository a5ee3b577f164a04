import { KeyedLock } from './keyed-lock.ts';
import { classForFolderType, converterFor } from '../classes/index.ts';
import type { ConvertContext } from '../classes/types.ts';
import type { EasVersion } from '../eas/versions.ts';
import type { Folder } from '../store/types.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { AddMatcher, applyClientCommand, refuseRestricted } from './client-commands.ts';
import { deviceView, initialState, readState, stateToJson, type CollectionState } from './collection-state.ts';
import { collectChanges, leavingCommands, OWN_DELETE, type Unconvertible } from './feed.ts';
import { RecentAddMatcher } from './recent-adds.ts';
import { firstSyncKey, INITIAL_SYNC_KEY, keyGeneration, nextSyncKey } from './sync-key.ts';
import { optionsToJson, type CollectionOptions, type CollectionRequest } from './sync-request.ts';
import { SyncStatus, type SyncContext } from './sync-context.ts';

export { SyncStatus, type SyncContext } from './sync-context.ts';

/** WindowSize when the client gives none, and the most the server sends (MS-ASCMD 2.2.3.199). */
export const DEFAULT_WINDOW_SIZE = 100;
export const MAX_WINDOW_SIZE = 512;

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
  const nowMs = Date.now();

  if (req.syncKey === INITIAL_SYNC_KEY) {
    // SyncKey 0 resets this collection alone (kb-2.13); a device that had state counts a reset.
    // What it held goes with its states: it starts from nothing.
    const removed = await store.deleteSyncStates(user.id, device.deviceId, folder.id);
    if (removed > 0) await store.recordSyncReset(user.id, device.deviceId);
    const key = firstSyncKey();
    const state = initialState(req.options ?? {}, req.supported, nowMs);
    await store.saveSyncState({ userId: user.id, deviceId: device.deviceId, collectionId: folder.id, syncKey: key, data: stateToJson(state) }, []);
    return { element: collectionElement(key, collectionId, SyncStatus.Success), syncKey: key, changed: true, folder, status: SyncStatus.Success, sent: 0, moreAvailable: false };
  }

  const saved = await store.getSyncState(user.id, device.deviceId, folder.id, req.syncKey);
  if (!saved) {
    // Neither the current key nor the previous one: the client must start over (Status 3).
    return { element: collectionElement(INITIAL_SYNC_KEY, collectionId, SyncStatus.InvalidSyncKey), syncKey: INITIAL_SYNC_KEY, changed: true, folder, status: SyncStatus.InvalidSyncKey, sent: 0, moreAvailable: false };
  }
  const stored = readState(saved.data);
  const options: CollectionOptions = req.options ?? stored.options;
  // What the device holds at this key, where its feed resumes and through which window (a
  // FilterType change or a day's aging rereads the folder, feed.ts planFeed).
  const view = await deviceView(store, user.id, device.deviceId, folder, req.syncKey, stored, options.filterType, ctx.visible, nowMs);
  const { state, plan, held } = view;
  const itemClass = classForFolderType(folder.type);
  const converter = converterFor(itemClass);
  const cctx: ConvertContext = { ...convertContext(ctx.version, options), supported: state.supported, userEmail: ctx.user.email };

  // Client commands (MS-ASCMD 2.2.3.32 Commands): answered in Responses.
  const responses: WbxmlElement[] = [];
  // This request's own writes, and those of earlier requests the feed has not passed yet.
  const touched = new Map<string, number>(view.own);
  const matcher = state.matchAdds ? new AddMatcher(store, user.id, folder, converter) : undefined;
  const recent = itemClass === 'Contacts' ? new RecentAddMatcher(store, user.id, folder, converter, state.modseq) : undefined;
  // The device has every version up to here: a Change of an item changed later conflicts.
  const seen = Math.max(state.modseq, state.rescanTo ?? 0);
  for (const cmd of req.commands) {
    const refused = await refuseRestricted(ctx, folder, cmd);
    if (refused) {
      responses.push(refused);
      continue;
    }
    responses.push(...(await applyClientCommand(ctx, folder, converter, cctx, options, seen, cmd, touched, held, req.deletesAsMoves ?? true, matcher, recent)));
  }

  // Server changes after the plan's sequence, up to the window.
  const commands: WbxmlElement[] = [];
  let modseq = plan.since;
  let moreAvailable = false;
  // Items the device added outside its window, owed a SoftDelete (ChangePage.deferred).
  let leaving = plan.leaving ?? [];
  // What the device adds in this request: it learns their ServerIds after this response's Commands.
  // (Taken before the feed runs: so far only its own Adds are in the held view's additions.)
  const addedNow = held.addedSoFar();
  if (req.getChanges ?? true) {
    const window = Math.min(req.windowSize ?? options.maxItems ?? DEFAULT_WINDOW_SIZE, MAX_WINDOW_SIZE, budget.remaining);
    // A folder whose sequence (as read at the start of the request) is where the device is has
    // nothing to read, unless this request's own commands just wrote to it.
    if (leaving.length > 0) {
      const owed = await leavingCommands(store, user.id, folder, leaving, view.filter, held, window);
      commands.push(...owed.commands);
      leaving = owed.rest;
    }
    if (leaving.length > 0) moreAvailable = true;
    else if (folder.modseq > plan.since || req.commands.length > 0) {
      const report = ctx.onUnconvertible;
      const skipped: Unconvertible | undefined = report ? (item, err) => report(folder, item, err) : undefined;
      const page = await collectChanges(store, user.id, folder, converter, cctx, plan, window - commands.length, view.filter, held, touched, skipped, addedNow);
      commands.push(...page.commands);
      modseq = page.modseq;
      leaving = page.deferred;
      // The device must come back for those SoftDeletes at once.
      moreAvailable = page.moreAvailable || leaving.length > 0;
    }
    budget.remaining -= commands.length;
  }
  // A reread is over once the feed has passed where the device had been.
  const rescanTo = plan.rescanTo !== undefined && modseq < plan.rescanTo ? plan.rescanTo : undefined;

  const optionsChanged = req.options !== undefined && JSON.stringify(optionsToJson(req.options)) !== JSON.stringify(optionsToJson(stored.options));
  const changed =
    responses.length > 0 ||
    commands.length > 0 ||
    moreAvailable || // even with no room left in this response, the device must hear there is more
    modseq !== stored.modseq ||
    rescanTo !== stored.rescanTo ||
    req.commands.length > 0 ||
    optionsChanged ||
    plan.windowAt !== stored.windowAt ||
    leaving.length !== (stored.leaving?.length ?? 0) ||
    !stored.heldKept;
  let key = req.syncKey;
  if (changed) {
    key = nextSyncKey(req.syncKey);
    const own: Record<string, number> = {};
    for (const [id, seq] of touched) {
      // Kept while the feed has not passed them; a delete's tombstone sequence is unknown, so
      // it is kept until the feed has been read to the end.
      if (seq > modseq || (seq === OWN_DELETE && moreAvailable)) own[id] = seq;
    }
    // Adds are matched only until the first full pass after a reset has been sent.
    const next: CollectionState = { modseq, rescanTo, options, matchAdds: state.matchAdds && moreAvailable ? true : undefined, own, supported: state.supported, windowAt: plan.windowAt, leaving, heldKept: true };
    await store.saveSyncState({ userId: user.id, deviceId: device.deviceId, collectionId: folder.id, syncKey: key, data: stateToJson(next) }, [req.syncKey], held.change(keyGeneration(key)));
  }
  const rest: WbxmlElement[] = [];
  if (moreAvailable) rest.push(el('AirSync', 'MoreAvailable'));
  if (commands.length) rest.push(el('AirSync', 'Commands', commands));
  if (responses.length) rest.push(el('AirSync', 'Responses', responses));
  return { element: collectionElement(key, collectionId, SyncStatus.Success, rest), syncKey: key, changed, folder, status: SyncStatus.Success, sent: commands.length, moreAvailable, position: modseq };
}
