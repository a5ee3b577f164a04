/**
 * vCard 3.0 (RFC 2426) and 4.0 (RFC 6350) <-> stored contact data (the Contacts class's JSON,
 * src/classes/contacts.ts). Pure functions.
 *
 * The parts, each in its own module, all exported from here too: the file's syntax
 * (vcard-syntax.ts), dates (vcard-dates.ts), reading a card into contact data
 * (vcard-to-contact.ts) and writing one (contact-to-vcard.ts).
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
import { contentLinesProblem } from '../calendar/content-lines.ts';

import { cardToContact, type ParsedCard } from './vcard-to-contact.ts';
import { checkBalanced, decodeVCardFile, readProps, VCardError, type JCalProperty } from './vcard-syntax.ts';

export { contactToVCard, foldLine } from './contact-to-vcard.ts';
export { vcardDate } from './vcard-dates.ts';
export { decodeVCardFile, VCardError, type VCardVersion } from './vcard-syntax.ts';
export type { ParsedCard } from './vcard-to-contact.ts';

/** Parses a whole .vcf file (one or more cards). Throws VCardError; nothing is partial. */
export function parseVCards(input: Buffer | string): ParsedCard[] {
  const textValue = decodeVCardFile(input);
  if (!/BEGIN:VCARD/i.test(textValue)) throw new VCardError('no vCard in the file (no BEGIN:VCARD line)');
  checkBalanced(textValue);
  const problem = contentLinesProblem(textValue);
  if (problem) throw new VCardError(`not a readable vCard file: ${problem}`);
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
