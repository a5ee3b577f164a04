/**
 * Email class (MS-ASEMAIL), basic fields.
 *
 * Stored data:
 *   {
 *     to?, cc?, from?, replyTo?: string      // RFC 5322 address lists, as displayed ("Name" <a@b>)
 *     subject?, displayTo?, threadTopic?: string
 *     dateReceived?: string                  // ISO 8601 UTC
 *     importance?: 0 | 1 | 2                 // low, normal, high (MS-ASEMAIL 2.2.2.42)
 *     read?: boolean
 *     messageClass?: string                  // "IPM.Note" when absent (MS-ASEMAIL 2.2.2.49)
 *     categories?: string[]                  // sent to 14.0+ clients only
 *     flag?: {                               // MS-ASEMAIL 2.2.2.34; absent = not flagged
 *       status: 1 | 2,                       // 1 complete, 2 active
 *       flagType?, subOrdinalDate?: string,
 *       dateCompleted?, completeTime?, startDate?, dueDate?, utcStartDate?, utcDueDate?,
 *       reminderTime?, ordinalDate?: string (ISO),
 *       reminderSet?: boolean
 *     }
 *     body?: { text?, html?, mime? }          // see body.ts
 *     sender?, bcc?: string                   // Email2 Sender (14.0+), Bcc (16.0+)
 *     contentClass?: string                   // MS-ASEMAIL 2.2.2.17; default urn:content-classes:message
 *     internetCPID?: number                   // code page of the original message; default 65001
 *     conversationId?, conversationIndex?: string   // hex of the binary values (Email2, 14.0+)
 *     lastVerbExecuted?: 0..3, lastVerbExecutionTime?: string (ISO)   // Email2, 14.0+
 *     receivedAsBcc?, isDraft?: boolean       // Email2 14.0+ / 16.0+
 *     mailId?: string                         // delivered mail: id of the item's attachments
 *     mime?: { sha256, size }                 // delivered mail: the raw message in store.mail
 *     attachments?: [{ index, name, contentType, size, sha256, contentId?, isInline, method, clientId? }]
 *                                             // attachments.ts; drafts get them from 16.0 devices
 *   }
 * (src/mail/parse.ts and deliver.ts fill these for delivered mail.)
 *
 * Element order follows the Email AllProps group of MS-ASEMAIL section 6 (Email.xsd), with the
 * AirSyncBase elements where Exchange's own responses put them (MS-ASEMAIL 4.1.3.1, 4.1.5.1):
 * To, Cc, From, Subject, ReplyTo, DateReceived, DisplayTo, ThreadTopic, Importance, Read,
 * airsyncbase:Attachments, airsyncbase:Body, MessageClass, InternetCPID, Flag, ContentClass,
 * airsyncbase:NativeBodyType, then Email2 ConversationId, ConversationIndex, LastVerbExecuted,
 * LastVerbExecutionTime, ReceivedAsBcc, Sender (14.0+), Categories (14.0+), Email2 Bcc and IsDraft
 * (16.0+). Importance (1), Read (0), MessageClass ("IPM.Note"), ContentClass and InternetCPID
 * (65001) are sent with their defaults when not stored (MS-ASEMAIL 2.2.2.43: the original
 * message's code page). MeetingRequest belongs to the calendar area.
 * Flag is always sent, empty when the message is not flagged, so that a cleared flag reaches the
 * device.
 */
import type { JsonObject } from '../ports/types.ts';
import { child, children, el, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, nativeBodyType, readBody, NS as ASB } from './body.ts';
import {
  atLeast,
  bool,
  num,
  BOOL,
  CATEGORIES,
  DATE_TIME_KIND,
  STRING,
  fieldApplies,
  fieldFromEas,
  fieldToEas,
  hashKey,
  normalizeText,
  obj,
  storedDate,
  str,
  uint,
  type FieldDef,
} from './fields.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';
import { meetingRequestToEas } from './meeting-request.ts';
import { addedAttachmentsAnswer, applyAttachmentsFromEas, attachmentOwner, attachmentsToEas } from './attachments.ts';

const E = 'Email';
const T = 'Tasks';

const f = (key: string, name: string, kind: FieldDef['kind'], extra: Partial<FieldDef> = {}): FieldDef => ({
  key,
  ns: E,
  name,
  kind,
  ...extra,
});

const TO = f('to', 'To', STRING);
const CC = f('cc', 'Cc', STRING);
const FROM = f('from', 'From', STRING);
const SUBJECT = f('subject', 'Subject', STRING);
const REPLY_TO = f('replyTo', 'ReplyTo', STRING);
const DATE_RECEIVED = f('dateReceived', 'DateReceived', DATE_TIME_KIND);
const DISPLAY_TO = f('displayTo', 'DisplayTo', STRING);
const THREAD_TOPIC = f('threadTopic', 'ThreadTopic', STRING);
const IMPORTANCE = f('importance', 'Importance', uint({ values: [0, 1, 2] }));
const READ = f('read', 'Read', BOOL);
const MESSAGE_CLASS = f('messageClass', 'MessageClass', STRING);
const EMAIL_CATEGORIES = f('categories', 'Categories', CATEGORIES, { since: '14.0' });
const CONTENT_CLASS = f('contentClass', 'ContentClass', STRING);
const INTERNET_CPID = f('internetCPID', 'InternetCPID', uint());
// Email2 (MS-ASEMAIL 2.2.2; code page 22): 14.0 and later, Bcc and IsDraft 16.0 and later.
const E2 = 'Email2';
const LAST_VERB = { key: 'lastVerbExecuted', ns: E2, name: 'LastVerbExecuted', kind: uint({ values: [0, 1, 2, 3] }), since: '14.0' } as const satisfies FieldDef;
const LAST_VERB_TIME = { key: 'lastVerbExecutionTime', ns: E2, name: 'LastVerbExecutionTime', kind: DATE_TIME_KIND, since: '14.0' } as const satisfies FieldDef;
const RECEIVED_AS_BCC = { key: 'receivedAsBcc', ns: E2, name: 'ReceivedAsBcc', kind: BOOL, since: '14.0' } as const satisfies FieldDef;
const SENDER = { key: 'sender', ns: E2, name: 'Sender', kind: STRING, since: '14.0' } as const satisfies FieldDef;
const BCC = { key: 'bcc', ns: E2, name: 'Bcc', kind: STRING, since: '16.0' } as const satisfies FieldDef;
const IS_DRAFT = { key: 'isDraft', ns: E2, name: 'IsDraft', kind: BOOL, since: '16.0' } as const satisfies FieldDef;

const SIMPLE_FIELDS: readonly FieldDef[] = [
  TO, CC, FROM, SUBJECT, REPLY_TO, DATE_RECEIVED, DISPLAY_TO, THREAD_TOPIC, IMPORTANCE, READ, MESSAGE_CLASS, EMAIL_CATEGORIES, BCC,
];

/** Flag children in the order Email.xsd lists them (MS-ASEMAIL section 6, element Flag). */
const FLAG_FIELDS: readonly FieldDef[] = [
  // Status says what the flag is (cleared, complete, active): a malformed one refuses the Change.
  { key: 'status', ns: E, name: 'Status', kind: uint({ values: [0, 1, 2] }), strict: true },
  { key: 'flagType', ns: E, name: 'FlagType', kind: STRING },
  { key: 'dateCompleted', ns: T, name: 'DateCompleted', kind: DATE_TIME_KIND },
  { key: 'completeTime', ns: E, name: 'CompleteTime', kind: DATE_TIME_KIND },
  { key: 'startDate', ns: T, name: 'StartDate', kind: DATE_TIME_KIND },
  { key: 'dueDate', ns: T, name: 'DueDate', kind: DATE_TIME_KIND },
  { key: 'utcStartDate', ns: T, name: 'UtcStartDate', kind: DATE_TIME_KIND },
  { key: 'utcDueDate', ns: T, name: 'UtcDueDate', kind: DATE_TIME_KIND },
  { key: 'reminderSet', ns: T, name: 'ReminderSet', kind: BOOL },
  { key: 'reminderTime', ns: T, name: 'ReminderTime', kind: DATE_TIME_KIND },
  { key: 'ordinalDate', ns: T, name: 'OrdinalDate', kind: DATE_TIME_KIND },
  { key: 'subOrdinalDate', ns: T, name: 'SubOrdinalDate', kind: STRING },
];

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  const push = (e: WbxmlElement | undefined) => {
    if (e) out.push(e);
  };
  for (const fd of [TO, CC, FROM, SUBJECT, REPLY_TO, DATE_RECEIVED, DISPLAY_TO, THREAD_TOPIC]) push(fieldToEas(fd, data));
  out.push(fieldToEas(IMPORTANCE, data) ?? el(E, 'Importance', '1'));
  out.push(fieldToEas(READ, data) ?? el(E, 'Read', '0'));
  push(attachmentsToEas(data, attachmentOwner(data, 'mail')));
  const body = readBody(data);
  out.push(bodyToEas(body, ctx));
  out.push(fieldToEas(MESSAGE_CLASS, data) ?? el(E, 'MessageClass', 'IPM.Note'));
  // Meeting invitations and cancellations (MS-ASEMAIL 2.2.2.48; src/classes/meeting-request.ts).
  push(meetingRequestToEas(obj(data, 'meetingRequest'), ctx));
  out.push(fieldToEas(INTERNET_CPID, data) ?? el(E, 'InternetCPID', '65001'));
  out.push(flagToEas(obj(data, 'flag')));
  out.push(fieldToEas(CONTENT_CLASS, data) ?? el(E, 'ContentClass', 'urn:content-classes:message'));
  out.push(el(ASB, 'NativeBodyType', nativeBodyType(body)));
  if (atLeast(ctx, '14.0')) {
    // Binary on the wire (MS-ASEMAIL 2.2.2.20, 2.2.2.21), stored as hex.
    const convId = hexBytes(str(data, 'conversationId'));
    if (convId) out.push(el(E2, 'ConversationId', convId));
    const convIndex = hexBytes(str(data, 'conversationIndex'));
    if (convIndex) out.push(el(E2, 'ConversationIndex', convIndex));
    push(fieldToEas(LAST_VERB, data));
    push(fieldToEas(LAST_VERB_TIME, data));
    push(fieldToEas(RECEIVED_AS_BCC, data));
    push(fieldToEas(SENDER, data));
  }
  if (fieldApplies(EMAIL_CATEGORIES, ctx)) push(fieldToEas(EMAIL_CATEGORIES, data));
  if (atLeast(ctx, '16.0')) {
    push(fieldToEas(BCC, data));
    out.push(fieldToEas(IS_DRAFT, data) ?? el(E2, 'IsDraft', '0'));
  }
  return out;
}

function hexBytes(hex: string | undefined): Uint8Array | undefined {
  if (!hex || !/^(?:[0-9a-f]{2})+$/i.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function flagToEas(flag: JsonObject | undefined): WbxmlElement {
  if (!flag) return el(E, 'Flag');
  const kids: WbxmlElement[] = [];
  for (const fd of FLAG_FIELDS) {
    const e = fieldToEas(fd, flag);
    if (e) kids.push(e);
  }
  return el(E, 'Flag', kids);
}

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  const out: JsonObject = { ...(existing ?? {}) };
  // A malformed optional value (Read, Importance, a date) is left out, the rest applied (fields.ts).
  for (const fd of SIMPLE_FIELDS) fieldFromEas(fd, appData, out, ctx);
  const flag = child(appData, 'Flag', E);
  if (flag) {
    const parsed = flagFromEas(flag, ctx);
    if (parsed) out['flag'] = parsed;
    else delete out['flag'];
  }
  applyBodyFromEas(appData, out);
  // A Change of a message the device did not write (MS-ASCMD 2.2.3.24): the user's own marks
  // are the device's to change; From, Subject, the body, attachments and the rest stay as
  // received (the device is then sent them back, src/sync/echoes.ts). A draft is the device's
  // to change whole.
  if (existing && !ctx.asSent && !ctx.draftsFolder) return keepReceivedFields(existing, out);
  // 16.0+: attachments a device adds to or removes from a draft (MS-ASAIRS 2.2.2.2, 2.2.2.21).
  applyAttachmentsFromEas(appData, out, ctx, 'mail');
  return out;
}

/** What a device may change on a received message: Read, Flag (MS-ASEMAIL 2.2.2.34) and Categories. */
const MESSAGE_MARKS = ['read', 'flag', 'categories'] as const;

function keepReceivedFields(existing: JsonObject, changed: JsonObject): JsonObject {
  const out: JsonObject = { ...existing };
  for (const key of MESSAGE_MARKS) {
    if (changed[key] === undefined) delete out[key];
    else out[key] = changed[key]!;
  }
  return out;
}

/** A client's Flag: the whole flag is replaced; an empty Flag or Status 0 clears it. */
function flagFromEas(flag: WbxmlElement, ctx: ConvertContext): JsonObject | undefined {
  if (children(flag).length === 0) return undefined;
  const out: JsonObject = {};
  const dropped: string[] = [];
  const flagCtx: ConvertContext = { ...ctx, dropped: (element, reason) => (dropped.push(element), ctx.dropped?.(element, reason)) };
  for (const fd of FLAG_FIELDS) fieldFromEas(fd, flag, out, flagCtx);
  const status = out['status'];
  if (status === undefined || status === 0) return undefined;
  // One of the four dates that go together malformed: the flag is kept without dates.
  const DATES = ['startDate', 'dueDate', 'utcStartDate', 'utcDueDate'];
  if (FLAG_FIELDS.some((fd) => DATES.includes(fd.key) && dropped.includes(`${fd.ns}:${fd.name}`))) for (const k of DATES) delete out[k];
  // MS-ASEMAIL 2.2.2.72, 2.2.2.31, 2.2.2.87, 2.2.2.86: the four dates all set or all absent,
  // the due date not before the start date; otherwise Status 6.
  const dates = ['startDate', 'dueDate', 'utcStartDate', 'utcDueDate'].filter((k) => out[k] !== undefined);
  if (dates.length !== 0 && dates.length !== 4) {
    throw new ConversionError('Email:Flag: StartDate, DueDate, UtcStartDate and UtcDueDate must be set together');
  }
  if (dates.length === 4) {
    if (storedDate(out, 'dueDate')! < storedDate(out, 'startDate')!) throw new ConversionError('Email:Flag: DueDate before StartDate');
    if (storedDate(out, 'utcDueDate')! < storedDate(out, 'utcStartDate')!) {
      throw new ConversionError('Email:Flag: UtcDueDate before UtcStartDate');
    }
  }
  // MS-ASEMAIL 2.2.2.23: DateCompleted is required to mark a flagged item complete, and with it
  // CompleteTime.
  if (status === 1 && out['dateCompleted'] === undefined) throw new ConversionError('Email:Flag: Status 1 without DateCompleted');
  if (out['dateCompleted'] !== undefined && out['completeTime'] === undefined) {
    throw new ConversionError('Email:Flag: DateCompleted without CompleteTime');
  }
  return out;
}

/** The address part of a From value ("Name" <a@b> -> a@b), lowercased. */
function fromAddress(from: string | undefined): string {
  if (!from) return '';
  const m = /<([^<>]*)>\s*$/.exec(from);
  return normalizeText(m ? m[1] : from);
}

function matchKey(data: JsonObject): string | undefined {
  const subject = normalizeText(str(data, 'subject'));
  const from = fromAddress(str(data, 'from'));
  const received = storedDate(data, 'dateReceived')?.toISOString() ?? '';
  if (!subject && !from && !received) return undefined;
  return hashKey('email', [subject, from, received]);
}

function filterTime(data: JsonObject): Date | undefined {
  return storedDate(data, 'dateReceived');
}

export const emailConverter: ItemConverter = {
  itemClass: 'Email',
  toEas,
  fromEas,
  matchKey,
  filterTime,
  clientWriteAnswer: (appData, data) => {
    const e = addedAttachmentsAnswer(appData, data, 'mail');
    return e ? [e] : undefined;
  },
};
