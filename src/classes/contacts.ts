/**
 * Contacts class (MS-ASCNTC), basic fields.
 *
 * Stored data:
 *   {
 *     fileAs?, firstName?, middleName?, lastName?: string
 *     companyName?, jobTitle?: string
 *     email1Address?, email2Address?, email3Address?: string
 *     businessPhoneNumber?, homePhoneNumber?, mobilePhoneNumber?: string
 *     birthday?: string                      // ISO 8601 UTC (MS-ASCNTC 2.2.2.6, dateTime)
 *     categories?: string[]
 *     body?: { text?, html?, mime? }          // the contact's notes; see body.ts
 *   }
 *
 * Element order: the Contacts AllProps group of MS-ASCNTC section 6.1 (Contacts.xsd), with
 * airsyncbase:Body where that group lists the (2.5) Body: Birthday, Body, BusinessPhoneNumber,
 * Email1Address, Email2Address, Email3Address, FileAs, FirstName, MiddleName, HomePhoneNumber,
 * MobilePhoneNumber, CompanyName, LastName, JobTitle, Categories.
 */
import type { JsonObject } from '../store/types.ts';
import type { WbxmlElement } from '../wbxml/tree.ts';
import { applyBodyFromEas, bodyToEas, readBody } from './body.ts';
import {
  CATEGORIES,
  DATE_TIME_KIND,
  STRING,
  fieldFromEas,
  fieldToEas,
  hashKey,
  normalizePhone,
  normalizeText,
  str,
  type FieldDef,
} from './fields.ts';
import type { ConvertContext, ItemConverter } from './types.ts';

const N = 'Contacts';
const f = (key: string, name: string, kind: FieldDef['kind'] = STRING): FieldDef => ({ key, ns: N, name, kind });

const BIRTHDAY = f('birthday', 'Birthday', DATE_TIME_KIND);
/** Fields after Body, in schema order. */
const AFTER_BODY: readonly FieldDef[] = [
  f('businessPhoneNumber', 'BusinessPhoneNumber'),
  f('email1Address', 'Email1Address'),
  f('email2Address', 'Email2Address'),
  f('email3Address', 'Email3Address'),
  f('fileAs', 'FileAs'),
  f('firstName', 'FirstName'),
  f('middleName', 'MiddleName'),
  f('homePhoneNumber', 'HomePhoneNumber'),
  f('mobilePhoneNumber', 'MobilePhoneNumber'),
  f('companyName', 'CompanyName'),
  f('lastName', 'LastName'),
  f('jobTitle', 'JobTitle'),
  f('categories', 'Categories', CATEGORIES),
];

function toEas(data: JsonObject, ctx: ConvertContext): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  const b = fieldToEas(BIRTHDAY, data);
  if (b) out.push(b);
  out.push(bodyToEas(readBody(data), ctx));
  for (const fd of AFTER_BODY) {
    const e = fieldToEas(fd, data);
    if (e) out.push(e);
  }
  return out;
}

function fromEas(appData: WbxmlElement, _ctx: ConvertContext, existing?: JsonObject): JsonObject {
  const out: JsonObject = { ...(existing ?? {}) };
  fieldFromEas(BIRTHDAY, appData, out);
  for (const fd of AFTER_BODY) fieldFromEas(fd, appData, out);
  applyBodyFromEas(appData, out);
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

/** kb-2.7 identity: normalised name (first, middle, last; else FileAs), first email, mobile phone. */
function matchKey(data: JsonObject): string | undefined {
  let name = normalizeText([str(data, 'firstName'), str(data, 'middleName'), str(data, 'lastName')].filter(Boolean).join(' '));
  if (!name) name = normalizeText(str(data, 'fileAs')?.replace(/,/g, ' '));
  if (!name) name = normalizeText(str(data, 'companyName'));
  const email = firstEmail(data);
  const mobile = normalizePhone(str(data, 'mobilePhoneNumber'));
  if (!name && !email && !mobile) return undefined;
  return hashKey('contact', [name, email, mobile]);
}

export const contactsConverter: ItemConverter = {
  itemClass: 'Contacts',
  toEas,
  fromEas,
  matchKey,
};
