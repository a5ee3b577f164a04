/**
 * vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) <-> stored contact data (the Contacts class's JSON,
 * src/classes/contacts.ts). Pure functions.
 *
 * Reading goes through ical.js (`ICAL.parse` reads vCards into jCal, RFC 7095): line unfolding,
 * parameter and value escaping, groups ("item1.EMAIL"), multi-valued TYPE ("TYPE=WORK,VOICE"
 * and repeated TYPE=), structured N/ADR/ORG. What this module relies on from it is pinned by
 * test/contacts/vcard.test.ts. One quirk is handled here: ical.js leaves "\;" escaped inside
 * single text values (NOTE:a\;b), so text values have it undone.
 *
 * Writing is done here, not with ical.js: a property written without its component gets the
 * iCalendar design set and escapes commas inside data: URIs, and the output must be exactly
 * what RFC 6350 says (UTF-8, CRLF, lines folded at 75 octets without splitting a character).
 *
 * The input must be UTF-8 (both versions say so): anything else is refused with the line of the
 * first bad byte, never guessed. vCard 2.1 (quoted-printable, CHARSET=) is refused too.
 *
 * Mapping (the EAS Contact class has fixed slots, MS-ASCNTC 2.2.2):
 *   N            lastName; firstName; middleName; title; suffix
 *   FN           fileAs as "Last, First" when there is a name, else FN
 *   NICKNAME     nickName          ORG  companyName; department        TITLE  jobTitle
 *   EMAIL        email1..3: TYPE=pref first, then in file order
 *   TEL          by TYPE (and Apple's X-ABLabel of the same group): cell -> mobile; home ->
 *                home, home2; work -> business, business2; fax -> home fax (with home) or
 *                business fax; pager; car; main / "company main" -> companyMainPhone;
 *                x-assistant / assistant -> assistantPhoneNumber; x-radio -> radio; x-mms ->
 *                mms; a number without a usable type -> the first free of home, home2,
 *                business2, radio
 *   ADR          home / work / other (untyped: home, else other); street = PO box, extended
 *                and street lines joined by line breaks
 *   BDAY         birthday ("YYYY-MM-DD"; a birthday without a year, "--MMDD", gets 1604,
 *                Apple's year for "no year", and is written back without one)
 *   ANNIVERSARY, X-ANNIVERSARY, X-ABDATE labelled Anniversary, X-EVOLUTION-ANNIVERSARY,
 *   X-MS-ANNIVERSARY  anniversary
 *   NOTE         body.text          URL  webPage          CATEGORIES  categories
 *   PHOTO        picture (base64 data, "ENCODING=b" or a data: URI; a URL is not fetched; one
 *                larger than the class's 48 KB limit is left out with a warning)
 *   IMPP, X-AIM, X-JABBER, X-ICQ, X-MSN, X-YAHOO, X-SKYPE, X-GOOGLE-TALK, X-MS-IMADDRESS
 *                imAddress, imAddress2, imAddress3
 *   RELATED (4.0; TYPE=spouse, child, agent = assistant, x-manager), X-ABRELATEDNAMES with
 *   Apple labels, X-SPOUSE, X-EVOLUTION-*, X-KADDRESSBOOK-X-*, X-MS-*
 *                spouse, children, assistantName, managerName
 *   X-PHONETIC-FIRST-NAME, X-PHONETIC-LAST-NAME, X-PHONETIC-ORG   yomiFirstName, yomiLastName,
 *                yomiCompanyName
 *   X-EAS-OFFICE-LOCATION, X-EAS-CUSTOMER-ID, X-EAS-GOVERNMENT-ID, X-EAS-ACCOUNT-NAME
 *                the Contact fields no vCard property carries (written by the export, so an
 *                export imports back unchanged)
 *   UID          uid (kept, and used first when an import matches existing contacts)
 * Anything else is ignored; values that find no slot are reported as warnings.
 */
import ICAL from 'ical.js';

import { bodyPlainText, readBody } from '../classes/body.ts';
import { PICTURE_MAX_BASE64 } from '../classes/contacts.ts';
import type { JsonObject } from '../ports/types.ts';

/** A vCard file that cannot be read: the message says what and where. */
export class VCardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VCardError';
  }
}

export interface ParsedCard {
  /** Stored contact data. */
  data: JsonObject;
  /** What could not be kept (a fourth e-mail, a picture past the limit, ...). */
  warnings: string[];
  /** A name for messages: FN, else N, else the first e-mail. */
  label: string;
}

export type VCardVersion = '3.0' | '4.0';

/** Apple's year for a date without one (X-APPLE-OMIT-YEAR=1604). */
const NO_YEAR = '1604';

// ---------------------------------------------------------------------------------------------
// Reading

/** The file as text: UTF-8 only (a BOM is dropped); the line of the first invalid byte otherwise. */
export function decodeVCardFile(input: Buffer | string): string {
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input).replace(/^\uFEFF/, '');
  } catch {
    const bad = firstInvalidUtf8(input);
    const line = input.subarray(0, bad).toString('latin1').split('\n').length;
    throw new VCardError(`not UTF-8: byte 0x${input[bad]?.toString(16).padStart(2, '0')} on line ${line} (vCard 3.0 and 4.0 files are UTF-8; convert the file first, e.g. with iconv -f WINDOWS-1252 -t UTF-8)`);
  }
}

function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return i;
}

type JCalProperty = [string, Record<string, unknown>, string, ...unknown[]];

interface Prop {
  name: string;
  group: string | undefined;
  types: string[];
  params: Record<string, unknown>;
  valueType: string;
  values: unknown[];
}

function readProps(jcal: unknown[], version: string): Prop[] {
  const props = (jcal[1] as JCalProperty[]) ?? [];
  return props.map(([name, params, valueType, ...values]) => {
    const rawTypes = params['type'];
    const types = (Array.isArray(rawTypes) ? rawTypes : rawTypes === undefined ? [] : [rawTypes])
      .flatMap((t) => String(t).split(','))
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean);
    // ical.js keeps "\;" escaped in single text values (see the header).
    const fixed = values.map((v) => (typeof v === 'string' ? v.replace(/\\;/g, ';') : v));
    const group = typeof params['group'] === 'string' ? params['group'].toLowerCase() : undefined;
    return { name: name.toLowerCase(), group, types, params, valueType, values: fixed };
  });
}

/** Parses a whole .vcf file (one or more cards). Throws VCardError; nothing is partial. */
export function parseVCards(input: Buffer | string): ParsedCard[] {
  const textValue = decodeVCardFile(input);
  if (!/BEGIN:VCARD/i.test(textValue)) throw new VCardError('no vCard in the file (no BEGIN:VCARD line)');
  checkBalanced(textValue);
  let parsed: unknown;
  try {
    parsed = ICAL.parse(textValue);
  } catch (err) {
    throw new VCardError(`not a readable vCard file: ${(err as Error).message}`);
  }
  const cards = (Array.isArray(parsed) && typeof parsed[0] === 'string' ? [parsed] : (parsed as unknown[])) as unknown[][];
  return cards.map((jcal, i) => {
    if (!Array.isArray(jcal) || String(jcal[0]).toLowerCase() !== 'vcard') throw new VCardError(`item ${i + 1} of the file is not a vCard (${String(jcal?.[0])})`);
    const versionProp = ((jcal[1] as JCalProperty[]) ?? []).find((p) => p[0] === 'version');
    const version = versionProp ? String(versionProp[3]) : '';
    if (version !== '3.0' && version !== '4.0') {
      throw new VCardError(`card ${i + 1}: vCard version "${version || '(none)'}" is not supported (3.0 and 4.0 are)`);
    }
    return cardToContact(readProps(jcal, version), version, i + 1);
  });
}

/** Every BEGIN:VCARD has its END:VCARD before the next one: the line of the first that does not. */
function checkBalanced(text: string): void {
  let open = 0;
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    if (/^BEGIN:VCARD\s*$/i.test(line)) {
      if (open) throw new VCardError(`the card that begins on line ${open} has no END:VCARD before line ${i + 1}`);
      open = i + 1;
    } else if (/^END:VCARD\s*$/i.test(line)) {
      if (!open) throw new VCardError(`END:VCARD on line ${i + 1} ends no card`);
      open = 0;
    }
  });
  if (open) throw new VCardError(`the card that begins on line ${open} has no END:VCARD`);
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(str).join(',');
  if (v === undefined || v === null) return '';
  return String(v);
}

/** Components of a structured value (N, ADR, ORG): ical.js gives a string when there is one. */
function parts(p: Prop): string[] {
  const v = p.values[0];
  if (Array.isArray(v)) return v.map((x) => (Array.isArray(x) ? x.map(str).join(',') : str(x)));
  return [str(v)];
}

function firstText(p: Prop): string {
  return str(p.values[0]).trim();
}

/** "_$!<Mobile>!$_" -> "mobile"; "Büro" -> "büro". */
function cleanLabel(label: string): string {
  const m = /^_\$!<(.*)>!\$_$/.exec(label.trim());
  return (m ? m[1]! : label).trim().toLowerCase();
}

/** A date value as "YYYY-MM-DD" (time and zone dropped; no year -> 1604), or undefined. */
export function vcardDate(raw: string): string | undefined {
  const v = raw.trim();
  let m = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ].*)?$/.exec(v);
  if (m) return validDay(m[1]!, m[2]!, m[3]!);
  m = /^--(\d{2})-?(\d{2})$/.exec(v);
  if (m) return validDay(NO_YEAR, m[1]!, m[2]!);
  return undefined;
}

function validDay(y: string, mo: string, d: string): string | undefined {
  const t = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (t.getUTCFullYear() !== Number(y) || t.getUTCMonth() !== Number(mo) - 1 || t.getUTCDate() !== Number(d)) return undefined;
  return `${y}-${mo}-${d}`;
}

const IM_PROPS: Record<string, string> = {
  'x-aim': 'aim',
  'x-jabber': 'xmpp',
  'x-icq': 'icq',
  'x-msn': 'msn',
  'x-yahoo': 'ymsgr',
  'x-skype': 'skype',
  'x-skype-username': 'skype',
  'x-google-talk': 'xmpp',
  'x-gadugadu': 'gg',
  'x-qq': 'qq',
  'x-ms-imaddress': '',
};

const RELATION_PROPS: Record<string, 'spouse' | 'child' | 'assistant' | 'manager' | 'anniversary'> = {
  'x-spouse': 'spouse',
  'x-evolution-spouse': 'spouse',
  'x-kaddressbook-x-spousesname': 'spouse',
  'x-ms-spouse': 'spouse',
  'x-evolution-manager': 'manager',
  'x-kaddressbook-x-managersname': 'manager',
  'x-ms-manager': 'manager',
  'x-manager': 'manager',
  'x-evolution-assistant': 'assistant',
  'x-kaddressbook-x-assistantsname': 'assistant',
  'x-ms-assistant': 'assistant',
  'x-assistant': 'assistant',
  'x-ms-child': 'child',
  'x-child': 'child',
  'x-anniversary': 'anniversary',
  'x-evolution-anniversary': 'anniversary',
  'x-kaddressbook-x-anniversary': 'anniversary',
  'x-ms-anniversary': 'anniversary',
};

const EXTRA_TEXT: Record<string, string> = {
  'x-phonetic-first-name': 'yomiFirstName',
  'x-phonetic-last-name': 'yomiLastName',
  'x-phonetic-org': 'yomiCompanyName',
  'x-eas-office-location': 'officeLocation',
  'x-eas-customer-id': 'customerId',
  'x-eas-government-id': 'governmentId',
  'x-eas-account-name': 'accountName',
};

function cardToContact(props: Prop[], version: string, index: number): ParsedCard {
  const data: JsonObject = {};
  const warnings: string[] = [];
  const labels = new Map<string, string>();
  for (const p of props) if (p.name === 'x-ablabel' && p.group) labels.set(p.group, cleanLabel(firstText(p)));
  const labelOf = (p: Prop) => (p.group ? labels.get(p.group) : undefined);
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== '' && data[key] === undefined) data[key] = value;
  };
  // TYPE=pref (3.0) or PREF=1 (4.0) first, file order otherwise.
  const preferred = (p: Prop) => p.types.includes('pref') || (p.params['pref'] !== undefined && Number(p.params['pref']) === 1);
  const ordered = (name: string) => {
    const list = props.filter((p) => p.name === name);
    return [...list.filter(preferred), ...list.filter((p) => !preferred(p))];
  };

  let fn = '';
  for (const p of props) {
    switch (p.name) {
      case 'n': {
        const [last, first, middle, prefix, suffix] = parts(p).map((x) => x.trim());
        set('lastName', last);
        set('firstName', first);
        set('middleName', middle);
        set('title', prefix);
        set('suffix', suffix);
        break;
      }
      case 'fn':
        fn = firstText(p);
        break;
      case 'nickname':
        set('nickName', parts(p)[0]?.trim());
        break;
      case 'org': {
        const [company, department] = parts(p).map((x) => x.trim());
        set('companyName', company);
        set('department', department);
        break;
      }
      case 'title':
        set('jobTitle', firstText(p));
        break;
      case 'bday': {
        const d = vcardDate(firstText(p));
        if (d) set('birthday', d);
        else warnings.push(`BDAY "${firstText(p)}" is not a date`);
        break;
      }
      case 'anniversary': {
        const d = vcardDate(firstText(p));
        if (d) set('anniversary', d);
        break;
      }
      case 'x-abdate':
        if (labelOf(p) === 'anniversary') {
          const d = vcardDate(firstText(p));
          if (d) set('anniversary', d);
        }
        break;
      case 'note': {
        const note = p.values.map(str).join(',');
        if (note !== '' && data['body'] === undefined) data['body'] = { text: note };
        break;
      }
      case 'url':
        set('webPage', firstText(p).replace(/\\:/g, ':'));
        break;
      case 'categories': {
        const list = p.values.flatMap((v) => (Array.isArray(v) ? v.map(str) : [str(v)])).map((c) => c.trim()).filter(Boolean);
        const have = Array.isArray(data['categories']) ? (data['categories'] as string[]) : [];
        data['categories'] = [...have, ...list.filter((c) => !have.includes(c))];
        break;
      }
      case 'photo': {
        const pic = photoData(p);
        if (pic === undefined) {
          if (firstText(p) !== '') warnings.push('PHOTO is a link, not data: left out');
        } else if (pic.length > PICTURE_MAX_BASE64) {
          warnings.push(`PHOTO is ${pic.length} characters of base64, more than the ${PICTURE_MAX_BASE64} a contact can carry (MS-ASCNTC 2.2.2.58): left out`);
        } else if (!/^[A-Za-z0-9+/]*={0,2}$/.test(pic) || pic.length % 4 !== 0) {
          warnings.push('PHOTO is not base64: left out');
        } else {
          set('picture', pic);
        }
        break;
      }
      case 'uid':
        set('uid', firstText(p));
        break;
      case 'related': {
        const kind = p.types.includes('spouse') ? 'spouse' : p.types.includes('child') ? 'child' : p.types.includes('agent') || p.types.includes('x-assistant') ? 'assistant' : p.types.includes('x-manager') ? 'manager' : undefined;
        if (kind) relate(data, kind, firstText(p).replace(/^urn:.*$/, ''));
        break;
      }
      case 'x-abrelatednames': {
        const label = labelOf(p);
        const kind = label === 'spouse' || label === 'partner' ? 'spouse' : label === 'child' ? 'child' : label === 'assistant' ? 'assistant' : label === 'manager' ? 'manager' : undefined;
        if (kind) relate(data, kind, firstText(p));
        break;
      }
      default: {
        const rel = RELATION_PROPS[p.name];
        if (rel === 'anniversary') {
          const d = vcardDate(firstText(p));
          if (d) set('anniversary', d);
        } else if (rel) {
          relate(data, rel, firstText(p));
        }
        const extra = EXTRA_TEXT[p.name];
        if (extra) set(extra, firstText(p));
      }
    }
  }

  // E-mail: three slots.
  const emails = ordered('email').map(firstText).filter(Boolean);
  emails.slice(0, 3).forEach((e, i) => set(`email${i + 1}Address`, e));
  for (const e of emails.slice(3)) warnings.push(`e-mail ${e}: a contact has three e-mail addresses at most`);

  // Phones.
  for (const p of ordered('tel')) {
    const number = firstText(p).replace(/^tel:/i, '');
    if (!number) continue;
    const slot = phoneSlot(p.types, labelOf(p), data);
    if (slot) data[slot] = number;
    else warnings.push(`phone ${number}: no free phone field of its kind`);
  }

  // Addresses.
  for (const p of ordered('adr')) {
    const kind = p.types.includes('work') || labelOf(p) === 'work' ? 'business' : p.types.includes('home') || labelOf(p) === 'home' ? 'home' : p.types.includes('other') || labelOf(p) === 'other' ? 'other' : data['homeAddressStreet'] === undefined && data['homeAddressCity'] === undefined ? 'home' : 'other';
    const [pobox, ext, street, city, region, code, country] = parts(p).map((x) => x.trim());
    const prefix = `${kind}Address`;
    if (['Street', 'City', 'State', 'PostalCode', 'Country'].some((k) => data[`${prefix}${k}`] !== undefined)) {
      warnings.push(`a second ${kind === 'business' ? 'work' : kind} address: a contact has one of each`);
      continue;
    }
    set(`${prefix}Street`, [pobox, ext, street].filter(Boolean).join('\n'));
    set(`${prefix}City`, city);
    set(`${prefix}State`, region);
    set(`${prefix}PostalCode`, code);
    set(`${prefix}Country`, country);
  }

  // Instant messaging: three slots.
  const ims: string[] = [];
  for (const p of ordered('impp')) ims.push(firstText(p));
  for (const p of props) {
    const scheme = IM_PROPS[p.name];
    if (scheme === undefined) continue;
    const v = firstText(p);
    ims.push(scheme && !/^[a-z][a-z0-9+.-]*:/i.test(v) ? `${scheme}:${v}` : v);
  }
  const uniqueIms = [...new Set(ims.filter(Boolean))];
  uniqueIms.slice(0, 3).forEach((v, i) => set(i === 0 ? 'imAddress' : `imAddress${i + 1}`, v));
  for (const v of uniqueIms.slice(3)) warnings.push(`IM address ${v}: a contact has three at most`);

  // FileAs: "Last, First" as Outlook and Exchange file contacts; else the formatted name.
  const last = typeof data['lastName'] === 'string' ? data['lastName'] : '';
  const first = typeof data['firstName'] === 'string' ? data['firstName'] : '';
  const fileAs = last && first ? `${last}, ${first}` : last || first || fn || (typeof data['companyName'] === 'string' ? data['companyName'] : '');
  if (fileAs) data['fileAs'] = fileAs;
  if (!first && !last && fn && data['companyName'] !== fn) data['firstName'] = fn;

  const label = fn || [first, last].filter(Boolean).join(' ') || (typeof data['email1Address'] === 'string' ? data['email1Address'] : `card ${index}`);
  if (Object.keys(data).filter((k) => k !== 'uid').length === 0) throw new VCardError(`card ${index} has nothing a contact can carry (no name, e-mail, phone or address)`);
  return { data, warnings: warnings.map((w) => `${label}: ${w}`), label };
}

function relate(data: JsonObject, kind: 'spouse' | 'child' | 'assistant' | 'manager', name: string): void {
  const v = name.trim();
  if (!v) return;
  if (kind === 'child') {
    const list = Array.isArray(data['children']) ? (data['children'] as string[]) : [];
    if (!list.includes(v)) data['children'] = [...list, v];
    return;
  }
  const key = kind === 'spouse' ? 'spouse' : kind === 'assistant' ? 'assistantName' : 'managerName';
  if (data[key] === undefined) data[key] = v;
}

function photoData(p: Prop): string | undefined {
  const v = firstText(p).replace(/\s+/g, '');
  const encoding = String(p.params['encoding'] ?? '').toLowerCase();
  if (encoding === 'b' || encoding === 'base64' || p.valueType === 'binary') return v;
  const m = /^data:[^,]*;base64,(.*)$/i.exec(v);
  return m ? m[1] : undefined;
}

function phoneSlot(types: string[], label: string | undefined, data: JsonObject): string | undefined {
  const free = (...keys: string[]) => keys.find((k) => data[k] === undefined);
  const has = (...t: string[]) => t.some((x) => types.includes(x) || label === x);
  if (has('fax', 'homefax', 'workfax', 'otherfax')) return has('home', 'homefax') ? free('homeFaxNumber', 'businessFaxNumber') : free('businessFaxNumber', 'homeFaxNumber');
  if (has('pager')) return free('pagerNumber');
  if (has('car', 'x-car')) return free('carPhoneNumber');
  if (has('x-assistant', 'assistant')) return free('assistantPhoneNumber');
  if (has('x-radio', 'radio')) return free('radioPhoneNumber');
  if (has('x-mms', 'mms')) return free('mms');
  if (has('main', 'x-company-main', 'company main', 'company')) return free('companyMainPhone', 'businessPhoneNumber', 'business2PhoneNumber');
  if (has('cell', 'mobile', 'iphone')) return free('mobilePhoneNumber', 'home2PhoneNumber', 'business2PhoneNumber', 'radioPhoneNumber');
  if (has('work')) return free('businessPhoneNumber', 'business2PhoneNumber');
  if (has('home')) return free('homePhoneNumber', 'home2PhoneNumber');
  return free('homePhoneNumber', 'home2PhoneNumber', 'business2PhoneNumber', 'radioPhoneNumber');
}

// ---------------------------------------------------------------------------------------------
// Writing

/** RFC 6350 3.4 text escaping; `structured` also escapes ";" (a component separator there). */
function esc(s: string, structured = false): string {
  const t = s.replace(/\\/g, '\\\\').replace(/\r\n|\r|\n/g, '\\n').replace(/,/g, '\\,');
  return structured ? t.replace(/;/g, '\\;') : t.replace(/;/g, '\\;');
}

/** Folds a content line at 75 octets (RFC 6350 3.2), never inside a UTF-8 sequence. */
export function foldLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const out: string[] = [];
  let start = 0;
  let limit = 75;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    while (end < bytes.length && end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    out.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
    limit = 74; // continuation lines start with a space
  }
  return out.join('\r\n ');
}

const s = (data: JsonObject, key: string): string => (typeof data[key] === 'string' ? (data[key] as string) : '');

/** The picture's media type from its first bytes (JPEG, PNG, GIF), JPEG when unknown. */
function pictureType(b64: string): { mime: string; type: string } {
  const head = Buffer.from(b64.slice(0, 16), 'base64');
  if (head[0] === 0x89 && head[1] === 0x50) return { mime: 'image/png', type: 'PNG' };
  if (head[0] === 0x47 && head[1] === 0x49) return { mime: 'image/gif', type: 'GIF' };
  return { mime: 'image/jpeg', type: 'JPEG' };
}

/** A day for BDAY/ANNIVERSARY: 4.0 basic ("19800512", "--0512" without a year), 3.0 extended. */
function writeDay(day: string, version: VCardVersion): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  if (version === '4.0') return m[1] === NO_YEAR ? `--${m[2]}${m[3]}` : `${m[1]}${m[2]}${m[3]}`;
  return day;
}

/** One contact as a vCard (CRLF line ends, folded). `uid` is used when the data has none. */
export function contactToVCard(data: JsonObject, version: VCardVersion, uid?: string): string {
  const lines: string[] = ['BEGIN:VCARD', `VERSION:${version}`, 'PRODID:-//easd//easd contacts export//EN'];
  const add = (name: string, value: string, params = '') => lines.push(`${name}${params}:${value}`);
  const text = (name: string, key: string) => {
    const v = s(data, key);
    if (v) add(name, esc(v));
  };
  const v4 = version === '4.0';
  const theUid = s(data, 'uid') || uid;
  if (theUid) add('UID', theUid);

  const n = ['lastName', 'firstName', 'middleName', 'title', 'suffix'].map((k) => esc(s(data, k), true));
  const fn =
    [s(data, 'title'), s(data, 'firstName'), s(data, 'middleName'), s(data, 'lastName'), s(data, 'suffix')].filter(Boolean).join(' ') ||
    s(data, 'fileAs') ||
    s(data, 'companyName') ||
    s(data, 'email1Address') ||
    'Unnamed';
  add('FN', esc(fn));
  add('N', n.join(';'));
  text('NICKNAME', 'nickName');
  if (s(data, 'companyName') || s(data, 'department')) add('ORG', [esc(s(data, 'companyName'), true), esc(s(data, 'department'), true)].join(';'));
  text('TITLE', 'jobTitle');

  ['email1Address', 'email2Address', 'email3Address'].forEach((k, i) => {
    const v = s(data, k);
    if (v) add('EMAIL', esc(v), v4 ? `;TYPE=internet${i === 0 ? ';PREF=1' : ''}` : `;TYPE=INTERNET${i === 0 ? ';TYPE=pref' : ''}`);
  });

  const tel = (key: string, types: string) => {
    const v = s(data, key);
    if (v) add('TEL', esc(v), `;TYPE=${types}${v4 ? ';VALUE=text' : ''}`);
  };
  tel('mobilePhoneNumber', v4 ? 'cell' : 'CELL');
  tel('homePhoneNumber', v4 ? 'home,voice' : 'HOME,VOICE');
  tel('home2PhoneNumber', v4 ? 'home,voice' : 'HOME,VOICE');
  tel('businessPhoneNumber', v4 ? 'work,voice' : 'WORK,VOICE');
  tel('business2PhoneNumber', v4 ? 'work,voice' : 'WORK,VOICE');
  tel('homeFaxNumber', v4 ? 'home,fax' : 'HOME,FAX');
  tel('businessFaxNumber', v4 ? 'work,fax' : 'WORK,FAX');
  tel('pagerNumber', v4 ? 'pager' : 'PAGER');
  tel('carPhoneNumber', v4 ? 'x-car' : 'CAR');
  tel('companyMainPhone', v4 ? 'work,x-company-main' : 'WORK,X-COMPANY-MAIN');
  tel('assistantPhoneNumber', v4 ? 'x-assistant' : 'X-ASSISTANT');
  tel('radioPhoneNumber', v4 ? 'x-radio' : 'X-RADIO');
  tel('mms', v4 ? 'x-mms' : 'X-MMS');

  for (const [kind, type] of [
    ['home', 'home'],
    ['business', 'work'],
    ['other', 'other'],
  ] as const) {
    const p = `${kind}Address`;
    const vals = ['Street', 'City', 'State', 'PostalCode', 'Country'].map((k) => s(data, `${p}${k}`));
    if (vals.every((x) => x === '')) continue;
    add('ADR', ['', '', ...vals].map((x) => esc(x, true)).join(';'), `;TYPE=${v4 ? type : type.toUpperCase()}`);
  }

  const bday = writeDay(s(data, 'birthday'), version);
  if (bday) add('BDAY', bday, !v4 && s(data, 'birthday').startsWith(NO_YEAR) ? `;X-APPLE-OMIT-YEAR=${NO_YEAR}` : '');
  const anniversary = writeDay(s(data, 'anniversary'), version);
  if (anniversary) add(v4 ? 'ANNIVERSARY' : 'X-ANNIVERSARY', anniversary);

  // The notes as text (an HTML body, as Outlook writes it, with its markup stripped).
  const note = bodyPlainText(readBody(data));
  if (note) add('NOTE', esc(note));
  if (s(data, 'webPage')) add('URL', s(data, 'webPage'));
  const cats = Array.isArray(data['categories']) ? (data['categories'] as unknown[]).filter((c): c is string => typeof c === 'string' && c !== '') : [];
  if (cats.length) add('CATEGORIES', cats.map((c) => esc(c)).join(','));

  ['imAddress', 'imAddress2', 'imAddress3'].forEach((k) => {
    const v = s(data, k);
    if (v) add('IMPP', v); // a URI: not escaped (RFC 6350 3.4 escapes text values only)
  });

  const related = (type4: string, label: string, value: string) => {
    if (!value) return;
    if (v4) add('RELATED', esc(value), `;TYPE=${type4};VALUE=text`);
    else {
      const g = `item${lines.length}`;
      add(`${g}.X-ABRELATEDNAMES`, esc(value));
      add(`${g}.X-ABLabel`, `_$!<${label}>!$_`);
    }
  };
  related('spouse', 'Spouse', s(data, 'spouse'));
  for (const c of Array.isArray(data['children']) ? (data['children'] as unknown[]) : []) if (typeof c === 'string') related('child', 'Child', c);
  related('agent', 'Assistant', s(data, 'assistantName'));
  related('x-manager', 'Manager', s(data, 'managerName'));

  text('X-PHONETIC-FIRST-NAME', 'yomiFirstName');
  text('X-PHONETIC-LAST-NAME', 'yomiLastName');
  text('X-PHONETIC-ORG', 'yomiCompanyName');
  text('X-EAS-OFFICE-LOCATION', 'officeLocation');
  text('X-EAS-CUSTOMER-ID', 'customerId');
  text('X-EAS-GOVERNMENT-ID', 'governmentId');
  text('X-EAS-ACCOUNT-NAME', 'accountName');

  const pic = s(data, 'picture');
  if (pic) {
    const t = pictureType(pic);
    if (v4) add('PHOTO', `data:${t.mime};base64,${pic}`);
    else add('PHOTO', pic, `;ENCODING=b;TYPE=${t.type}`);
  }
  lines.push('END:VCARD');
  return lines.map(foldLine).join('\r\n') + '\r\n';
}
