import { classForFolderType, converterFor } from '../classes/index.ts';
import type { ConvertContext, ItemConverter } from '../classes/types.ts';
import type { EasVersion } from '../eas/versions.ts';
import type { Folder } from '../ports/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import { AddMatcher } from './client-commands.ts';
import { clientPass } from './client-pass.ts';
import { deviceView, initialState, readState, stateToJson, type DeviceView } from './collection-state.ts';
import { echoCommands } from './echoes.ts';
import { collectChanges, leavingCommands, type Unconvertible } from './feed.ts';
import { RecentAddMatcher } from './recent-adds.ts';
import { firstSyncKey, INITIAL_SYNC_KEY, keyGeneration } from './sync-key.ts';
import type { CollectionOptions, CollectionRequest } from './sync-request.ts';
import { SyncStatus, type SyncContext } from './sync-context.ts';
import { decidePass, feedToRead, passWindow, type FeedRead } from './sync-pass.ts';
import { collectionElement, syncedCollection } from './sync-response.ts';

export { SyncStatus, type SyncContext } from './sync-context.ts';
export { DEFAULT_WINDOW_SIZE, MAX_WINDOW_SIZE } from './sync-pass.ts';

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
  return ctx.locks.run(`${ctx.user.id}\0${ctx.device.deviceId}\0${folder.id}`, () => syncFolder(ctx, keyed, folder, budget));
}

/**
 * syncCollection for a collection the server has, under the device's lock of it: the I/O of a
 * pass (state, client commands, the feed, saving) around its decisions (sync-pass.ts decidePass).
 */
async function syncFolder(ctx: SyncContext, req: CollectionRequest & { syncKey: string }, folder: Folder, budget: { remaining: number }): Promise<CollectionOutcome> {
  const { mailbox, deviceState, user, device } = ctx;
  const collectionId = folder.serverId;
  const nowMs = ctx.now();

  if (req.syncKey === INITIAL_SYNC_KEY) {
    // SyncKey 0 resets this collection alone (kb-2.13); a device that had state counts a reset.
    // What it held goes with its states: it starts from nothing.
    const removed = await deviceState.deleteSyncStates(user.id, device.deviceId, folder.id);
    if (removed > 0) await deviceState.recordSyncReset(user.id, device.deviceId);
    const key = firstSyncKey();
    const state = initialState(req.options ?? {}, req.supported, nowMs);
    await deviceState.saveSyncState({ userId: user.id, deviceId: device.deviceId, collectionId: folder.id, syncKey: key, data: stateToJson(state) }, []);
    return { element: collectionElement(key, collectionId, SyncStatus.Success), syncKey: key, changed: true, folder, status: SyncStatus.Success, sent: 0, moreAvailable: false };
  }

  const saved = await deviceState.getSyncState(user.id, device.deviceId, folder.id, req.syncKey);
  if (!saved) {
    // Neither the current key nor the previous one: the client must start over (Status 3).
    return { element: collectionElement(INITIAL_SYNC_KEY, collectionId, SyncStatus.InvalidSyncKey), syncKey: INITIAL_SYNC_KEY, changed: true, folder, status: SyncStatus.InvalidSyncKey, sent: 0, moreAvailable: false };
  }
  const stored = readState(saved.data);
  const options: CollectionOptions = req.options ?? stored.options;
  // What the device holds at this key, where its feed resumes and through which window (a
  // FilterType change or a day's aging rereads the folder, feed.ts planFeed).
  const view = await deviceView(mailbox, deviceState, device.deviceId, folder, req.syncKey, stored, options.filterType, ctx.visible, nowMs);
  const { state, plan, held } = view;
  const itemClass = classForFolderType(folder.type);
  const converter = converterFor(itemClass);
  const cctx: ConvertContext = {
    ...convertContext(ctx.version, options),
    supported: state.supported,
    userEmail: ctx.user.email,
    ...(ctx.pictureMaxBytes !== undefined ? { pictureMaxBytes: ctx.pictureMaxBytes } : {}),
    ...(ctx.onDropped ? { dropped: (element: string, reason: string) => ctx.onDropped!(folder, element, reason) } : {}),
  };

  // Client commands (MS-ASCMD 2.2.3.32 Commands): answered in Responses, a retry as it was first (answered.ts).
  // This request's own writes, and those of earlier requests the feed has not passed yet.
  const touched = new Map<string, number>(view.own);
  const { responses, echoes, answered } = await clientPass({
    ctx,
    req,
    folder,
    converter,
    cctx,
    options,
    // The device has every version up to here: a Change of an item changed later conflicts.
    seen: Math.max(state.modseq, state.rescanTo ?? 0),
    touched,
    held,
    // Changes the server takes only in part owe the device the server's version (kb-1.2).
    echo: { owed: plan.echo, refused: state.refused },
    ...(state.matchAdds ? { matcher: new AddMatcher(mailbox, folder, converter) } : {}),
    ...(itemClass === 'Contacts' ? { recent: new RecentAddMatcher(mailbox, folder, converter, state.modseq, new Date(nowMs)) } : {}),
  });
  const owedEchoes = echoes.owed();

  // Server changes after the plan's sequence, up to the window.
  let commands: WbxmlElement[] = [];
  let feed: FeedRead | undefined;
  if (req.getChanges ?? true) {
    const window = passWindow(req.windowSize, options, budget.remaining);
    ({ commands, feed } = await readFeed(ctx, folder, cctx, converter, view, touched, window, req.commands.length > 0, owedEchoes));
    budget.remaining -= commands.length;
  }
  const pass = decidePass({ stored, request: { syncKey: req.syncKey, options: req.options, commandsSent: req.commands.length > 0 }, plan, feed, touched, echoes: { owed: owedEchoes, refused: echoes.remembered() } });
  if (pass.next) {
    // The state of the new key keeps what the commands answered, for the same request sent again.
    const next = answered ? { ...pass.next, answered } : pass.next;
    await deviceState.saveSyncState({ userId: user.id, deviceId: device.deviceId, collectionId: folder.id, syncKey: pass.syncKey, data: stateToJson(next) }, [req.syncKey], held.change(keyGeneration(pass.syncKey)));
  }
  const element = syncedCollection(pass.syncKey, collectionId, SyncStatus.Success, pass.moreAvailable, commands, responses);
  // Echoes still owed are news the folder's sequence does not show: a Ping must look (hasNews
  // counts them), so the device is placed before the folder's start (positions.ts).
  const position = pass.next?.echo?.length ? 0 : pass.position;
  return { element, syncKey: pass.syncKey, changed: pass.changed, folder, status: SyncStatus.Success, sent: commands.length, moreAvailable: pass.moreAvailable, position };
}

/**
 * The server's side of a pass: the SoftDeletes owed from the last Sync first, then the echoes
 * owed (echoes.ts), then, with room left, the feed after the plan's sequence: the commands to
 * send and what was read (sync-pass.ts).
 */
async function readFeed(
  ctx: SyncContext,
  folder: Folder,
  cctx: ConvertContext,
  converter: ItemConverter,
  view: DeviceView,
  touched: Map<string, number>,
  window: number,
  commandsSent: boolean,
  owedEchoes: string[],
): Promise<{ commands: WbxmlElement[]; feed: FeedRead }> {
  const { plan, filter, held } = view;
  const commands: WbxmlElement[] = [];
  // What the device adds in this request: it learns their ServerIds after this response's Commands.
  // (Taken before the feed runs: so far only its own Adds are in the held view's additions.)
  const addedNow = held.addedSoFar();
  // Items the device added outside its window, owed a SoftDelete (ChangePage.deferred).
  let leaving = plan.leaving ?? [];
  if (leaving.length > 0) {
    const owed = await leavingCommands(ctx.mailbox, folder, leaving, filter, held, window);
    commands.push(...owed.commands);
    leaving = owed.rest;
  }
  const report = ctx.onUnconvertible;
  const skipped: Unconvertible | undefined = report ? (item, err) => report(folder, item, err) : undefined;
  let echo = owedEchoes;
  if (leaving.length === 0 && echo.length > 0) {
    // Each echo's version counts as the device's own from here, so the feed does not repeat it.
    const owed = await echoCommands(ctx.mailbox, folder, echo, filter, held, window - commands.length, converter, cctx, touched, skipped);
    commands.push(...owed.commands);
    echo = owed.rest;
  }
  // Owed SoftDeletes and echoes that did not fit come before anything newer (MoreAvailable, sync-pass.ts).
  if (leaving.length > 0 || echo.length > 0 || !feedToRead(folder.modseq, plan, commandsSent)) return { commands, feed: { sent: commands.length, reached: plan.since, leaving, more: false, echo } };
  const page = await collectChanges(ctx.mailbox, folder, converter, cctx, plan, window - commands.length, filter, held, touched, skipped, addedNow);
  commands.push(...page.commands);
  return { commands, feed: { sent: commands.length, reached: page.modseq, leaving: page.deferred, more: page.moreAvailable, echo: [] } };
}
