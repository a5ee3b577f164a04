/**
 * FolderDelete (MS-ASCMD 2.2.1.4): deletes a folder with its subfolders and their contents.
 *
 * The request names the device's current hierarchy sync key; the response carries a new one
 * whose saved state no longer has the folder or its subfolders, so the device's next FolderSync
 * sends no Delete for them (2.2.3.181.1; no SyncKey after a failure).
 *
 * Status values (MS-ASCMD 2.2.3.177.4 Status (FolderDelete)):
 *   1  success;
 *   3  the folder is a special system folder ("such as the Inbox folder, Outbox folder, Contacts
 *      folder, Recipient information, or Drafts folder"): default types 2-11 and 19;
 *   4  the folder does not exist (another user's folder does not exist either);
 *   6  server error;
 *   9  the sync key is not the device's current hierarchy key;
 *   10 malformed: a missing SyncKey or ServerId.
 */
import { isStoreError } from '../ports/types.ts';
import { isProtectedFolder } from '../ports/default-folders.ts';
import { isCurrentHierarchyKey, loadHierarchyState, NS, saveHierarchyState, subtree, withOwnDelete } from '../sync/hierarchy.ts';
import { nextSyncKey } from '../sync/sync-key.ts';
import { childText, el } from '../wbxml/tree.ts';
import type { CommandHandler, CommandResult } from './types.ts';

export const FolderDeleteStatus = {
  Success: 1,
  SpecialFolder: 3,
  FolderNotFound: 4,
  ServerError: 6,
  InvalidSyncKey: 9,
  MalformedRequest: 10,
} as const;

function failure(status: number, reason: string): CommandResult {
  return { body: el(NS, 'FolderDelete', el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

export const folderDelete: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'FolderDelete') return failure(FolderDeleteStatus.MalformedRequest, 'no FolderDelete in the request');
  const key = childText(req, 'SyncKey', NS);
  const serverId = childText(req, 'ServerId', NS);
  if (key === undefined || serverId === undefined) return failure(FolderDeleteStatus.MalformedRequest, 'SyncKey and ServerId are required');

  const { deviceState, mailbox, user, device } = ctx;
  try {
    const state = await loadHierarchyState(deviceState, user.id, device.deviceId, key);
    if (!state || !(await isCurrentHierarchyKey(deviceState, user.id, device.deviceId, key))) {
      return failure(FolderDeleteStatus.InvalidSyncKey, 'not the current hierarchy sync key');
    }
    const folders = await mailbox.listFolders();
    const folder = folders.find((f) => f.serverId === serverId);
    if (!folder) return failure(FolderDeleteStatus.FolderNotFound, 'folder not found');
    if (isProtectedFolder(folder)) return failure(FolderDeleteStatus.SpecialFolder, 'a special folder cannot be deleted');

    const doomed = subtree(folders, folder.id).map((f) => f.serverId);
    try {
      await mailbox.deleteFolder(folder.id);
    } catch (err) {
      if (isStoreError(err, 'not_found')) return failure(FolderDeleteStatus.FolderNotFound, 'folder not found');
      throw err;
    }
    const newKey = nextSyncKey(key);
    const live = new Set((await mailbox.listFolders()).map((f) => f.serverId));
    await saveHierarchyState(deviceState, user.id, device.deviceId, newKey, withOwnDelete(state, folder.serverId, doomed, live), [key]);
    return {
      body: el(NS, 'FolderDelete', el(NS, 'Status', FolderDeleteStatus.Success), el(NS, 'SyncKey', newKey)),
      easStatus: FolderDeleteStatus.Success,
      logFields: { deleted: doomed.length },
    };
  } catch (err) {
    ctx.log.error({ err }, 'FolderDelete failed');
    return failure(FolderDeleteStatus.ServerError, 'server error');
  }
};
