/**
 * A raw RFC 5322 message -> the data easd keeps for an Email item (MS-ASEMAIL), with the parts
 * (the raw message itself and each attachment's bytes) that the store keeps once by content.
 *
 * `parseMessage` never throws for bad MIME: mailparser is lenient, and whatever it cannot make
 * sense of (a header it cannot decode, an unknown charset, a broken part) is shown as well as it
 * can be: the raw message is always kept, so the device can still fetch it as MIME. If the parser
 * itself fails, the item gets the raw header values it can read and the raw text as the body.
 *
 * Field derivations (MS-ASEMAIL 2.2.2):
 * - To, Cc, From, Sender, ReplyTo: address lists as displayed, `"Name" <addr>` joined by ", "
 *   (MS-ASEMAIL 2.2.2.79 To: "a comma-delimited list"); DisplayTo: display names of To.
 * - DateReceived: the delivery time (the `received` argument), not the Date header, as Exchange
 *   does (2.2.2.24 "the date and time the message was received by the current recipient").
 * - ThreadTopic: the Thread-Topic header, else the subject without its Re:/Fwd: prefixes.
 * - Importance (2.2.2.42): Importance header (low/normal/high), else X-Priority (1-2 high,
 *   3 normal, 4-5 low), else X-MSMail-Priority; 0 low, 1 normal, 2 high.
 * - MessageClass (2.2.2.49): IPM.Note; IPM.Note.SMIME for application/pkcs7-mime,
 *   IPM.Note.SMIME.MultipartSigned for multipart/signed; IPM.Schedule.Meeting.Request /
 *   .Canceled / .Resp.Pos|Neg|Tent for a text/calendar part with METHOD REQUEST / CANCEL /
 *   REPLY; REPORT.IPM.Note.NDR for a delivery status report.
 * - InternetCPID (2.2.2.43): the Windows code page of the body's charset (65001 UTF-8 when
 *   unknown).
 * - ContentClass (2.2.2.17): urn:content-classes:message, or urn:content-classes:calendarmessage
 *   for meeting messages.
 * - ConversationId / ConversationIndex (MS-ASEMAIL 2.2.2.20, 2.2.2.21; the layout is Outlook's
 *   PidTagConversationIndex, MS-OXOMSG 2.2.1.3): from the Thread-Index header when present (its
 *   bytes 6-21 are the conversation GUID); otherwise the id is derived from the thread's root
 *   Message-ID (first of References, else In-Reply-To, else the message's own id), so every
 *   message of a thread gets the same id, and the index is a 22-byte header plus one 5-byte
 *   child block per reply level. Both stored as hex.
 */
import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type Attachment, type EmailAddress, type ParsedMail } from 'mailparser';
import type { BlobInput, BlobPart } from '../ports/mail.ts';
import type { JsonObject } from '../ports/types.ts';
import { bodyCharset, codePageOf } from './body-charset.ts';

/** A part the store keeps once by content (sha256): bytes, or a spooled file read as it is stored. */
export type MessagePart = BlobInput;

/** An attachment's bytes as the store gets them: its hash, size, and the part to store. */
export interface AttachmentBytes {
  sha256: string;
  size: number;
  part: MessagePart;
}

/** One attachment as the item keeps it (the bytes are in the blob store under `sha256`). */
export interface StoredAttachment {
  /** Index in the message's attachment list; with the item's mail id it forms the FileReference. */
  index: number;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Content-ID without angle brackets, for inline images referenced as cid: in HTML. */
  contentId?: string;
  /** MS-ASAIRS 2.2.2.24 IsInline: shown within the body rather than as an attachment. */
  isInline: boolean;
  /** MS-ASAIRS 2.2.2.31 Method: 1 normal attachment, 5 embedded message. */
  method: 1 | 5;
}

export interface ParsedMessage {
  /** The stored item data (JSON), see src/classes/email.ts for the keys. */
  data: JsonObject;
  /** The raw message and each attachment, to be stored by content. */
  parts: MessagePart[];
  /** sha256 of the raw message. */
  rawSha256: string;
  /** Message-ID without brackets, if any. */
  messageId?: string;
  /**
   * The raw message, for hooks that need more than the item data; absent for a message parsed
   * from a spool file (parse-stream.ts), which is never held whole.
   */
  raw?: Buffer;
  /**
   * mailparser's result, for hooks (undefined when the parser failed). For a spooled message,
   * an attachment over the in-memory limit has empty `content` (its bytes are in `parts`).
   */
  mail?: ParsedMail;
  /** Calendar parts (text/calendar) as text, for meeting processing. */
  calendarParts: string[];
}

/** A message parsed from memory: the raw bytes and every part are in memory. */
export type BufferedParse = Omit<ParsedMessage, 'parts' | 'raw'> & { raw: Buffer; parts: BlobPart[] };

export interface ParseOptions {
  /** Delivery time, for DateReceived. Default now. */
  received?: Date;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Largest HTML-only body mailparser turns into text at delivery. Its html-to-text holds the event
 * loop about 2.5 ms per KB of tag-dense HTML (24 s at the former 10 MB bound); a longer one is
 * stored as HTML alone and its text made on demand by htmlToText (src/classes/body.ts), linear.
 */
export const MAX_HTML_TO_TEXT = 256 * 1024;

/** Parses a raw message. Never throws for bad input. */
export async function parseMessage(raw: Buffer | string, opts: ParseOptions = {}): Promise<BufferedParse> {
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const received = opts.received ?? new Date();
  const rawSha256 = sha256(buf);
  let mail: ParsedMail | undefined;
  try {
    mail = await simpleParser(buf, { skipImageLinks: true, keepCidLinks: true, maxHtmlLengthToParse: MAX_HTML_TO_TEXT });
  } catch {
    mail = undefined;
  }
  const parts: BlobPart[] = [{ sha256: rawSha256, data: buf }];
  const data = mail ? fromParsed(mail, buf, received, parts, bufferedAttachment) : fallback(buf, received);
  return { ...assemble(mail, data, parts, rawSha256, buf.length), parts, raw: buf };
}

/** The ParsedMessage of a parse: the item's MIME reference, Message-ID and calendar parts. */
export function assemble(mail: ParsedMail | undefined, data: JsonObject, parts: MessagePart[], rawSha256: string, size: number): ParsedMessage {
  data['mime'] = { sha256: rawSha256, size };
  const messageId = mail?.messageId ? stripBrackets(mail.messageId) : undefined;
  const calendarParts = mail ? calendarTexts(mail) : [];
  return { data, parts, rawSha256, calendarParts, ...(mail ? { mail } : {}), ...(messageId ? { messageId } : {}) };
}

function bufferedAttachment(a: Attachment): AttachmentBytes & { part: BlobPart } {
  const sha = sha256(a.content);
  return { sha256: sha, size: a.content.length, part: { sha256: sha, data: a.content } };
}

/**
 * The item data of a parsed message. `head` is the start of the raw message (a charset scan
 * looks at its first 64 KB); `bytesOf` gives each attachment's hash and part to store.
 */
export function fromParsed<P extends MessagePart>(mail: ParsedMail, head: Buffer, received: Date, parts: P[], bytesOf: (a: Attachment, index: number) => AttachmentBytes & { part: P }): JsonObject {
  const d: JsonObject = {};
  const to = addressList(mail.to);
  const cc = addressList(mail.cc);
  const from = addressList(mail.from);
  const sender = addressList(headerAddress(mail, 'sender'));
  const replyTo = addressList(mail.replyTo);
  if (to) d['to'] = to;
  if (cc) d['cc'] = cc;
  if (from) d['from'] = from;
  if (sender && sender !== from) d['sender'] = sender;
  if (replyTo) d['replyTo'] = replyTo;
  const subject = safeString(mail.subject);
  if (subject !== undefined) d['subject'] = subject;
  d['dateReceived'] = received.toISOString();
  // mailparser fills in the current time for a missing or unreadable Date; only a real one is kept.
  const dateLine = mail.headerLines.find((h) => h.key === 'date')?.line.replace(/^date:\s*/i, '');
  if (dateLine && !Number.isNaN(Date.parse(dateLine)) && mail.date instanceof Date && !Number.isNaN(mail.date.getTime())) d['dateSent'] = mail.date.toISOString();
  const displayTo = displayNames(mail.to);
  if (displayTo) d['displayTo'] = displayTo;
  d['threadTopic'] = headerString(mail, 'thread-topic') ?? threadTopicOf(subject ?? '');
  d['importance'] = importanceOf(mail);
  d['read'] = false;

  const contentType = topContentType(mail);
  const calendarMethod = calendarMethodOf(mail);
  d['messageClass'] = messageClassOf(contentType, calendarMethod);
  d['contentClass'] = calendarMethod ? 'urn:content-classes:calendarmessage' : 'urn:content-classes:message';
  d['internetCPID'] = codePageOf(bodyCharset(head));

  const messageId = mail.messageId ? stripBrackets(mail.messageId) : undefined;
  if (messageId) d['messageId'] = messageId;
  const refs = referencesOf(mail);
  if (mail.inReplyTo) d['inReplyTo'] = stripBrackets(firstId(mail.inReplyTo));
  if (refs.length) d['references'] = refs;
  const conv = conversationOf(headerString(mail, 'thread-index'), refs, d['inReplyTo'] as string | undefined, messageId, subject, received);
  d['conversationId'] = conv.id;
  d['conversationIndex'] = conv.index;

  const body: JsonObject = {};
  const html = typeof mail.html === 'string' ? mail.html : undefined;
  if (typeof mail.text === 'string' && (mail.text !== '' || html === undefined)) body['text'] = mail.text;
  if (html !== undefined) body['html'] = html;
  d['body'] = body;

  const atts: JsonObject[] = [];
  mail.attachments.forEach((a, index) => {
    const bytes = bytesOf(a, index);
    const stored = attachmentOf(a, index, bytes);
    if (!parts.some((p) => p.sha256 === stored.sha256)) parts.push(bytes.part);
    atts.push(stored as unknown as JsonObject);
  });
  if (atts.length) d['attachments'] = atts;
  return d;
}

/** When mailparser gives up: the raw header values and the raw text, so nothing is lost. */
export function fallback(raw: Buffer, received: Date): JsonObject {
  const s = raw.toString('latin1');
  const end = s.search(/\r?\n\r?\n/);
  const head = (end < 0 ? s : s.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const h = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim();
  const d: JsonObject = { dateReceived: received.toISOString(), read: false, importance: 1, messageClass: 'IPM.Note', contentClass: 'urn:content-classes:message', internetCPID: 65001 };
  for (const [key, name] of [['to', 'To'], ['cc', 'Cc'], ['from', 'From'], ['subject', 'Subject']] as const) {
    const v = h(name);
    if (v) d[key] = v;
  }
  const conv = conversationOf(undefined, [], undefined, undefined, (d['subject'] as string | undefined) ?? '', received);
  d['conversationId'] = conv.id;
  d['conversationIndex'] = conv.index;
  d['body'] = { text: end < 0 ? '' : raw.subarray(Buffer.byteLength(s.slice(0, end), 'latin1')).toString('utf8').replace(/^\r?\n\r?\n/, '') };
  return d;
}

/**
 * A part's media type, lowercased. mailparser gives `false`, not a string, for a Content-Type
 * header without a usable value (a lone backslash, say); such a part is opaque bytes.
 */
function partType(a: Attachment): string {
  return typeof a.contentType === 'string' && a.contentType !== '' ? a.contentType.toLowerCase() : 'application/octet-stream';
}

function attachmentOf(a: Attachment, index: number, bytes: AttachmentBytes): StoredAttachment {
  const isMessage = partType(a) === 'message/rfc822';
  const contentId = a.contentId ? stripBrackets(a.contentId) : undefined;
  const inline = a.contentDisposition === 'inline' ? Boolean(contentId) || a.related === true : a.related === true;
  const ext = isMessage ? '.eml' : '';
  return {
    index,
    name: safeString(a.filename) || `attachment${index + 1}${ext}`,
    contentType: typeof a.contentType === 'string' && a.contentType !== '' ? a.contentType : 'application/octet-stream',
    size: bytes.size,
    sha256: bytes.sha256,
    ...(contentId ? { contentId } : {}),
    isInline: inline,
    method: isMessage ? 5 : 1,
  };
}

// ---------------------------------------------------------------------------------------------
// Addresses

function addressObjects(v: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  const out: EmailAddress[] = [];
  for (const o of list) {
    for (const a of o.value ?? []) {
      if (a.group) out.push(...a.group);
      else out.push(a);
    }
  }
  return out;
}

/** `"Name" <addr>` form, joined by ", "; undefined when empty. */
export function addressList(v: AddressObject | AddressObject[] | undefined): string | undefined {
  const parts = addressObjects(v)
    .map((a) => formatAddress(a.name, a.address))
    .filter((s) => s !== '');
  return parts.length ? parts.join(', ') : undefined;
}

export function formatAddress(name: string | undefined, address: string | undefined): string {
  const n = (name ?? '').replace(/[\r\n]+/g, ' ').trim();
  const a = (address ?? '').trim();
  if (!a) return n;
  if (!n || n === a) return a;
  return `"${n.replace(/(["\\])/g, '\\$1')}" <${a}>`;
}

/** The bare addresses of an address header, lowercased. */
export function addressesOf(v: AddressObject | AddressObject[] | undefined): string[] {
  return addressObjects(v)
    .map((a) => (a.address ?? '').trim().toLowerCase())
    .filter((a) => a !== '');
}

function displayNames(v: AddressObject | AddressObject[] | undefined): string | undefined {
  // MS-ASEMAIL 2.2.2.28 DisplayTo: display names separated by semicolons.
  const names = addressObjects(v)
    .map((a) => (a.name || a.address || '').trim())
    .filter((s) => s !== '');
  return names.length ? names.join('; ') : undefined;
}

function headerAddress(mail: ParsedMail, name: string): AddressObject | undefined {
  const v = mail.headers.get(name);
  if (v && typeof v === 'object' && 'value' in v && Array.isArray((v as AddressObject).value)) return v as AddressObject;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Headers

function headerString(mail: ParsedMail, name: string): string | undefined {
  const v = mail.headers.get(name);
  if (typeof v === 'string') return v.trim() || undefined;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0].trim() || undefined;
  if (v && typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'string') return (v as { value: string }).value;
  return undefined;
}

function safeString(s: string | undefined): string | undefined {
  if (typeof s !== 'string') return undefined;
  // Lone surrogates and NULs cannot travel in WBXML text; replace them.
  return s.replace(/\0/g, '').replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

const REPLY_PREFIX = /^\s*((re|fw|fwd|aw|wg|sv|vs|antw|tr|rif|r)(\[\d+\])?\s*:\s*)+/i;

export function threadTopicOf(subject: string): string {
  return subject.replace(REPLY_PREFIX, '').trim();
}

/** 0 low, 1 normal, 2 high (MS-ASEMAIL 2.2.2.42). */
function importanceOf(mail: ParsedMail): 0 | 1 | 2 {
  // mailparser folds Importance, X-Priority and X-MSMail-Priority into one "priority" header.
  const pr = headerString(mail, 'priority')?.toLowerCase();
  if (pr === 'high') return 2;
  if (pr === 'low') return 0;
  if (pr === 'normal') return 1;
  const imp = headerString(mail, 'importance')?.toLowerCase();
  if (imp === 'high') return 2;
  if (imp === 'low') return 0;
  if (imp === 'normal') return 1;
  const xp = /^\s*(\d)/.exec(headerString(mail, 'x-priority') ?? '');
  if (xp) {
    const n = Number(xp[1]);
    if (n === 1 || n === 2) return 2;
    if (n === 4 || n === 5) return 0;
    return 1;
  }
  const ms = headerString(mail, 'x-msmail-priority')?.toLowerCase();
  if (ms === 'high') return 2;
  if (ms === 'low') return 0;
  return 1;
}

function topContentType(mail: ParsedMail): string {
  const v = mail.headers.get('content-type');
  if (v && typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'string') return (v as { value: string }).value.toLowerCase();
  return 'text/plain';
}

function calendarTexts(mail: ParsedMail): string[] {
  const out: string[] = [];
  for (const a of mail.attachments) if (partType(a) === 'text/calendar') out.push(a.content.toString('utf8'));
  return out;
}

function calendarMethodOf(mail: ParsedMail): string | undefined {
  for (const a of mail.attachments) {
    if (partType(a) !== 'text/calendar') continue;
    const fromParam = a.headers.get('content-type');
    const param =
      fromParam && typeof fromParam === 'object' && 'params' in fromParam ? (fromParam as { params: Record<string, string> }).params['method'] : undefined;
    const m = param ?? /^METHOD:(\S+)/m.exec(a.content.toString('utf8'))?.[1];
    if (m) return m.trim().toUpperCase();
  }
  return undefined;
}

function messageClassOf(contentType: string, calendarMethod: string | undefined): string {
  if (contentType === 'application/pkcs7-mime' || contentType === 'application/x-pkcs7-mime') return 'IPM.Note.SMIME';
  if (contentType === 'multipart/signed') return 'IPM.Note.SMIME.MultipartSigned';
  if (contentType === 'multipart/report') return 'REPORT.IPM.Note.NDR';
  switch (calendarMethod) {
    case 'REQUEST':
      return 'IPM.Schedule.Meeting.Request';
    case 'CANCEL':
      return 'IPM.Schedule.Meeting.Canceled';
    case 'REPLY':
      return 'IPM.Schedule.Meeting.Resp.Pos';
    default:
      return 'IPM.Note';
  }
}

// ---------------------------------------------------------------------------------------------
// Threads

function stripBrackets(id: string): string {
  return id.trim().replace(/^<+|>+$/g, '');
}

function firstId(v: string): string {
  return /<[^<>]+>/.exec(v)?.[0] ?? v.trim().split(/\s+/)[0] ?? v;
}

function referencesOf(mail: ParsedMail): string[] {
  const r = mail.references;
  const list = Array.isArray(r) ? r : typeof r === 'string' ? r.split(/\s+/) : [];
  return list.map(stripBrackets).filter((s) => s !== '');
}

/** 100-ns intervals since 1601-01-01 (a Windows FILETIME) as a bigint. */
function fileTime(d: Date): bigint {
  return (BigInt(d.getTime()) + 11644473600000n) * 10000n;
}

export function conversationOf(
  threadIndex: string | undefined,
  references: string[],
  inReplyTo: string | undefined,
  messageId: string | undefined,
  subject: string | undefined,
  received: Date,
): { id: string; index: string } {
  if (threadIndex) {
    const bytes = Buffer.from(threadIndex.replace(/\s+/g, ''), 'base64');
    if (bytes.length >= 22 && (bytes.length - 22) % 5 === 0) {
      return { id: bytes.subarray(6, 22).toString('hex'), index: bytes.toString('hex') };
    }
  }
  const root = references[0] ?? inReplyTo ?? messageId ?? `subject:${threadTopicOf(subject ?? '').toLowerCase()}`;
  const guid = createHash('md5').update(root.toLowerCase()).digest();
  // Header: reserved byte 1, the 5 high bytes of a FILETIME, the 16-byte GUID (MS-OXOMSG 2.2.1.3).
  const ft = fileTime(received);
  const header = Buffer.alloc(22);
  header[0] = 1;
  for (let i = 0; i < 5; i++) header[1 + i] = Number((ft >> BigInt(56 - 8 * i)) & 0xffn);
  guid.copy(header, 6);
  const depth = references.length > 0 ? references.length : inReplyTo ? 1 : 0;
  const index = Buffer.concat([header, Buffer.alloc(5 * Math.min(depth, 50))]);
  return { id: guid.toString('hex'), index: index.toString('hex') };
}
