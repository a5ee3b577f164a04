import { deviceView, readState } from '../sync/collection-state.ts';
import { countChanges } from '../sync/feed.ts';
import { INITIAL_SYNC_KEY } from '../sync/sync-key.ts';
import { parseOptions, SyncProtocolError } from '../sync/sync-request.ts';
import { child, childText, children, el, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandHandler } from './types.ts';

/** GetItemEstimate statuses (MS-ASCMD 2.2.3.177.6). */
export const EstimateStatus = { Success: 1, InvalidCollection: 2, NotPrimed: 3, InvalidSyncKey: 4 } as const;

const response = (status: number, collectionId?: string, estimate?: number): WbxmlElement =>
  el(
    'GetItemEstimate',
    'Response',
    el('GetItemEstimate', 'Status', status),
    collectionId === undefined
      ? null
      : el('GetItemEstimate', 'Collection', el('GetItemEstimate', 'CollectionId', collectionId), estimate === undefined ? null : el('GetItemEstimate', 'Estimate', estimate)),
  );

/**
 * GetItemEstimate (MS-ASCMD 2.2.1.9): how many changes the next Sync of each collection would
 * send. It counts with the same rules as Sync itself (collection-sync.ts), so the two agree.
 */
export const getItemEstimate: CommandHandler = async (ctx) => {
  const root = ctx.request;
  const collectionsEl = root && root.name === 'GetItemEstimate' ? child(root, 'Collections', 'GetItemEstimate') : undefined;
  if (!collectionsEl) {
    // A request without collections is a malformed one: the Sync-wide protocol status.
    return { body: el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Status', 2)), easStatus: 2 };
  }
  // A quarantined device (src/devices/quarantine.ts) is counted only what it is shown: other
  // collections are unknown to it (Status 2), and of the Inbox only its notice counts.
  const restricted = ctx.restricted;
  const folders = (await ctx.mailbox.listFolders()).filter((f) => !restricted || restricted.folder(f));
  const responses: WbxmlElement[] = [];
  for (const c of children(collectionsEl, 'Collection', 'GetItemEstimate')) {
    const collectionId = childText(c, 'CollectionId', 'GetItemEstimate')?.trim();
    const syncKey = childText(c, 'SyncKey', 'AirSync')?.trim();
    const folder = folders.find((f) => f.serverId === collectionId);
    if (!collectionId || !folder) {
      responses.push(response(EstimateStatus.InvalidCollection, collectionId ?? ''));
      continue;
    }
    if (!syncKey || syncKey === INITIAL_SYNC_KEY) {
      responses.push(response(EstimateStatus.NotPrimed, collectionId));
      continue;
    }
    const saved = await ctx.deviceState.getSyncState(ctx.user.id, ctx.device.deviceId, folder.id, syncKey);
    if (!saved) {
      responses.push(response(EstimateStatus.InvalidSyncKey, collectionId));
      continue;
    }
    const state = readState(saved.data);
    // 14.0+ sends AirSync Options; 12.x an AirSync FilterType directly in the Collection.
    let filterType = state.options.filterType;
    try {
      const optionsEl = child(c, 'Options', 'AirSync');
      if (optionsEl) filterType = parseOptions(optionsEl).filterType ?? filterType;
      const direct = childText(c, 'FilterType', 'AirSync');
      if (direct !== undefined) filterType = Number(direct);
    } catch (err) {
      if (!(err instanceof SyncProtocolError)) throw err;
      responses.push(response(EstimateStatus.InvalidCollection, collectionId));
      continue;
    }
    // The same view of the device as its next Sync with this FilterType (held items, window,
    // a reread after a FilterType change), so the estimate is what that Sync sends.
    const view = await deviceView(ctx.mailbox, ctx.deviceState, ctx.device.deviceId, folder, syncKey, state, filterType, restricted?.item, Date.now());
    const estimate = await countChanges(ctx.mailbox, folder, view.plan, view.filter, view.held, view.own);
    responses.push(response(EstimateStatus.Success, collectionId, estimate));
  }
  return { body: el('GetItemEstimate', 'GetItemEstimate', responses), easStatus: EstimateStatus.Success };
};
