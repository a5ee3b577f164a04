/**
 * The device's own commands in a Sync (MS-ASCMD 2.2.3.32 Commands): Add, Change, Delete and
 * Fetch, answered in Responses. Each write is recorded in the request's HeldView (what the device
 * holds) and in `touched` (the version it has from its own write), so nothing it wrote comes
 * back to it as news.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConversionError, type ConvertContext, type ItemConverter } from '../classes/types.ts';
import type { BlobPart } from '../ports/mail.ts';
import type { Folder, Item, JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import { changeDigest, type EchoBook } from './echoes.ts';
import { OWN_DELETE } from './feed.ts';
import type { HeldView } from './held-view.ts';
import { RecentAddMatcher } from './recent-adds.ts';
import type { CollectionOptions, ClientCommand } from './sync-request.ts';
import { SyncStatus, type SyncContext } from './sync-context.ts';

/** Matches client Adds after a reset against the folder's items by the class's match key (kb-2.7). */
export class AddMatcher {
  private index: Map<string, string> | undefined;
  constructor(
    private readonly mailbox: Mailbox,
    private readonly folder: Folder,
    private readonly converter: ItemConverter,
  ) {}

  async find(data: JsonObject): Promise<string | undefined> {
    const key = this.converter.matchKey(data);
    if (key === undefined) return undefined;
    if (!this.index) {
      this.index = new Map();
      for await (const item of this.mailbox.scan(this.folder.id)) {
        const k = this.converter.matchKey(item.data);
        if (k !== undefined && !this.index.has(k)) this.index.set(k, item.id);
      }
    }
    return this.index.get(key);
  }
}

const responseElement = (name: string, ...children: WbxmlElement[]) => el('AirSync', name, children);

/**
 * The answer to a client command a restricted device may not make (SyncContext.readOnly,
 * visible), or undefined to apply it: Add, Change and Delete get Status 7 and change nothing;
 * Fetch of an item it may not see gets Status 8, as an unknown item does.
 */
export async function refuseRestricted(ctx: SyncContext, folder: Folder, cmd: ClientCommand): Promise<WbxmlElement | undefined> {
  if (!ctx.visible && !ctx.readOnly) return undefined;
  if (cmd.kind === 'Fetch') {
    if (!ctx.visible) return undefined;
    const item = await ctx.mailbox.getItemByServerId(cmd.serverId);
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

/**
 * Applies one client command. `seen`: the highest sequence whose versions the device has (a
 * Change of an item the server changed after it is a conflict). `echoes`: where a Change the
 * server takes only in part is noted, so the device is sent the server's version (echoes.ts).
 */
export async function applyClientCommand(
  ctx: SyncContext,
  folder: Folder,
  converter: ItemConverter,
  cctx: ConvertContext,
  options: CollectionOptions,
  seen: number,
  cmd: ClientCommand,
  touched: Map<string, number>,
  held: HeldView,
  deletesAsMoves: boolean,
  matcher: AddMatcher | undefined,
  recent?: RecentAddMatcher,
  echoes?: EchoBook,
): Promise<WbxmlElement[]> {
  const { mailbox, deviceState, user, device } = ctx;
  switch (cmd.kind) {
    case 'Add': {
      // Idempotent per device, collection and ClientId (kb-2.7): a replayed Add gets the same ServerId.
      const known = await deviceState.getClientAdd(user.id, device.deviceId, folder.id, cmd.clientId);
      const knownItem = known ? await mailbox.getItem(known) : null;
      if (knownItem) {
        touched.set(knownItem.id, knownItem.modseq);
        held.add(knownItem.id);
        return [responseElement('Add', idElement('ClientId', cmd.clientId), idElement('ServerId', knownItem.serverId), statusElement(SyncStatus.Success), ...writeAnswer(converter, cmd.appData, knownItem.data, cctx))];
      }
      let data: JsonObject;
      const newBlobs: BlobPart[] = [];
      try {
        data = converter.fromEas(cmd.appData, { ...cctx, newBlobs });
      } catch (err) {
        if (!(err instanceof ConversionError)) throw err;
        return [responseElement('Add', idElement('ClientId', cmd.clientId), statusElement(SyncStatus.ConversionError))];
      }
      const matchedId = (matcher ? await matcher.find(data) : undefined) ?? (recent ? await recent.find(data, held) : undefined);
      // Attachment bytes first (16.0+ AirSyncBase:Add), so the item never names a missing blob.
      if (!matchedId && newBlobs.length > 0) await mailbox.putBlobs(newBlobs);
      const item = matchedId ? await mailbox.getItem(matchedId) : await mailbox.putItem({ folderId: folder.id, class: converter.itemClass, data, uid: uidOf(data) });
      if (!item) throw new Error('matched item vanished');
      await deviceState.putClientAdd(user.id, device.deviceId, folder.id, cmd.clientId, item.id);
      touched.set(item.id, item.modseq);
      held.add(item.id);
      if (!matchedId) await ctx.onClientWrite?.(folder, item, cmd.appData);
      if (!matchedId) await ctx.onClientItemChange?.(folder, undefined, item);
      return [responseElement('Add', idElement('ClientId', cmd.clientId), idElement('ServerId', item.serverId), statusElement(SyncStatus.Success), ...writeAnswer(converter, cmd.appData, item.data, cctx))];
    }
    case 'Change': {
      const item = await mailbox.getItemByServerId(cmd.serverId);
      if (!item || item.folderId !== folder.id) {
        return [responseElement('Change', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.NotFound))];
      }
      let data: JsonObject;
      const newBlobs: BlobPart[] = [];
      let shown: JsonObject;
      try {
        // One clock for both conversions: a value the class fills in from it (a completed task's
        // DateCompleted, a note's LastModifiedDate) must not tell them apart.
        const at = (cctx.now ?? (() => new Date()))();
        // A draft is the device's to change whole (the Drafts folder, type 3, MS-ASCMD 2.2.3.186.3).
        const changeCtx: ConvertContext = { ...cctx, newBlobs, now: () => at, draftsFolder: folder.type === 3, ...(cmd.instanceId ? { instanceId: cmd.instanceId } : {}) };
        data = converter.fromEas(cmd.appData, changeCtx, item.data);
        // The device's own view: attachments it adds there go to a list of their own, never stored.
        shown = converter.fromEas(cmd.appData, { ...changeCtx, newBlobs: [], asSent: true }, item.data);
      } catch (err) {
        if (!(err instanceof ConversionError)) throw err;
        return [responseElement('Change', idElement('ServerId', cmd.serverId), ...instanceElement(cmd.instanceId), statusElement(SyncStatus.ConversionError))];
      }
      // The device now shows its own edit of fields the server keeps (kb-1.2): it is owed the
      // server's version (echoes.ts), once per edit.
      const refused = !isDeepStrictEqual(shown, data) ? changeDigest(cmd.instanceId, cmd.appData) : undefined;
      // A Change that changes nothing is done already: the same Change sent again (a retried
      // request whose answer was lost) gets the answer the first one got, not a conflict with
      // its own write, and nothing is written or sent again.
      if (isDeepStrictEqual(data, item.data)) {
        touched.set(item.id, item.modseq);
        if (refused) echoes?.refused(item, refused);
        // What the Change asks beyond its data still happens: a saved draft sent as it is
        // (email2:Send with unchanged fields, MS-ASEMAIL 2.2.2.69).
        await ctx.onClientWrite?.(folder, item, cmd.appData);
        return changeAnswer(converter, cmd.serverId, cmd.appData, item.data, cctx);
      }
      // Conflict (MS-ASCMD 2.2.3.34): the server changed the item after the device's sequence.
      // Server wins by default: the client gets Status 7 and the server's version as a Change.
      // The device's own write (an Add or Change the feed has not passed yet) is no conflict.
      if (item.modseq > seen && touched.get(item.id) !== item.modseq && (options.conflict ?? 1) === 1) {
        return [responseElement('Change', idElement('ServerId', cmd.serverId), statusElement(SyncStatus.Conflict))];
      }
      // A Change the server acts on (a recurring task's occurrence completed): the stored data
      // differs from the device's, so the device is sent it back; new items reach it as Adds.
      const after = converter.afterClientChange?.(data, item.data, cctx);
      if (after) {
        data = after.data;
        for (const created of after.created) await mailbox.putItem({ folderId: folder.id, class: converter.itemClass, data: created });
      }
      if (newBlobs.length > 0) await mailbox.putBlobs(newBlobs);
      const updated = await mailbox.updateItem(item.id, { data, uid: uidOf(data) ?? item.uid });
      if (!after) touched.set(updated.id, updated.modseq);
      if (refused && !after) echoes?.refused(updated, refused);
      await ctx.onClientWrite?.(folder, updated, cmd.appData);
      await ctx.onClientItemChange?.(folder, item, updated);
      // A successful Change is not answered (MS-ASCMD 2.2.3.24.3), unless it added attachments
      // whose FileReferences the device must learn (16.0+, MS-ASAIRS 2.2.2.24.1).
      return changeAnswer(converter, cmd.serverId, cmd.appData, updated.data, cctx);
    }
    case 'Delete': {
      const item = await mailbox.getItemByServerId(cmd.serverId);
      if (!item || item.folderId !== folder.id) {
        // Already gone while the device still holds it: its own Delete sent again (a retried
        // request whose answer was lost) or one that crossed a delete from elsewhere. The item
        // is gone as the device asks, so the answer is the one the first attempt got, and its
        // tombstone is not sent back as news.
        if (!cmd.instanceId && (await deletedWhileHeld(mailbox, folder, cmd.serverId, held, touched))) return [];
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
        const updated = await mailbox.updateItem(item.id, { data, uid: uidOf(data) ?? item.uid });
        touched.set(updated.id, updated.modseq);
        await ctx.onClientItemChange?.(folder, item, updated);
        return [];
      }
      // DeletesAsMoves (default true, MS-ASCMD 2.2.3.43): deletes from a device move the item
      // to Deleted Items, recoverable; only a delete inside Deleted Items is final (kb-1.5).
      const trash = ctx.folders.find((f) => f.type === 4);
      if (deletesAsMoves && trash && trash.id !== folder.id) await mailbox.moveItem(item.id, trash.id);
      else await mailbox.deleteItem(item.id);
      touched.set(item.id, OWN_DELETE);
      held.remove(item.id);
      await ctx.onClientItemChange?.(folder, item, undefined);
      return [];
    }
    case 'Fetch': {
      const item = await mailbox.getItemByServerId(cmd.serverId);
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

/** Whether the ServerId names a tombstone of this folder the device holds; if so, records its delete as the device's own. */
async function deletedWhileHeld(mailbox: Mailbox, folder: Folder, serverId: string, held: HeldView, touched: Map<string, number>): Promise<boolean> {
  const gone = await mailbox.getItemByServerId(serverId, true);
  if (!gone || !gone.deleted || gone.folderId !== folder.id) return false;
  await held.load([gone.id]);
  if (!held.has(gone.id)) return false;
  touched.set(gone.id, OWN_DELETE);
  held.remove(gone.id);
  return true;
}

/** ApplicationData for the answer to an Add or Change (the class's clientWriteAnswer), or nothing. */
function writeAnswer(converter: ItemConverter, appData: WbxmlElement, data: JsonObject, cctx: ConvertContext): WbxmlElement[] {
  const kids = converter.clientWriteAnswer?.(appData, data, cctx);
  return kids && kids.length > 0 ? [el('AirSync', 'ApplicationData', kids)] : [];
}

function changeAnswer(converter: ItemConverter, serverId: string, appData: WbxmlElement, data: JsonObject, cctx: ConvertContext): WbxmlElement[] {
  const answer = writeAnswer(converter, appData, data, cctx);
  return answer.length ? [responseElement('Change', idElement('ServerId', serverId), statusElement(SyncStatus.Success), ...answer)] : [];
}

function uidOf(data: JsonObject): string | undefined {
  return typeof data.uid === 'string' && data.uid !== '' ? data.uid : undefined;
}

