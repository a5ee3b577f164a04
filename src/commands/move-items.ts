/**
 * MoveItems (MS-ASCMD 2.2.1.12): moves items between the user's folders, one Response per Move,
 * in request order, each with its own Status (MS-ASCMD 2.2.3.177.10):
 *   1 invalid source: SrcFldId is not one of the user's folders, or SrcMsgId is not an item in
 *     it (already moved away, deleted, or another user's: the same answer, revealing nothing);
 *   2 invalid destination: DstFldId is not one of the user's folders, a folder of another
 *     class (a mail item cannot go to a Calendar folder; Deleted Items takes every class, as
 *     Sync's DeletesAsMoves puts any item there), or the recipient information cache, which
 *     only the server fills (MS-ASCMD 2.2.3.186.3 type 19);
 *   3 success, with DstMsgId, the item's ServerId in the destination;
 *   4 source and destination are the same folder;
 *   5 failure: a malformed Move (an element missing), or the store failed;
 *   7 the source or destination item is locked: a passing store failure (busy database,
 *     serialization failure), which a retry can get past.
 * The same Move sent again (its response lost) is answered as it was: 3 with the same DstMsgId
 * while the moved item is still in the destination (moves-done.ts).
 * A request that is not MoveItems at all is answered with HTTP 400 (nothing to respond to).
 * The move is the store's moveItem: a tombstone in the source folder and a new item in the
 * destination, so devices syncing either folder see a Delete and an Add, the moving device too
 * ("the client receives Delete and Add operations the next time the client synchronizes the
 * affected folders", MS-ASCMD 2.2.1.12).
 */
import { classForFolderType } from '../classes/index.ts';
import { isStoreError, isTransientStoreError, type Folder, type ItemClass } from '../ports/types.ts';
import { isJunkFolder, RECIPIENT_INFO_CACHE_TYPE } from '../ports/default-folders.ts';
import { childText, children, el, type WbxmlElement } from '../wbxml/tree.ts';
import { findMoveDone, recordMovesDone, type MoveDone } from './moves-done.ts';
import type { CommandHandler, CommandResult } from './types.ts';

const NS = 'Move';
const DELETED_ITEMS_TYPE = 4;

function acceptsClass(folder: Folder, itemClass: ItemClass): boolean {
  if (folder.type === RECIPIENT_INFO_CACHE_TYPE) return false;
  if (folder.type === DELETED_ITEMS_TYPE) return true;
  try {
    return classForFolderType(folder.type) === itemClass;
  } catch {
    return false; // a folder type EAS does not know
  }
}

export const MoveStatus = {
  InvalidSource: 1,
  InvalidDestination: 2,
  Success: 3,
  SameFolder: 4,
  Failure: 5,
  Locked: 7,
} as const;

export const moveItems: CommandHandler = async (ctx): Promise<CommandResult> => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'MoveItems') return { httpStatus: 400, logFields: { reason: 'no MoveItems in the request' } };
  const { mailbox, deviceState, user, device } = ctx;
  const responses: WbxmlElement[] = [];
  let moved = 0;
  const done: MoveDone[] = [];
  /** The DstMsgId of this device's same Move made before, while the moved item is still there. */
  const movedBefore = async (src: string, from: string, to: string): Promise<string | undefined> => {
    const dst = await findMoveDone(deviceState, user.id, device.deviceId, { src, from, to });
    const there = dst !== undefined ? await mailbox.getItemByServerId(dst) : null;
    const dstFolder = there ? await folderBySid(to) : undefined;
    return there && dstFolder && there.folderId === dstFolder.id ? dst : undefined;
  };
  let folders: Folder[] | undefined;
  const folderBySid = async (sid: string | undefined) => {
    if (sid === undefined) return undefined;
    folders ??= await mailbox.listFolders();
    return folders.find((f) => f.serverId === sid);
  };
  for (const move of children(req, 'Move', NS)) {
    const srcMsgId = childText(move, 'SrcMsgId', NS);
    const srcFldId = childText(move, 'SrcFldId', NS);
    const dstFldId = childText(move, 'DstFldId', NS);
    const respond = (status: number, dstMsgId?: string) => {
      responses.push(el(NS, 'Response', el(NS, 'SrcMsgId', srcMsgId ?? ''), el(NS, 'Status', status), dstMsgId !== undefined ? el(NS, 'DstMsgId', dstMsgId) : null));
    };
    if (srcMsgId === undefined || srcFldId === undefined || dstFldId === undefined) {
      respond(MoveStatus.Failure);
      continue;
    }
    try {
      const src = await folderBySid(srcFldId);
      const item = src ? await mailbox.getItemByServerId(srcMsgId) : null;
      if (!src || !item || item.folderId !== src.id) {
        const again = src ? await movedBefore(srcMsgId, srcFldId, dstFldId) : undefined;
        respond(again !== undefined ? MoveStatus.Success : MoveStatus.InvalidSource, again);
        continue;
      }
      const dst = await folderBySid(dstFldId);
      if (!dst || !acceptsClass(dst, item.class)) {
        respond(MoveStatus.InvalidDestination);
        continue;
      }
      if (dst.id === src.id) {
        respond(MoveStatus.SameFolder);
        continue;
      }
      const newItem = await mailbox.moveItem(item.id, dst.id);
      moved += 1;
      // The user overruled the spam filter (or sent something to junk): worth a line for the
      // administrator tuning the filter, without the message's content.
      if (isJunkFolder(src) !== isJunkFolder(dst)) {
        ctx.log.info({ itemId: item.id, from: src.serverId, to: dst.serverId }, isJunkFolder(src) ? 'message moved out of Junk E-mail' : 'message moved to Junk E-mail');
      }
      respond(MoveStatus.Success, newItem.serverId);
      done.push({ src: srcMsgId, from: srcFldId, to: dstFldId, dst: newItem.serverId });
    } catch (err) {
      if (isStoreError(err, 'not_found')) {
        // Moved, deleted or its folder removed between the read and the move.
        respond(MoveStatus.InvalidSource);
      } else if (isTransientStoreError(err)) {
        respond(MoveStatus.Locked);
      } else {
        ctx.log.error({ err }, 'MoveItems: a move failed');
        respond(MoveStatus.Failure);
      }
      folders = undefined;
    }
  }
  // After the moves: a failure to record costs only a retry's answer (Status 1), never a move.
  try {
    await recordMovesDone(deviceState, user.id, device.deviceId, done);
  } catch (err) {
    if (!isTransientStoreError(err)) throw err;
    ctx.log.warn({ err }, 'MoveItems: the moves made could not be recorded for a retry');
  }
  return { body: el(NS, 'MoveItems', responses), logFields: { moves: responses.length, moved } };
};
