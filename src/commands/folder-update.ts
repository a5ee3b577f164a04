/**
 * FolderUpdate (MS-ASCMD 2.2.1.6): renames a folder and/or moves it under another parent ("0"
 * is the mailbox root).
 *
 * The request names the device's current hierarchy sync key; the response carries a new one
 * whose saved state already has the change, so the device's next FolderSync does not send it
 * back (2.2.3.181.1; no SyncKey after a failure).
 *
 * Status values (MS-ASCMD 2.2.3.177.6 Status (FolderUpdate)):
 *   1  success;
 *   2  a folder of that name already exists in the (new) parent, or the folder is a special
 *      folder (default types 2-11, "such as the Inbox, Outbox, Contacts, or Drafts folders.
 *      Special folders cannot be updated");
 *   3  the folder is the Recipient information cache (type 19); easd also answers 3 when a
 *      folder is to be moved into it, as FolderCreate may not create anything there (2.2.1.3);
 *   4  the folder does not exist (another user's folder does not exist either);
 *   5  the new parent does not exist;
 *   6  server error;
 *   9  the sync key is not the device's current hierarchy key;
 *   10 malformed: a missing SyncKey (2.2.3.181.1), ServerId, ParentId or DisplayName, a Status
 *      element in the request (2.2.3.77), a DisplayName not of 1-256 characters (2.2.3.49.3) or
 *      only white space, or a move of a folder under itself or one of its subfolders.
 */
import { isStoreError } from '../ports/types.ts';
import { isProtectedFolder, RECIPIENT_INFO_CACHE_TYPE } from '../ports/default-folders.ts';
import {
  isCurrentHierarchyKey,
  isValidFolderName,
  loadHierarchyState,
  NS,
  ROOT_PARENT_ID,
  sameFolderName,
  saveHierarchyState,
  subtree,
  withOwnUpdate,
} from '../sync/hierarchy.ts';
import { nextSyncKey } from '../sync/sync-key.ts';
import { child, childText, el } from '../wbxml/tree.ts';
import type { CommandHandler, CommandResult } from './types.ts';

export const FolderUpdateStatus = {
  Success: 1,
  FolderExistsOrSpecial: 2,
  RecipientInfoFolder: 3,
  FolderNotFound: 4,
  ParentNotFound: 5,
  ServerError: 6,
  InvalidSyncKey: 9,
  MalformedRequest: 10,
} as const;

function failure(status: number, reason: string): CommandResult {
  return { body: el(NS, 'FolderUpdate', el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

export const folderUpdate: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'FolderUpdate') return failure(FolderUpdateStatus.MalformedRequest, 'no FolderUpdate in the request');
  const key = childText(req, 'SyncKey', NS);
  const serverId = childText(req, 'ServerId', NS);
  const parentSid = childText(req, 'ParentId', NS);
  const name = childText(req, 'DisplayName', NS);
  if (key === undefined || serverId === undefined || parentSid === undefined || name === undefined || child(req, 'Status', NS)) {
    return failure(FolderUpdateStatus.MalformedRequest, 'SyncKey, ServerId, ParentId and DisplayName are required');
  }
  if (!isValidFolderName(name)) return failure(FolderUpdateStatus.MalformedRequest, 'DisplayName must be 1-256 characters');

  const { deviceState, mailbox, user, device } = ctx;
  try {
    const state = await loadHierarchyState(deviceState, user.id, device.deviceId, key);
    if (!state || !(await isCurrentHierarchyKey(deviceState, user.id, device.deviceId, key))) {
      return failure(FolderUpdateStatus.InvalidSyncKey, 'not the current hierarchy sync key');
    }
    const folder = await mailbox.getFolderByServerId(serverId);
    if (!folder) return failure(FolderUpdateStatus.FolderNotFound, 'folder not found');
    if (folder.type === RECIPIENT_INFO_CACHE_TYPE) return failure(FolderUpdateStatus.RecipientInfoFolder, 'the recipient information cache cannot be updated');
    if (isProtectedFolder(folder)) return failure(FolderUpdateStatus.FolderExistsOrSpecial, 'a special folder cannot be updated');

    const folders = await mailbox.listFolders();
    let parentId: string | null = null;
    if (parentSid !== ROOT_PARENT_ID) {
      const parent = folders.find((f) => f.serverId === parentSid);
      if (!parent) return failure(FolderUpdateStatus.ParentNotFound, 'parent folder not found');
      if (parent.type === RECIPIENT_INFO_CACHE_TYPE) return failure(FolderUpdateStatus.RecipientInfoFolder, 'nothing can be moved into the recipient information cache');
      if (subtree(folders, folder.id).some((f) => f.id === parent.id)) {
        return failure(FolderUpdateStatus.MalformedRequest, 'a folder cannot be moved under itself or a subfolder');
      }
      parentId = parent.id;
    }
    const clash = folders.some((f) => f.parentId === parentId && f.id !== folder.id && sameFolderName(f.displayName, name));
    if (clash) return failure(FolderUpdateStatus.FolderExistsOrSpecial, 'a folder of that name exists');

    let updated;
    try {
      updated = await mailbox.updateFolder(folder.id, { displayName: name, parentId, uniqueName: true });
    } catch (err) {
      // The folder or the new parent changed since they were read.
      if (isStoreError(err, 'not_found')) {
        return (await mailbox.getFolder(folder.id))
          ? failure(FolderUpdateStatus.ParentNotFound, 'parent folder not found')
          : failure(FolderUpdateStatus.FolderNotFound, 'folder not found');
      }
      if (isStoreError(err, 'invalid')) return failure(FolderUpdateStatus.MalformedRequest, err.message);
      // A folder of that name was created or renamed there since the look above.
      if (isStoreError(err, 'conflict')) return failure(FolderUpdateStatus.FolderExistsOrSpecial, 'a folder of that name exists');
      throw err;
    }
    const newKey = nextSyncKey(key);
    await saveHierarchyState(deviceState, user.id, device.deviceId, newKey, withOwnUpdate(state, updated, parentSid), [key]);
    return {
      body: el(NS, 'FolderUpdate', el(NS, 'Status', FolderUpdateStatus.Success), el(NS, 'SyncKey', newKey)),
      easStatus: FolderUpdateStatus.Success,
    };
  } catch (err) {
    ctx.log.error({ err }, 'FolderUpdate failed');
    return failure(FolderUpdateStatus.ServerError, 'server error');
  }
};
