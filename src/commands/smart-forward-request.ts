/**
 * Reading a SmartForward request (MS-ASCMD 2.2.1.19, 2.2.3.169) beyond what SendMail and
 * SmartReply share (src/mail/send.ts): the 16.0 Forwardees (2.2.3.79; Forwardee 2.2.3.78 with
 * Email 2.2.3.53 and Name 2.2.3.120.3) and airsyncbase:Body, and the Source's InstanceId.
 *
 * - With Forwardees or Body present, Mime, SaveInSentItems, ReplaceMime and rm:TemplateID MUST
 *   NOT be (2.2.3.169): Status 178 InvalidSmartForward (2.2.2).
 * - A Forwardee without Email, or whose Email is not an address, a Forwardees with no Forwardee,
 *   or a Body without Data or of a type other than text (1) or HTML (2): Status 179 (2.2.2: the
 *   Forwardees or Body element could not be parsed).
 * - InstanceId that is not a date-time: Status 104 InvalidDateTime (2.2.1.19; the Exchange
 *   conformance suite, OfficeDev/Interop-TestSuites MS-ASCMD S17_SmartForward TC04, expects 104).
 */
import { parseEasDate } from '../classes/fields.ts';
import type { Forwardee } from '../meetings/meeting-forward.ts';
import { child, childText, children, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext } from './types.ts';

const NS = 'ComposeMail';
const ASB = 'AirSyncBase';

export const ForwardStatus = {
  InvalidXml: 103,
  InvalidDateTime: 104,
  InvalidMime: 107,
  ServerError: 110,
  ServerErrorRetryLater: 111,
  RecipientUnresolved: 116,
  PreviouslySent: 118,
  NoRecipient: 119,
  SubmissionFailed: 120,
  /** 2.2.2 AttachmentIsTooLarge: larger than the SMTP relay takes. */
  TooLarge: 122,
  /** 2.2.2: forwarding an occurrence of a meeting that has no recurrence. */
  NoRecurrence: 146,
  ItemNotFound: 150,
  InvalidSmartForward: 178,
  InvalidRecipients: 179,
} as const;

export class ForwardFailure extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export interface ForwardRequest {
  clientId?: string;
  source: { itemId?: string; folderId?: string; longId?: string };
  /** The InstanceId as a date (ISO), when given. */
  instance?: string;
  /** The 16.x meeting form: recipients and note without MIME. */
  forwardees?: Forwardee[];
  body?: { type: 1 | 2; data: string };
  /** The MIME form (14.x WBXML, or the 12.x body). */
  mime?: Buffer;
  saveInSent: boolean;
  replaceMime: boolean;
}

const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$|^[^\s@<>(),;:"[\]\\]+@localhost$/i;

function bytesOf(e: WbxmlElement | undefined): Buffer | undefined {
  if (!e) return undefined;
  return Buffer.concat(e.children.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c instanceof Uint8Array ? Buffer.from(c) : Buffer.alloc(0))));
}

function readForwardees(list: WbxmlElement): Forwardee[] {
  const out: Forwardee[] = [];
  const items = children(list, 'Forwardee', NS);
  if (items.length === 0) throw new ForwardFailure(ForwardStatus.InvalidRecipients, 'Forwardees without a Forwardee');
  for (const f of items) {
    const email = childText(f, 'Email', NS)?.trim() ?? '';
    if (!ADDRESS.test(email)) throw new ForwardFailure(ForwardStatus.InvalidRecipients, email ? 'a Forwardee Email is not an address' : 'a Forwardee has no Email');
    const name = childText(f, 'Name', NS)?.trim();
    const lower = email.toLowerCase();
    if (!out.some((o) => o.email === lower)) out.push({ email: lower, name: name || null });
  }
  return out;
}

function readBody(b: WbxmlElement): { type: 1 | 2; data: string } {
  const type = childText(b, 'Type', ASB);
  const data = childText(b, 'Data', ASB);
  if ((type !== '1' && type !== '2') || data === undefined) throw new ForwardFailure(ForwardStatus.InvalidRecipients, 'the Body is not text or HTML with Data');
  return { type: type === '1' ? 1 : 2, data };
}

/** The request, or a ForwardFailure with its status. A request that is not SmartForward is InvalidXml. */
export function readForwardRequest(ctx: Pick<CommandContext, 'request' | 'rawBody' | 'params'>): ForwardRequest {
  const req = ctx.request;
  if (!req) {
    // 12.x: the body is the message; ItemId, CollectionId, LongId and Occurrence in the query.
    const p = ctx.params;
    const instance = p.occurrence !== undefined ? parseEasDate(p.occurrence)?.toISOString() : undefined;
    if (p.occurrence !== undefined && !instance) throw new ForwardFailure(ForwardStatus.InvalidDateTime, 'Occurrence is not a date-time');
    return { source: { itemId: p.itemId, folderId: p.collectionId, longId: p.longId }, ...(instance ? { instance } : {}), mime: ctx.rawBody, saveInSent: p.saveInSent, replaceMime: false };
  }
  if (req.ns !== NS || req.name !== 'SmartForward') throw new ForwardFailure(ForwardStatus.InvalidXml, 'no SmartForward in the request');
  const src = child(req, 'Source', NS);
  const source = { itemId: src && childText(src, 'ItemId', NS), folderId: src && childText(src, 'FolderId', NS), longId: src && childText(src, 'LongId', NS) };
  const instanceText = src ? childText(src, 'InstanceId', NS) : undefined;
  const instance = instanceText !== undefined ? parseEasDate(instanceText)?.toISOString() : undefined;
  const clientId = childText(req, 'ClientId', NS);
  const forwardeesEl = child(req, 'Forwardees', NS);
  const bodyEl = child(req, 'Body', ASB);
  const mime = bytesOf(child(req, 'Mime', NS));
  const saveInSent = child(req, 'SaveInSentItems', NS) !== undefined;
  const replaceMime = child(req, 'ReplaceMime', NS) !== undefined;
  if (forwardeesEl || bodyEl) {
    if (mime !== undefined || saveInSent || replaceMime || child(req, 'TemplateID', 'RightsManagement')) {
      throw new ForwardFailure(ForwardStatus.InvalidSmartForward, 'Mime, SaveInSentItems, ReplaceMime or TemplateID with Forwardees or Body');
    }
  } else if (!mime || mime.length === 0) throw new ForwardFailure(ForwardStatus.InvalidXml, 'Mime is missing');
  if (clientId === undefined || clientId === '' || clientId.length > 128) throw new ForwardFailure(ForwardStatus.InvalidXml, 'ClientId is missing or too long');
  if (source.itemId === undefined && source.longId === undefined) throw new ForwardFailure(ForwardStatus.InvalidXml, 'Source with ItemId or LongId is required');
  if (instanceText !== undefined && !instance) throw new ForwardFailure(ForwardStatus.InvalidDateTime, 'InstanceId is not a date-time');
  const forwardees = forwardeesEl ? readForwardees(forwardeesEl) : undefined;
  const body = bodyEl ? readBody(bodyEl) : undefined;
  return {
    clientId,
    source,
    ...(instance ? { instance } : {}),
    ...(forwardees ? { forwardees } : {}),
    ...(body ? { body } : {}),
    ...(mime ? { mime } : {}),
    saveInSent,
    replaceMime,
  };
}
