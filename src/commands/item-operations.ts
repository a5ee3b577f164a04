/**
 * ItemOperations (MS-ASCMD 2.2.1.10): Fetch (an item by CollectionId+ServerId, a search result
 * by LongId, an attachment by FileReference), EmptyFolderContents and Move (of a conversation).
 *
 * Fetch
 * - Item: the ApplicationData children of the item's class under the request's BodyPreference
 *   and MIMESupport (MS-ASCMD 2.2.3.67.1), in `Properties`, with `airsync:Class`. A delivered
 *   message's raw MIME is read from the mailbox's blobs (src/classes/load-body.ts). Fetching any message the
 *   user owns works whatever its sender's domain (kb-2.3).
 * - LongId (from Search results, 2.2.3.93.2): read back with src/mail/search.ts
 *   `resolveLongId` (the item's ServerId, the caller's own items only).
 * - FileReference (2.2.3.69.2): the attachment's bytes (airsyncbase:ContentType, and with Range
 *   "start-end", inclusive, the Range actually sent and the Total size, 2.2.3.140.1, 2.2.3.176).
 *   A Range starting beyond the data is Status 8.
 * - Inline form: attachment bytes as base64 text in `Data` (2.2.3.39.1); item bodies in
 *   airsyncbase:Body/Data. MultiPart form (MS-ASAcceptMultiPart: T, or the AcceptMultiPart flag
 *   of the base64 query, MS-ASHTTP 2.2.1.1.2.5): the WBXML response is part 0 and each Data is
 *   moved out into a binary part, referenced by `Part` (2.2.3.127); the body is
 *   application/vnd.ms-sync.multipart (2.2.1.10.1: part count, then offset/length pairs as
 *   little-endian int32, then the parts).
 * - Another user's ServerId or FileReference answers exactly as an unknown one (Status 6 / 15):
 *   lookups go through the requesting user's own mailbox only.
 *
 * EmptyFolderContents (2.2.3.58): deletes every item of the folder; with DeleteSubFolders also
 * its subfolders. Move (2.2.3.117.1): moves every item of the conversation (ConversationId,
 * binary) to DstFldId.
 *
 * Statuses (2.2.3.177.8): 1 success, 2 protocol error, 3 server error, 6 object not found or
 * access denied, 8 byte range invalid, 9 store unknown, 14 item failed conversion, 15 invalid
 * attachment id.
 */
import { converterFor } from '../classes/index.ts';
import { resolveFileReference } from '../classes/attachments-fetch.ts';
import { ConversionError, type ConvertContext } from '../classes/types.ts';
import { loadForConversion } from '../classes/load-body.ts';
import { resolveLongId } from '../mail/search.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { Folder, Item, JsonObject } from '../ports/types.ts';
import { isTransientStoreError } from '../ports/types.ts';
import { convertContext } from '../sync/collection-sync.ts';
import { parseOptions } from '../sync/sync-request.ts';
import { child, childText, children, el, isElement, text, type WbxmlElement } from '../wbxml/tree.ts';
import { encodeWbxml } from '../wbxml/index.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';

const NS = 'ItemOperations';
const AS = 'AirSync';
const ASB = 'AirSyncBase';

export const ItemOperationsStatus = {
  Success: 1,
  ProtocolError: 2,
  ServerError: 3,
  NotFound: 6,
  InvalidRange: 8,
  StoreUnknown: 9,
  ConversionFailed: 14,
  InvalidAttachment: 15,
} as const;

/** Thrown inside one operation: its Status, without failing the others. */
class OpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Collects binary parts for the multipart form (part 0 is the WBXML, added at the end). */
class Parts {
  readonly list: Buffer[] = [];
  constructor(readonly multipart: boolean) {}
  /** The element carrying `data`: `Data` (base64 or text) inline, `Part` n in multipart. */
  data(bytes: Buffer, inlineText: string): WbxmlElement {
    if (!this.multipart) return el(NS, 'Data', inlineText);
    this.list.push(bytes);
    return el(NS, 'Part', this.list.length);
  }
}

/** The attachment a FileReference names, within the user's own items (src/classes/attachments-fetch.ts). */
export { resolveFileReference };

/** "start-end" (inclusive) -> [start, end]; undefined when malformed. */
export function parseRange(s: string): [number, number] | undefined {
  const m = /^\s*(\d{1,12})-(\d{1,12})\s*$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a <= b ? [a, b] : undefined;
}

function statusOnly(name: string, status: number, ...rest: Array<WbxmlElement | null>): WbxmlElement {
  return el(NS, name, el(NS, 'Status', status), ...rest);
}

export const itemOperations: CommandHandler = async (ctx) => {
  const req = ctx.request;
  if (!req || req.ns !== NS || req.name !== 'ItemOperations') {
    return { body: el(NS, 'ItemOperations', el(NS, 'Status', ItemOperationsStatus.ProtocolError)), easStatus: 2, logFields: { reason: 'no ItemOperations in the request' } };
  }
  const parts = new Parts(ctx.params.acceptMultiPart);
  const responses: WbxmlElement[] = [];
  let fetched = 0;
  try {
    for (const op of children(req)) {
      if (op.ns !== NS) continue;
      if (op.name === 'Fetch') {
        responses.push(await fetchOp(ctx, op, parts));
        fetched++;
      } else if (op.name === 'EmptyFolderContents') responses.push(await emptyFolderOp(ctx, op));
      else if (op.name === 'Move') responses.push(await moveOp(ctx, op));
      else return { body: el(NS, 'ItemOperations', el(NS, 'Status', ItemOperationsStatus.ProtocolError)), easStatus: 2, logFields: { reason: `unknown operation ${op.name}` } };
    }
  } catch (err) {
    if (!isTransientStoreError(err)) ctx.log.error({ err }, 'ItemOperations failed');
    return { body: el(NS, 'ItemOperations', el(NS, 'Status', ItemOperationsStatus.ServerError)), easStatus: 3 };
  }
  const body = el(NS, 'ItemOperations', el(NS, 'Status', ItemOperationsStatus.Success), el(NS, 'Response', responses));
  const logFields = { fetched, multipart: parts.multipart ? 1 : 0 };
  if (!parts.multipart) return { body, easStatus: 1, logFields };
  return { raw: { contentType: 'application/vnd.ms-sync.multipart', data: multipartBody([encodeWbxml(body), ...parts.list]) }, easStatus: 1, logFields };
};

/** MS-ASCMD 2.2.1.10.1 MultiPartResponse: count, (offset, length) per part, then the parts. */
export function multipartBody(list: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(4 + 8 * list.length);
  header.writeInt32LE(list.length, 0);
  let offset = header.length;
  list.forEach((p, i) => {
    header.writeInt32LE(offset, 4 + 8 * i);
    header.writeInt32LE(p.length, 8 + 8 * i);
    offset += p.length;
  });
  return Buffer.concat([header, ...list]);
}

function optionsOf(op: WbxmlElement): { cctx: ConvertContext | undefined; range?: string; error?: string } {
  const o = child(op, 'Options', NS);
  if (!o) return { cctx: undefined };
  const range = childText(o, 'Range', NS);
  try {
    return { cctx: convertContext('16.1', parseOptions(o)), ...(range !== undefined ? { range } : {}) };
  } catch (err) {
    return { cctx: undefined, error: (err as Error).message };
  }
}

async function fetchOp(ctx: CommandContext, op: WbxmlElement, parts: Parts): Promise<WbxmlElement> {
  const storeName = childText(op, 'Store', NS)?.trim();
  if (storeName !== undefined && storeName.toLowerCase() !== 'mailbox') return statusOnly('Fetch', ItemOperationsStatus.StoreUnknown);
  const opts = optionsOf(op);
  if (opts.error) return statusOnly('Fetch', ItemOperationsStatus.ProtocolError);
  const fileRef = childText(op, 'FileReference', ASB);
  if (fileRef !== undefined) return fetchAttachment(ctx, fileRef, opts.range, parts);
  const longId = childText(op, 'LongId', 'Search');
  const serverId = childText(op, 'ServerId', AS);
  const collectionId = childText(op, 'CollectionId', AS);
  let item: Item | null = null;
  let idElements: WbxmlElement[];
  if (longId !== undefined) {
    item = await resolveLongId(ctx.mailbox, longId);
    idElements = [el('Search', 'LongId', longId)];
  } else if (serverId !== undefined && collectionId !== undefined) {
    idElements = [el(AS, 'CollectionId', collectionId), el(AS, 'ServerId', serverId)];
    const folder = await ctx.mailbox.getFolderByServerId(collectionId);
    const found = folder ? await ctx.mailbox.getItemByServerId(serverId) : null;
    item = found && folder && found.folderId === folder.id ? found : null;
  } else {
    return statusOnly('Fetch', ItemOperationsStatus.ProtocolError);
  }
  if (!item) return statusOnly('Fetch', ItemOperationsStatus.NotFound, ...idElements);
  const cctx: ConvertContext = { ...(opts.cctx ?? convertContext(ctx.version, {})), version: ctx.version };
  await loadForConversion(ctx.mailbox, [item], cctx);
  let props: WbxmlElement[];
  try {
    props = converterFor(item.class).toEas(item.data, cctx);
  } catch (err) {
    if (!(err instanceof ConversionError)) throw err;
    ctx.log.warn({ err, itemId: item.id }, 'ItemOperations: item cannot be converted');
    return statusOnly('Fetch', ItemOperationsStatus.ConversionFailed, ...idElements);
  }
  if (parts.multipart) props = props.map((p) => (p.ns === ASB && p.name === 'Body' ? bodyToPart(p, parts) : p));
  return el(NS, 'Fetch', el(NS, 'Status', ItemOperationsStatus.Success), ...idElements, el(AS, 'Class', item.class), el(NS, 'Properties', props));
}

/** In the multipart form, a Body's Data goes into a part and the Body names it (MS-ASAIRS 2.2.2.9). */
function bodyToPart(body: WbxmlElement, parts: Parts): WbxmlElement {
  const data = child(body, 'Data', ASB);
  if (!data) return body;
  // Opaque Data (raw MIME bytes) is taken as is; text as UTF-8.
  const bytes = Buffer.concat(data.children.map((c) => (c instanceof Uint8Array ? Buffer.from(c) : Buffer.from(typeof c === 'string' ? c : '', 'utf8'))));
  const kids = body.children.filter((c) => !(isElement(c) && c.ns === ASB && c.name === 'Data'));
  return { ...body, children: [...kids, parts.data(bytes, '')] };
}

async function fetchAttachment(ctx: CommandContext, ref: string, rangeText: string | undefined, parts: Parts): Promise<WbxmlElement> {
  const ids = [el(ASB, 'FileReference', ref)];
  const att = await resolveFileReference(ctx.mailbox, ref);
  if (!att) return statusOnly('Fetch', ItemOperationsStatus.InvalidAttachment, ...ids);
  const total = att.data.length;
  let bytes = att.data;
  const props: WbxmlElement[] = [el(ASB, 'ContentType', att.contentType)];
  if (rangeText !== undefined) {
    const r = parseRange(rangeText);
    if (!r || (r[0] >= total && total > 0)) return statusOnly('Fetch', ItemOperationsStatus.InvalidRange, ...ids);
    const end = Math.min(r[1], total - 1);
    bytes = att.data.subarray(r[0], end + 1);
    props.push(el(NS, 'Range', `${r[0]}-${Math.max(r[0], end)}`), el(NS, 'Total', total));
  }
  props.push(parts.data(bytes, bytes.toString('base64')));
  return el(NS, 'Fetch', el(NS, 'Status', ItemOperationsStatus.Success), ...ids, el(NS, 'Properties', props));
}

/** The folder's live items, read whole before any is changed (the changes add to the folder's feed). */
async function liveItems(mailbox: Mailbox, folderId: string): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of mailbox.scan(folderId)) out.push(item);
  return out;
}

async function emptyFolderOp(ctx: CommandContext, op: WbxmlElement): Promise<WbxmlElement> {
  const collectionId = childText(op, 'CollectionId', AS);
  if (collectionId === undefined) return statusOnly('EmptyFolderContents', ItemOperationsStatus.ProtocolError);
  const ids = [el(AS, 'CollectionId', collectionId)];
  const folder = await ctx.mailbox.getFolderByServerId(collectionId);
  if (!folder) return statusOnly('EmptyFolderContents', ItemOperationsStatus.NotFound, ...ids);
  const options = child(op, 'Options', NS);
  const deleteSubFolders = options ? child(options, 'DeleteSubFolders', NS) !== undefined : false;
  for (const item of await liveItems(ctx.mailbox, folder.id)) await ctx.mailbox.deleteItem(item.id);
  if (deleteSubFolders) {
    const folders = await ctx.mailbox.listFolders();
    for (const sub of folders.filter((f: Folder) => f.parentId === folder.id)) await ctx.mailbox.deleteFolder(sub.id);
  }
  ctx.log.info({ folder: collectionId, deleteSubFolders }, 'ItemOperations: folder emptied');
  return statusOnly('EmptyFolderContents', ItemOperationsStatus.Success, ...ids);
}

async function moveOp(ctx: CommandContext, op: WbxmlElement): Promise<WbxmlElement> {
  const convElement = child(op, 'ConversationId', NS);
  const dst = childText(op, 'DstFldId', NS);
  if (!convElement || dst === undefined) return statusOnly('Move', ItemOperationsStatus.ProtocolError);
  const raw = convElement.children.find((c) => c instanceof Uint8Array) as Uint8Array | undefined;
  const convHex = raw ? Buffer.from(raw).toString('hex') : Buffer.from(text(convElement) ?? '', 'latin1').toString('hex');
  const echo = el(NS, 'ConversationId', raw ?? text(convElement) ?? '');
  const target = await ctx.mailbox.getFolderByServerId(dst);
  if (!target || target.type === 1 || ![2, 3, 4, 5, 6, 12].includes(target.type)) return statusOnly('Move', ItemOperationsStatus.NotFound, echo);
  let moved = 0;
  for (const folder of await ctx.mailbox.listFolders()) {
    if (folder.id === target.id || ![2, 3, 4, 5, 6, 12].includes(folder.type)) continue;
    for (const item of await liveItems(ctx.mailbox, folder.id)) {
      if (item.class === 'Email' && item.data['conversationId'] === convHex) {
        await ctx.mailbox.moveItem(item.id, target.id);
        moved++;
      }
    }
  }
  ctx.log.info({ moved, to: dst }, 'ItemOperations: conversation moved');
  return statusOnly('Move', ItemOperationsStatus.Success, echo);
}

export type { CommandResult };
