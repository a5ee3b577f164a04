/**
 * Stored contact data -> vCard 3.0 (RFC 2426) or 4.0 (RFC 6350), by the mapping in vcard.ts's
 * header. Pure functions.
 *
 * Writing is done here, not with ical.js: a property written without its component gets the
 * iCalendar design set and escapes commas inside data: URIs, and the output must be exactly
 * what RFC 6350 says (UTF-8, CRLF, lines folded at 75 octets without splitting a character).
 */
import { bodyPlainText, readBody } from '../classes/body.ts';
import type { JsonObject } from '../ports/types.ts';
import { NO_YEAR, writeDay } from './vcard-dates.ts';
import type { VCardVersion } from './vcard-syntax.ts';

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
