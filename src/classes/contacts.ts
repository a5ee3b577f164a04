/**
 * Contacts class (MS-ASCNTC): every element of the Contacts (code page 1) and Contacts2 (code
 * page 12) code pages for protocol 12.0-16.1, with the notes in airsyncbase:Body.
 *
 * Stored data (keys are the element names in camelCase; absent key = not set):
 *   {
 *     <string fields of CONTACT_FIELDS>: string      // names, company, phones, addresses, ...
 *     birthday?, anniversary?: string                // a calendar day, "YYYY-MM-DD" (see below)
 *     children?: string[]                            // Children/Child (MS-ASCNTC 2.2.2.16)
 *     categories?: string[]
 *     picture?: string                               // base64, at most ctx.pictureMaxBytes of image
 *     weightedRank?: number                          // 14.0+, server-set (recipient cache)
 *     body?: { text?, html? }                        // the contact's notes; see body.ts
 *   }
 *
 * Element order: the order of the element definitions of Contacts.xsd (MS-ASCNTC section 6.1,
 * which is the token order of MS-ASWBXML code page 1), with airsyncbase:Body where the 2.5
 * Contacts Body stood (after Birthday), then the Contacts2 elements in the order of
 * Contacts2.xsd (MS-ASCNTC section 6.2). ApplicationData allows them in any order; clients
 * that compare responses byte for byte see the same order every time.
 *
 * Birthday and Anniversary (MS-ASCNTC 2.2.2.3, 2.2.2.7) are dateTime values, but they mean a
 * day: a phone in UTC+10 storing "12 May" sends its local midnight, 1980-05-11T14:00:00.000Z;
 * a phone in UTC-8 sends 1980-05-12T08:00:00.000Z; Outlook-style clients send UTC midnight.
 * Reading the instant in UTC would move the first a day back. easd stores the day instead: the
 * UTC date of the instant rounded to the nearest UTC midnight (right for every offset from
 * UTC-11 to UTC+11, which covers nearly every inhabited zone; +12 and beyond round to the day
 * before). It answers the day at 00:00:00.000Z, as Exchange does for a mailbox whose time zone
 * is UTC (Exchange answers midnight of the mailbox's zone; easd has no mailbox zone). Clients
 * that read the UTC date of the value get the day back whatever their zone: EAS-4-TbSync does
 * exactly that (`toISOString().substr(0, 10)`, and it sends "YYYY-MM-DDT00:00:00.000Z"), and
 * clients that round to the nearest day as easd does read midnight as that day too. A device
 * therefore reads back the day another device stored, whatever the zones of the two.
 *
 * Picture (MS-ASCNTC 2.2.2.58): base64, which the spec limits to 48 KB of base64 text, with
 * Status 6 for a larger one. Phones do not keep to it (an iPhone photo is hundreds of KB), and
 * refusing the whole contact lost it on the server. easd does what Z-Push does (Z-Hub/Z-Push
 * src/config.php, SYNC_CONTACTS_MAXPICTURESIZE, whose default of 5 MB is there because clients
 * exceed the spec's limit): a picture up to `ctx.pictureMaxBytes` of image (default 5 MB,
 * `--max-contact-picture-size`) is kept; a larger one, or one that is not base64, is left out
 * (the contact is stored, the drop is logged). Towards devices the spec's limit holds: a Sync or
 * Fetch carries a Picture of at most 48 KB of base64; a larger stored one is not sent, and since
 * the device never had it, a Change that leaves Picture out keeps it (an empty Picture clears it).
 *
 * Birthday and Anniversary that are not dates are left out the same way (logged); the contact is
 * kept. Every other contact field is a plain string.
 *
 * Text that was not UTF-8 on the wire (the decoder's U+FFFD) is a ConversionError (Status 6)
 * rather than a contact stored with replacement characters.
 *
 * Ghosted properties (MS-ASCMD 2.2.3.179 Supported): every Contacts and Contacts2 element can
 * be ghosted. On a Change, an omitted element that is ghosted keeps its stored value; one that
 * is not ghosted is cleared. Which are ghosted is fixed by the collection's initial Sync
 * (`ctx.supported`): no Supported element -> none is ghosted (a Change is the whole contact);
 * Supported with children -> all but those are ghosted; an empty Supported -> all are ghosted.
 * Clients without Supported rely on that: EAS-4-TbSync sends only the fields that have a value,
 * so a field emptied in Thunderbird reaches the server only as an omitted element.
 * Body and Categories are not in the ghostable set; an omitted Body or Categories is kept (a
 * client that was sent a truncated body cannot send it back whole, MS-ASAIRS 2.2.2.9), and a
 * client clears them with an empty element, or, for Categories, by naming it in Supported and
 * leaving it out. Alias and WeightedRank are server-side values of
 * the recipient information cache (14.0+): a client's values are ignored and never cleared.
 */
import type { JsonObject } from '../ports/types.ts';
import { child, children, el, text, type WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, readBody } from './body.ts';
import { CATEGORIES, fieldApplies, fieldToEas, hashKey, normalizePhone, normalizeText, parseEasDate, str, uint } from './fields.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from './types.ts';

const C = 'Contacts';
const C2 = 'Contacts2';

/** Largest Picture sent to a device, in characters of base64 (MS-ASCNTC 2.2.2.58: 48 KB). */
export const PICTURE_MAX_BASE64 = 48 * 1024;

/** Default largest Picture a device may store, in bytes of image (Z-Push's default, see the header). */
export const DEFAULT_PICTURE_MAX_BYTES = 5 * 1024 * 1024;

type Kind = 'string' | 'day' | 'children' | 'categories' | 'picture' | 'rank';

interface ContactField {
  key: string;
  ns: typeof C | typeof C2;
  name: string;
  kind: Kind;
  since?: '14.0';
  /** Server-side value: never read from a client. */
  serverOnly?: boolean;
}

const s = (key: string, name: string, ns: typeof C | typeof C2 = C): ContactField => ({ key, ns, name, kind: 'string' });

/** Contacts (in Contacts.xsd order, Body after Birthday) then Contacts2 fields. */
export const CONTACT_FIELDS: readonly ContactField[] = [
  { key: 'anniversary', ns: C, name: 'Anniversary', kind: 'day' },
  s('assistantName', 'AssistantName'),
  s('assistantPhoneNumber', 'AssistantPhoneNumber'),
  { key: 'birthday', ns: C, name: 'Birthday', kind: 'day' },
  // airsyncbase:Body goes here (see toEas)
  s('business2PhoneNumber', 'Business2PhoneNumber'),
  s('businessAddressCity', 'BusinessAddressCity'),
  s('businessAddressCountry', 'BusinessAddressCountry'),
  s('businessAddressPostalCode', 'BusinessAddressPostalCode'),
  s('businessAddressState', 'BusinessAddressState'),
  s('businessAddressStreet', 'BusinessAddressStreet'),
  s('businessFaxNumber', 'BusinessFaxNumber'),
  s('businessPhoneNumber', 'BusinessPhoneNumber'),
  s('carPhoneNumber', 'CarPhoneNumber'),
  { key: 'categories', ns: C, name: 'Categories', kind: 'categories' },
  { key: 'children', ns: C, name: 'Children', kind: 'children' },
  s('companyName', 'CompanyName'),
  s('department', 'Department'),
  s('email1Address', 'Email1Address'),
  s('email2Address', 'Email2Address'),
  s('email3Address', 'Email3Address'),
  s('fileAs', 'FileAs'),
  s('firstName', 'FirstName'),
  s('home2PhoneNumber', 'Home2PhoneNumber'),
  s('homeAddressCity', 'HomeAddressCity'),
  s('homeAddressCountry', 'HomeAddressCountry'),
  s('homeAddressPostalCode', 'HomeAddressPostalCode'),
  s('homeAddressState', 'HomeAddressState'),
  s('homeAddressStreet', 'HomeAddressStreet'),
  s('homeFaxNumber', 'HomeFaxNumber'),
  s('homePhoneNumber', 'HomePhoneNumber'),
  s('jobTitle', 'JobTitle'),
  s('lastName', 'LastName'),
  s('middleName', 'MiddleName'),
  s('mobilePhoneNumber', 'MobilePhoneNumber'),
  s('officeLocation', 'OfficeLocation'),
  s('otherAddressCity', 'OtherAddressCity'),
  s('otherAddressCountry', 'OtherAddressCountry'),
  s('otherAddressPostalCode', 'OtherAddressPostalCode'),
  s('otherAddressState', 'OtherAddressState'),
  s('otherAddressStreet', 'OtherAddressStreet'),
  s('pagerNumber', 'PagerNumber'),
  s('radioPhoneNumber', 'RadioPhoneNumber'),
  s('spouse', 'Spouse'),
  s('suffix', 'Suffix'),
  s('title', 'Title'),
  s('webPage', 'WebPage'),
  s('yomiCompanyName', 'YomiCompanyName'),
  s('yomiFirstName', 'YomiFirstName'),
  s('yomiLastName', 'YomiLastName'),
  { key: 'picture', ns: C, name: 'Picture', kind: 'picture' },
  { key: 'alias', ns: C, name: 'Alias', kind: 'string', since: '14.0', serverOnly: true },
  { key: 'weightedRank', ns: C, name: 'WeightedRank', kind: 'rank', since: '14.0', serverOnly: true },
  s('customerId', 'CustomerId', C2),
  s('governmentId', 'GovernmentId', C2),
  s('imAddress', 'IMAddress', C2),
  s('imAddress2', 'IMAddress2', C2),
  s('imAddress3', 'IMAddress3', C2),
  s('managerName', 'ManagerName', C2),
  s('companyMainPhone', 'CompanyMainPhone', C2),
  s('accountName', 'AccountName', C2),
  s('nickName', 'NickName', C2),
  s('mms', 'MMS', C2),
];

/** The stored keys of the plain string fields (for vCard and directory mappings). */
export const CONTACT_STRING_KEYS: readonly string[] = CONTACT_FIELDS.filter((f) => f.kind === 'string' && !f.serverOnly).map((f) => f.key);

/** Not in the ghostable set of MS-ASCMD 2.2.3.179: kept when omitted. */
const NOT_GHOSTABLE = new Set(['categories', 'alias', 'weightedRank']);

// ---------------------------------------------------------------------------------------------
// Days (Birthday, Anniversary)

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * The calendar day a client meant by a Birthday/Anniversary instant: the UTC date of the
 * instant rounded to the nearest UTC midnight. Undefined for anything that is not a date.
 */
export function dayFromEas(raw: string): string | undefined {
  const d = parseEasDate(raw);
  if (!d) return undefined;
  return new Date(d.getTime() + 12 * 3600_000).toISOString().slice(0, 10);
}

/** A stored day ("YYYY-MM-DD", or an ISO instant stored by an older easd) as the day. */
export function storedDay(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (DAY.test(v)) return v;
  return dayFromEas(v);
}

/** The day as the dateTime easd answers: midnight UTC (see the header). */
export function dayToEas(day: string): string {
  return `${day}T00:00:00.000Z`;
}

// ---------------------------------------------------------------------------------------------
// Picture

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes of image a base64 string holds. */
function decodedSize(b64: string): number {
  return (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
}

/**
 * The Picture a client sent, whitespace removed ('' clears the picture), or why it is left out:
 * not base64, or more than `maxBytes` of image.
 */
export function checkPicture(raw: string, maxBytes = DEFAULT_PICTURE_MAX_BYTES): { value: string } | { dropped: string } {
  const v = raw.replace(/\s+/g, '');
  if (v.length % 4 !== 0 || !BASE64.test(v)) return { dropped: 'not base64' };
  const size = decodedSize(v);
  if (size > maxBytes) return { dropped: `${size} bytes of image, more than the ${maxBytes} this server keeps (--max-contact-picture-size)` };
  return { value: v };
}

/** Whether a stored picture fits what a device may be sent (MS-ASCNTC 2.2.2.58). */
function sendable(picture: string): boolean {
  return picture.length <= PICTURE_MAX_BASE64;
}

// ---------------------------------------------------------------------------------------------
// Conversion

function applies(f: ContactField, ctx: ConvertContext): boolean {
  return fieldApplies({ since: f.since }, ctx);
}

function fieldElement(f: ContactField, data: JsonObject): WbxmlElement | undefined {
  const v = data[f.key];
  if (v === undefined || v === null) return undefined;
  switch (f.kind) {
    case 'string':
      return typeof v === 'string' && v !== '' ? el(f.ns, f.name, v) : undefined;
    case 'picture':
      return typeof v === 'string' && v !== '' && sendable(v) ? el(f.ns, f.name, v) : undefined;
    case 'day': {
      const day = storedDay(v);
      return day ? el(f.ns, f.name, dayToEas(day)) : undefined;
    }
    case 'children':
      return Array.isArray(v) ? el(f.ns, 'Children', v.filter((x): x is string => typeof x === 'string').map((c) => el(f.ns, 'Child', c))) : undefined;
    case 'categories':
      return fieldToEas({ key: f.key, ns: f.ns, name: f.name, kind: CATEGORIES }, data);
    case 'rank':
      return fieldToEas({ key: f.key, ns: f.ns, name: f.name, kind: uint() }, data);
  }
}

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  for (const f of CONTACT_FIELDS) {
    if (applies(f, ctx)) {
      const e = fieldElement(f, data);
      if (e) out.push(e);
    }
    if (f.key === 'birthday') out.push(bodyToEas(readBody(data), ctx));
  }
  return out;
}

/** Whether an omitted element keeps its stored value on a Change (MS-ASCMD 2.2.3.179). */
export function isGhosted(f: { ns: string; name: string; key: string }, supported: readonly string[] | undefined, existing?: JsonObject): boolean {
  // A picture too large to be sent never reached the device: its absence is not a removal.
  const picture = f.key === 'picture' ? existing?.['picture'] : undefined;
  if (typeof picture === 'string' && !sendable(picture)) return true;
  // Not in the ghostable set: kept when omitted, unless the client says it manages the element.
  if (NOT_GHOSTABLE.has(f.key)) return !(supported ?? []).includes(`${f.ns}:${f.name}`);
  if (supported === undefined) return false;
  return !supported.includes(`${f.ns}:${f.name}`);
}

function readField(f: ContactField, e: WbxmlElement, out: JsonObject, ctx: ConvertContext): void {
  switch (f.kind) {
    case 'string': {
      const v = text(e) ?? '';
      // U+FFFD is what the WBXML decoder puts for bytes that are not UTF-8 (MS-ASWBXML strings
      // are UTF-8): a broken encoding is refused, not stored as replacement characters.
      if (v.includes('\uFFFD')) throw new ConversionError(`${f.ns}:${f.name} is not valid UTF-8`);
      if (v === '') delete out[f.key];
      else out[f.key] = v;
      return;
    }
    case 'picture': {
      const p = checkPicture(text(e) ?? '', ctx.pictureMaxBytes ?? DEFAULT_PICTURE_MAX_BYTES);
      // Left out, the contact kept: the stored picture (a Change) stays as it was.
      if ('dropped' in p) ctx.dropped?.(`${f.ns}:${f.name}`, p.dropped);
      else if (p.value === '') delete out[f.key];
      else out[f.key] = p.value;
      return;
    }
    case 'day': {
      const raw = (text(e) ?? '').trim();
      if (raw === '') {
        delete out[f.key];
        return;
      }
      const day = dayFromEas(raw);
      if (day) out[f.key] = day;
      else ctx.dropped?.(`${f.ns}:${f.name}`, `"${raw.slice(0, 40)}" is not a date`);
      return;
    }
    case 'children': {
      const list = children(e, 'Child', f.ns).map((c) => text(c) ?? '').filter((c) => c !== '');
      if (list.length) out[f.key] = list;
      else delete out[f.key];
      return;
    }
    case 'categories': {
      const list = children(e, 'Category', f.ns).map((c) => text(c) ?? '').filter((c) => c !== '');
      if (list.length) out[f.key] = list;
      else delete out[f.key];
      return;
    }
    case 'rank':
      return;
  }
}

function fromEas(appData: WbxmlElement, ctx: ConvertContext, existing?: JsonObject): JsonObject {
  const out: JsonObject = { ...(existing ?? {}) };
  for (const f of CONTACT_FIELDS) {
    if (f.serverOnly) continue;
    const e = child(appData, f.name, f.ns);
    if (e) readField(f, e, out, ctx);
    else if (existing && !isGhosted(f, ctx.supported, existing)) delete out[f.key];
  }
  applyBodyFromEas(appData, out);
  // Older stored values (an ISO instant) become days on the next write.
  for (const k of ['birthday', 'anniversary']) {
    const d = storedDay(out[k]);
    if (d) out[k] = d;
    else delete out[k];
  }
  return out;
}

/**
 * The first email address in use: Email1Address unless empty, and only the address of a
 * `"Name" <address>` form (clients write both).
 */
function firstEmail(data: JsonObject): string {
  for (const k of ['email1Address', 'email2Address', 'email3Address']) {
    const v = str(data, k);
    if (v && v.trim() !== '') {
      const m = /<([^<>]*)>\s*$/.exec(v);
      return normalizeText(m ? m[1] : v);
    }
  }
  return '';
}

/**
 * kb-2.7 identity: normalised name (first, middle, last; else FileAs; else company), first
 * email, first phone in use (mobile, else home, else business). The same person entered twice
 * with different numbers is two contacts to this key; a copy is the same contact.
 */
function matchKey(data: JsonObject): string | undefined {
  let name = normalizeText([str(data, 'firstName'), str(data, 'middleName'), str(data, 'lastName')].filter(Boolean).join(' '));
  if (!name) name = normalizeText(str(data, 'fileAs')?.replace(/,/g, ' '));
  if (!name) name = normalizeText(str(data, 'companyName'));
  const email = firstEmail(data);
  const phone = normalizePhone(str(data, 'mobilePhoneNumber') ?? str(data, 'homePhoneNumber') ?? str(data, 'businessPhoneNumber'));
  if (!name && !email && !phone) return undefined;
  return hashKey('contact', [name, email, phone]);
}

export const contactsConverter: ItemConverter = {
  itemClass: 'Contacts',
  toEas,
  fromEas,
  matchKey,
};
