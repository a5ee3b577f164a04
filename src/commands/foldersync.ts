/**
 * FolderSync (MS-ASCMD 2.2.1.5): synchronizes the folder hierarchy.
 *
 * - SyncKey 0: the device (re)starts. Every live folder is sent as an Add (2.2.1.5: "All folders
 *   MUST be returned to the client when initial folder synchronization is done with a
 *   synchronization key of 0") under a new key generation. A hierarchy reset restarts the
 *   device's synchronization: its sync states of every collection are dropped, and a reset of a
 *   device that had synchronized before is counted (Device.syncResets, kb-2.13). The response
 *   carries X-MS-RP, MS-ASProtocolCommands and MS-ASProtocolVersions (MS-ASHTTP 3.2.5.1: SHOULD).
 * - Any other key must be the device's current hierarchy key or the previous one (kept so a
 *   retried request gets the same answer, src/sync/hierarchy.ts); anything else is Status 9
 *   (2.2.3.181.2: the server MUST return Status 9 when the key does not match).
 * - When nothing changed since the current key, the same key comes back with Count 0 (2.2.3.37:
 *   "If there are no changes since the last folder synchronization, a Count element value of 0
 *   is returned"; MS-ASHTTP 4.1 shows a FolderSync answering SyncKey 2 with SyncKey 2, Count 0).
 *
 * Status values (MS-ASCMD 2.2.3.177.5 Status (FolderSync)): 1 success, 6 server error, 9 sync key
 * mismatch or invalid, 10 incorrectly formatted request; 11 (unknown error) and 12 (code unknown)
 * are not produced.
 */
import { PROTOCOL_HEADERS } from '../eas/commands.ts';
import {
  changesElement,
  EMPTY_HIERARCHY_STATE,
  isCurrentHierarchyKey,
  loadHierarchyState,
  NS,
  readHierarchyChanges,
  saveHierarchyState,
} from '../sync/hierarchy.ts';
import { firstSyncKey, INITIAL_SYNC_KEY, nextSyncKey } from '../sync/sync-key.ts';
import { child, childText, el, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

export const FolderSyncStatus = {
  Success: 1,
  ServerError: 6,
  InvalidSyncKey: 9,
  MalformedRequest: 10,
} as const;

/** Device data (Store.putDeviceData) recording that the device has done an initial FolderSync. */
export const FOLDERSYNC_DEVICE_DATA = 'foldersync';

function failure(status: number, reason: string): CommandResult {
  return { body: el(NS, 'FolderSync', el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

function success(key: string, changes: WbxmlElement, count: number, headers?: Record<string, string>): CommandResult {
  return {
    body: el(NS, 'FolderSync', el(NS, 'Status', FolderSyncStatus.Success), el(NS, 'SyncKey', key), changes),
    easStatus: FolderSyncStatus.Success,
    logFields: { changes: count },
    ...(headers ? { headers } : {}),
  };
}

export const folderSync: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'FolderSync' || !child(req, 'SyncKey', NS)) {
    return failure(FolderSyncStatus.MalformedRequest, 'no FolderSync/SyncKey in the request');
  }
  const key = childText(req, 'SyncKey', NS) ?? '';
  try {
    return key === INITIAL_SYNC_KEY ? await initialSync(ctx) : await incrementalSync(ctx, key);
  } catch (err) {
    ctx.log.error({ err }, 'FolderSync failed');
    return failure(FolderSyncStatus.ServerError, 'server error');
  }
};

async function initialSync(ctx: CommandContext): Promise<CommandResult> {
  const { deviceState, mailbox, user, device } = ctx;
  await mailbox.ensureDefaultFolders();
  const before = await deviceState.getDeviceData(user.id, device.deviceId, FOLDERSYNC_DEVICE_DATA);
  if (before) {
    const resets = await deviceState.recordSyncReset(user.id, device.deviceId);
    ctx.log.info({ resets }, 'hierarchy reset (FolderSync with SyncKey 0)');
  }
  // A new hierarchy generation: every collection state of the device is void.
  await deviceState.deleteSyncStates(user.id, device.deviceId);
  // A quarantined device is shown only the folders its restriction allows (the Inbox).
  const { changes, next } = await readHierarchyChanges(mailbox, EMPTY_HIERARCHY_STATE, [], ctx.restricted?.folder);
  const key = firstSyncKey();
  await saveHierarchyState(deviceState, user.id, device.deviceId, key, next, []);
  const initialSyncs = typeof before?.initialSyncs === 'number' ? before.initialSyncs + 1 : 1;
  await deviceState.putDeviceData(user.id, device.deviceId, FOLDERSYNC_DEVICE_DATA, { initialSyncs, lastInitialSync: new Date().toISOString() });
  return success(key, changesElement(changes), changes.length, {
    'X-MS-RP': PROTOCOL_HEADERS['MS-ASProtocolVersions'],
    'MS-ASProtocolCommands': PROTOCOL_HEADERS['MS-ASProtocolCommands'],
    'MS-ASProtocolVersions': PROTOCOL_HEADERS['MS-ASProtocolVersions'],
  });
}

async function incrementalSync(ctx: CommandContext, key: string): Promise<CommandResult> {
  const { deviceState, mailbox, user, device } = ctx;
  const state = await loadHierarchyState(deviceState, user.id, device.deviceId, key);
  if (!state) return failure(FolderSyncStatus.InvalidSyncKey, 'unknown hierarchy sync key');
  const folders = await mailbox.ensureDefaultFolders();
  const { changes, next } = await readHierarchyChanges(mailbox, state, folders, ctx.restricted?.folder);
  if (changes.length === 0 && (await isCurrentHierarchyKey(deviceState, user.id, device.deviceId, key))) {
    return success(key, changesElement(changes), 0);
  }
  // The successor of `key`: for the current key a new one; for the previous key (a retry) the
  // key that answered it before, now saved again with the recomputed state.
  const newKey = nextSyncKey(key);
  await saveHierarchyState(deviceState, user.id, device.deviceId, newKey, next, [key]);
  return success(newKey, changesElement(changes), changes.length);
}
