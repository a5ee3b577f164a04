/**
 * The user's own contacts as recipients (ResolveRecipients Type 2, MS-ASCMD 2.2.3.186.5): a
 * contact with an e-mail address matches a name or address the way GAL entries do
 * (gal-search.ts): every query word a prefix of a word of its first, last, middle or file-as
 * name, nickname, or of one of its addresses (whole or local part).
 */
import type { Mailbox } from '../ports/mailbox.ts';
import { bareAddress } from './addresses.ts';

/** Contact folder types (MS-ASCMD 2.2.3.186.3): the default Contacts and user-created contacts. */
const CONTACT_FOLDER_TYPES = new Set([9, 14]);
/** Most items read per contacts folder and request; an address book past this is cut. */
const MAX_CONTACTS = 50_000;

export interface ContactRecipient {
  displayName: string;
  emailAddress: string;
  /** base64 of the contact's picture, if it has one. */
  picture?: string;
}

interface ContactCandidate extends ContactRecipient {
  tokens: string[];
}

function words(s: unknown): string[] {
  return typeof s === 'string' ? s.toLowerCase().split(/[\s,;()"]+/).filter((w) => w !== '') : [];
}

/** A contact item's data as a recipient (its first address), or null when it has no address. */
export function contactCandidate(data: Record<string, unknown>): ContactCandidate | null {
  const addresses = ['email1Address', 'email2Address', 'email3Address']
    .map((k) => (typeof data[k] === 'string' ? bareAddress(data[k] as string) : ''))
    .filter((a) => a.includes('@'));
  if (addresses.length === 0) return null;
  const name = [data.firstName, data.middleName, data.lastName].filter((x) => typeof x === 'string' && x !== '').join(' ');
  const displayName = (typeof data.fileAs === 'string' && data.fileAs) || name || addresses[0]!;
  const tokens = new Set<string>();
  for (const k of ['firstName', 'middleName', 'lastName', 'fileAs', 'nickName']) for (const w of words(data[k])) tokens.add(w);
  for (const a of addresses) {
    tokens.add(a);
    tokens.add(a.slice(0, a.indexOf('@')));
  }
  return {
    displayName,
    emailAddress: addresses[0]!,
    ...(typeof data.picture === 'string' && data.picture !== '' ? { picture: data.picture } : {}),
    tokens: [...tokens],
  };
}

/** Whether every word of the query is a prefix of one of the contact's tokens. */
export function contactMatches(c: ContactCandidate, query: string): boolean {
  const qs = words(query);
  return qs.length > 0 && qs.every((q) => c.tokens.some((t) => t.startsWith(q)));
}

/** The user's contacts that can be recipients. */
export async function loadContactCandidates(mailbox: Mailbox): Promise<ContactCandidate[]> {
  const out: ContactCandidate[] = [];
  for (const folder of await mailbox.listFolders()) {
    if (!CONTACT_FOLDER_TYPES.has(folder.type)) continue;
    for await (const item of mailbox.scan(folder.id, { limit: MAX_CONTACTS })) {
      if (item.class !== 'Contacts') continue;
      const c = contactCandidate(item.data);
      if (c) out.push(c);
    }
  }
  return out;
}
