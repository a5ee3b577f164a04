/**
 * A vCard's properties -> stored contact data (the Contacts class's JSON, MS-ASCNTC 2.2.2), by the
 * mapping in vcard.ts's header. Pure functions.
 */
import { PICTURE_MAX_BASE64 } from '../classes/contacts.ts';
import type { JsonObject } from '../ports/types.ts';
import { vcardDate } from './vcard-dates.ts';
import { VCardError, type Prop } from './vcard-syntax.ts';

export interface ParsedCard {
  /** Stored contact data. */
  data: JsonObject;
  /** What could not be kept (a fourth e-mail, a picture past the limit, ...). */
  warnings: string[];
  /** A name for messages: FN, else N, else the first e-mail. */
  label: string;
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

/** One card's properties as stored contact data; `index` (from 1) names the card in messages. */
export function cardToContact(props: Prop[], version: string, index: number): ParsedCard {
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
