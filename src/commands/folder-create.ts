/**
 * FolderCreate (MS-ASCMD 2.2.1.3): creates a folder under a parent ("0" is the mailbox root).
 *
 * The request names the device's current hierarchy sync key; the response carries a new one
 * whose saved state already has the new folder, so the device's next FolderSync does not send it
 * back (2.2.3.181.1: after a successful FolderCreate the server MUST send a new key; after a
 * failed one it MUST NOT send a SyncKey).
 *
 * Status values (MS-ASCMD 2.2.3.177.3 Status (FolderCreate)):
 *   1  success;
 *   2  a folder of that name already exists in the parent (names compare case-insensitively;
 *      2.2.3.49.4: subfolder names MUST be unique within a folder);
 *   3  the parent is a special system folder: the Recipient information cache (type 19), under
 *      which nothing may be created (2.2.1.3);
 *   5  the parent does not exist (another user's folder does not exist either);
 *   6  server error;
 *   9  the sync key is not the device's current hierarchy key;
 *   10 malformed: a missing SyncKey, ParentId, DisplayName or Type, a DisplayName not of 1-256
 *      characters (2.2.3.49.3) or only white space, or a Type other than 1 or 12-17 (2.2.3.186.2:
 *      types 2-11 and 19 are reserved for default folders).
 */
import { isStoreError } from '../ports/types.ts';
import { isUserCreatableType, RECIPIENT_INFO_CACHE_TYPE } from '../ports/default-folders.ts';
import {
  isCurrentHierarchyKey,
  isValidFolderName,
  loadHierarchyState,
  NS,
  ROOT_PARENT_ID,
  sameFolderName,
  saveHierarchyState,
  withOwnAdd,
} from '../sync/hierarchy.ts';
import { nextSyncKey } from '../sync/sync-key.ts';
import { childText, el } from '../wbxml/tree.ts';
import type { CommandHandler, CommandResult } from './types.ts';

export const FolderCreateStatus = {
  Success: 1,
  FolderExists: 2,
  SpecialParent: 3,
  ParentNotFound: 5,
  ServerError: 6,
  InvalidSyncKey: 9,
  MalformedRequest: 10,
} as const;

function failure(status: number, reason: string): CommandResult {
  return { body: el(NS, 'FolderCreate', el(NS, 'Status', status)), easStatus: status, logFields: { reason } };
}

export const folderCreate: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'FolderCreate') return failure(FolderCreateStatus.MalformedRequest, 'no FolderCreate in the request');
  const key = childText(req, 'SyncKey', NS);
  const parentSid = childText(req, 'ParentId', NS);
  const name = childText(req, 'DisplayName', NS);
  const typeText = childText(req, 'Type', NS);
  if (key === undefined || parentSid === undefined || name === undefined || typeText === undefined) {
    return failure(FolderCreateStatus.MalformedRequest, 'SyncKey, ParentId, DisplayName and Type are required');
  }
  if (!isValidFolderName(name)) return failure(FolderCreateStatus.MalformedRequest, 'DisplayName must be 1-256 characters');
  const type = /^\d{1,3}$/.test(typeText.trim()) ? Number(typeText.trim()) : NaN;
  if (!isUserCreatableType(type)) return failure(FolderCreateStatus.MalformedRequest, `Type ${typeText} cannot be created by a client`);

  const { deviceState, mailbox, user, device } = ctx;
  try {
    const state = await loadHierarchyState(deviceState, user.id, device.deviceId, key);
    if (!state || !(await isCurrentHierarchyKey(deviceState, user.id, device.deviceId, key))) {
      return failure(FolderCreateStatus.InvalidSyncKey, 'not the current hierarchy sync key');
    }
    let parentId: string | null = null;
    if (parentSid !== ROOT_PARENT_ID) {
      const parent = await mailbox.getFolderByServerId(parentSid);
      if (!parent) return failure(FolderCreateStatus.ParentNotFound, 'parent folder not found');
      if (parent.type === RECIPIENT_INFO_CACHE_TYPE) return failure(FolderCreateStatus.SpecialParent, 'parent is the recipient information cache');
      parentId = parent.id;
    }
    const siblings = (await mailbox.listFolders()).filter((f) => f.parentId === parentId);
    if (siblings.some((f) => sameFolderName(f.displayName, name))) return failure(FolderCreateStatus.FolderExists, 'a folder of that name exists');

    let folder;
    try {
      folder = await mailbox.createFolder({ parentId, displayName: name, type, uniqueName: true });
    } catch (err) {
      // The parent was deleted since it was read.
      if (isStoreError(err, 'not_found')) return failure(FolderCreateStatus.ParentNotFound, 'parent folder not found');
      // Another request created a folder of that name there since the look above (the store
      // checks again under the user's hierarchy lock).
      if (isStoreError(err, 'conflict')) return failure(FolderCreateStatus.FolderExists, 'a folder of that name exists');
      throw err;
    }
    const newKey = nextSyncKey(key);
    await saveHierarchyState(deviceState, user.id, device.deviceId, newKey, withOwnAdd(state, folder, parentSid), [key]);
    return {
      body: el(NS, 'FolderCreate', el(NS, 'Status', FolderCreateStatus.Success), el(NS, 'SyncKey', newKey), el(NS, 'ServerId', folder.serverId)),
      easStatus: FolderCreateStatus.Success,
    };
  } catch (err) {
    ctx.log.error({ err }, 'FolderCreate failed');
    return failure(FolderCreateStatus.ServerError, 'server error');
  }
};
