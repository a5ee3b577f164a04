/**
 * Attachments of an item (MS-ASAIRS 2.2.2.8 Attachments), for mail and, from 16.0, calendar items.
 *
 * Stored shape, under the key `attachments` of the item's data:
 *
 *   [{ index, name, contentType, size, sha256, contentId?, contentLocation?, isInline, method, clientId? }]
 *
 * The bytes are a blob of the mailbox (Mailbox.putBlobs/getBlob, by sha256), so the blob
 * collector (MailStore.deleteUnreferencedBlobs: any `sha256` key of a live item) keeps them.
 * `index` is the attachment's number within its item and never changes once given: a device
 * holds FileReferences built from it, so deleting one attachment must not renumber the others.
 * `clientId` is the device's ClientId of an attachment it added (MS-ASAIRS 2.2.2.14), kept so
 * that the same Add sent again (a retried Sync whose answer was lost) adds nothing twice.
 *
 * FileReference (MS-ASAIRS 2.2.2.24.1; opaque to the device), resolved only within the
 * requesting user's mailbox (attachments-fetch.ts):
 * - mail: `<mailId>:<index>`, mailId being the id kept in the item's uid (delivered mail, and
 *   drafts once they have an attachment), so it survives moves;
 * - calendar: `c<base64url of the UID>:<index>`: calendar items are found by their UID.
 *
 * From a device (16.0+, MS-ASAIRS 2.2.2.2 Add, 2.2.2.21 Delete; MS-ASEMAIL drafts, MS-ASCAL
 * 2.2.2.x Attachments): `Attachments` in a Sync Add or Change holds Add (ClientId, Content,
 * Method, DisplayName, ContentType, ContentId, ContentLocation, IsInline) and Delete
 * (FileReference) children. An Attachments element that is absent leaves the stored list as it
 * was (the device did not touch it). New content goes to `ConvertContext.newBlobs`, which the
 * sync engine stores before it writes the item.
 *
 * Bad input is Sync Status 6 (ConversionError, MS-ASCMD 2.2.3.177.17) and changes nothing: an
 * Add without ClientId or Content, Content over the size limit, a Delete without FileReference
 * or with one that names another item. A Delete of an attachment this item no longer has is
 * done already (the same Change sent again) and is not an error.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobPart } from '../ports/mail.ts';
import type { JsonObject, JsonValue } from '../ports/types.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import { atLeast, bool, num, str } from './fields.ts';
import { ConversionError, type ConvertContext } from './types.ts';

const ASB = 'AirSyncBase';

/** Default largest attachment a device may add, in bytes (ConvertContext.maxAttachmentBytes). */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/** Whose attachments: the FileReference's owner part. */
export type AttachmentOwner = { kind: 'mail'; mailId: string } | { kind: 'event'; uid: string };
export type AttachmentRef = AttachmentOwner & { index: number };

/** The FileReference of attachment `index` of `owner` (MS-ASAIRS 2.2.2.24.1). */
export function fileReference(owner: AttachmentOwner, index: number): string {
  if (owner.kind === 'mail') return `${owner.mailId}:${index}`;
  return `c${Buffer.from(owner.uid, 'utf8').toString('base64url')}:${index}`;
}

export function parseFileReference(ref: string): AttachmentRef | undefined {
  const s = ref.trim();
  const m = /^(m[0-9a-f]{24}):(\d{1,4})$/.exec(s);
  if (m) return { kind: 'mail', mailId: m[1]!, index: Number(m[2]) };
  const c = /^c([A-Za-z0-9_-]{1,2000}):(\d{1,4})$/.exec(s);
  if (!c) return undefined;
  const uid = Buffer.from(c[1]!, 'base64url').toString('utf8');
  return uid ? { kind: 'event', uid, index: Number(c[2]) } : undefined;
}

/** The owner of an item's attachments: a mail item's mailId, a calendar item's UID. */
export function attachmentOwner(data: JsonObject, kind: AttachmentOwner['kind']): AttachmentOwner | undefined {
  if (kind === 'mail') {
    const mailId = str(data, 'mailId');
    return mailId ? { kind, mailId } : undefined;
  }
  const uid = str(data, 'uid');
  return uid ? { kind, uid } : undefined;
}

/** A fresh mail id (as src/mail/deliver.ts gives delivered mail): "m" and 24 hex digits. */
export function newMailId(): string {
  return `m${randomBytes(12).toString('hex')}`;
}

/** The stored attachments of an item (well-formed entries only). */
export function storedAttachments(data: JsonObject): JsonObject[] {
  const list = data['attachments'];
  if (!Array.isArray(list)) return [];
  return list.filter((a): a is JsonObject => a !== null && typeof a === 'object' && !Array.isArray(a) && typeof a['index'] === 'number');
}

/**
 * AirSyncBase:Attachments for a Sync Add/Change or Fetch (the 12.0+ form), each Attachment's
 * children in the order of MS-ASAIRS 2.2.2.7: DisplayName, FileReference, Method,
 * EstimatedDataSize, ContentId, ContentLocation, IsInline.
 */
export function attachmentsToEas(data: JsonObject, owner: AttachmentOwner | undefined): WbxmlElement | undefined {
  if (!owner) return undefined;
  const items: WbxmlElement[] = [];
  for (const a of storedAttachments(data)) {
    const index = num(a, 'index')!;
    const method = num(a, 'method');
    const kids: WbxmlElement[] = [
      el(ASB, 'DisplayName', str(a, 'name') || `attachment${index + 1}`),
      el(ASB, 'FileReference', fileReference(owner, index)),
      el(ASB, 'Method', method === 5 || method === 6 ? String(method) : '1'),
      el(ASB, 'EstimatedDataSize', String(num(a, 'size') ?? 0)),
    ];
    const cid = str(a, 'contentId');
    if (cid) kids.push(el(ASB, 'ContentId', cid));
    const location = str(a, 'contentLocation');
    if (location) kids.push(el(ASB, 'ContentLocation', location));
    if (bool(a, 'isInline')) kids.push(el(ASB, 'IsInline', '1'));
    items.push(el(ASB, 'Attachment', kids));
  }
  return items.length ? el(ASB, 'Attachments', items) : undefined;
}

function bytesOf(e: WbxmlElement): Buffer {
  const parts: Buffer[] = [];
  for (const c of e.children) {
    if (typeof c === 'string') parts.push(Buffer.from(c, 'utf8'));
    else if (c instanceof Uint8Array) parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  }
  return Buffer.concat(parts);
}

const trimmed = (e: WbxmlElement, name: string): string | undefined => {
  const v = text(child(e, name, ASB))?.trim();
  return v ? v : undefined;
};

/**
 * Applies a device's AirSyncBase:Attachments (16.0+ Add/Delete) to `out`, the item's data being
 * built. `kind` says how the item's FileReferences are made; a mail item without a mailId gets
 * one (also as its `uid`, so FileReferences find it). Throws ConversionError for bad input.
 */
export function applyAttachmentsFromEas(appData: WbxmlElement, out: JsonObject, ctx: ConvertContext, kind: AttachmentOwner['kind']): void {
  const e = child(appData, 'Attachments', ASB);
  if (!e || !atLeast(ctx, '16.0')) return;
  const adds = children(e, 'Add', ASB);
  const deletes = children(e, 'Delete', ASB);
  if (adds.length === 0 && deletes.length === 0) return;
  let list = storedAttachments(out);
  let owner = attachmentOwner(out, kind);

  for (const d of deletes) {
    const ref = trimmed(d, 'FileReference');
    if (!ref) throw new ConversionError('AirSyncBase:Delete without a FileReference');
    const parsed = parseFileReference(ref);
    const mine = parsed && owner && (parsed.kind === 'mail' ? owner.kind === 'mail' && parsed.mailId === owner.mailId : owner.kind === 'event' && parsed.uid === owner.uid);
    if (!parsed || !mine) throw new ConversionError('AirSyncBase:Delete names an attachment of another item');
    // Not there any more: deleted by this same Change sent before (a retry); done already.
    list = list.filter((a) => a['index'] !== parsed.index);
  }

  if (adds.length > 0) {
    const limit = ctx.maxAttachmentBytes ?? MAX_ATTACHMENT_BYTES;
    let next = list.reduce((m, a) => Math.max(m, (a['index'] as number) + 1), 0);
    const blobs: BlobPart[] = [];
    const added: JsonObject[] = [];
    for (const a of adds) {
      const clientId = trimmed(a, 'ClientId');
      if (!clientId) throw new ConversionError('AirSyncBase:Add without a ClientId');
      if (clientId.length > 200) throw new ConversionError('AirSyncBase:ClientId is too long');
      const content = child(a, 'Content', ASB);
      if (!content) throw new ConversionError('AirSyncBase:Add without Content');
      const bytes = bytesOf(content);
      if (bytes.length > limit) throw new ConversionError(`AirSyncBase:Content of ${bytes.length} bytes is over the limit of ${limit}`);
      // The same Add sent again (its answer was lost): the attachment is there already.
      if (list.some((x) => x['clientId'] === clientId) || added.some((x) => x['clientId'] === clientId)) continue;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      blobs.push({ sha256, data: bytes });
      const method = Number(trimmed(a, 'Method') ?? '1');
      const entry: JsonObject = {
        index: next++,
        name: (trimmed(a, 'DisplayName') ?? 'attachment').slice(0, 255),
        contentType: (trimmed(a, 'ContentType') ?? 'application/octet-stream').slice(0, 255),
        size: bytes.length,
        sha256,
        // MS-ASAIRS 2.2.2.31.1: 1 normal, 5 embedded message, 6 OLE; anything else is a file.
        method: method === 5 || method === 6 ? method : 1,
        isInline: trimmed(a, 'IsInline') === '1',
        clientId,
      };
      const cid = trimmed(a, 'ContentId');
      if (cid) entry['contentId'] = cid.slice(0, 255);
      const location = trimmed(a, 'ContentLocation');
      if (location) entry['contentLocation'] = location.slice(0, 1024);
      added.push(entry);
    }
    if (added.length > 0) {
      if (!ctx.newBlobs) throw new ConversionError('attachments cannot be added here');
      ctx.newBlobs.push(...blobs);
      list = [...list, ...added];
      if (!owner && kind === 'mail') {
        const mailId = newMailId();
        out['mailId'] = mailId;
        out['uid'] = mailId;
        owner = { kind, mailId };
      }
    }
  }
  if (list.length > 0) out['attachments'] = list as JsonValue[];
  else delete out['attachments'];
}

/**
 * What the answer to a device's Add or Change carries for the attachments it added (MS-ASAIRS
 * 2.2.2.7 in a Sync response with Responses, 2.2.2.14, 2.2.2.24.1): an Attachments element with
 * one Attachment (ClientId, FileReference) per ClientId of the request's Adds, or undefined.
 */
export function addedAttachmentsAnswer(appData: WbxmlElement, data: JsonObject, kind: AttachmentOwner['kind']): WbxmlElement | undefined {
  const e = child(appData, 'Attachments', ASB);
  const owner = attachmentOwner(data, kind);
  if (!e || !owner) return undefined;
  const stored = storedAttachments(data);
  const items: WbxmlElement[] = [];
  for (const a of children(e, 'Add', ASB)) {
    const clientId = trimmed(a, 'ClientId');
    const found = clientId ? stored.find((x) => x['clientId'] === clientId) : undefined;
    if (!found) continue;
    items.push(el(ASB, 'Attachment', el(ASB, 'ClientId', clientId!), el(ASB, 'FileReference', fileReference(owner, found['index'] as number))));
  }
  return items.length ? el(ASB, 'Attachments', items) : undefined;
}
