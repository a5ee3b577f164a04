/**
 * Importing a vCard file into a user's contacts and exporting them (the `easd contacts`
 * commands). The vCard conversion is vcard.ts; this module is the mailbox side.
 *
 * Import
 * - The whole file is read first; a file that cannot be read changes nothing (all or nothing).
 * - New contacts go to the user's Contacts folder (type 9, created with the default folders
 *   when the user has never synced).
 * - Each card is matched against the user's contacts in every contacts folder (types 9 and
 *   14): first by UID, then by the Contacts class's duplicate key (name, first e-mail, first
 *   phone; the kb-2.7 key). A matched contact is updated with the card's values (fields the
 *   card does not carry, such as a picture taken on the phone, are kept) and only written when
 *   something changed, so importing the same file twice changes nothing and devices get no
 *   needless Changes. Two equal cards in one file become one contact.
 * - Writes go through the user's mailbox, so devices see the contacts at their next Sync (or Ping).
 *
 * Export: every live contact of the user's contacts folders, as one vCard per contact, in
 * folder then creation order; the item's id is the UID of a contact that has none.
 */
import { contactsConverter } from '../classes/contacts.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { Folder, Item, JsonObject } from '../ports/types.ts';
import { contactToVCard, parseVCards, type ParsedCard, type VCardVersion } from './vcard.ts';

const CONTACTS = 9;
const USER_CONTACTS = 14;

export interface ImportResult {
  added: number;
  updated: number;
  unchanged: number;
  warnings: string[];
}

async function contactFolders(mailbox: Mailbox): Promise<Folder[]> {
  let folders = await mailbox.listFolders();
  if (!folders.some((f) => f.type === CONTACTS)) folders = await mailbox.ensureDefaultFolders();
  return folders.filter((f) => f.type === CONTACTS || f.type === USER_CONTACTS);
}

async function liveItems(mailbox: Mailbox, folder: Folder): Promise<Item[]> {
  const out: Item[] = [];
  for await (const item of mailbox.scan(folder.id)) out.push(item);
  return out;
}

/** Key-order-insensitive equality of two JSON values. */
function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, norm(x)])) : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** Imports parsed cards (see the header). */
export async function importCards(mailbox: Mailbox, cards: ParsedCard[]): Promise<ImportResult> {
  const folders = await contactFolders(mailbox);
  const target = folders.find((f) => f.type === CONTACTS)!;
  const byUid = new Map<string, Item>();
  const byKey = new Map<string, Item>();
  const remember = (item: Item) => {
    // An export names a contact without a UID of its own by its item id (exportVCardFile).
    for (const uid of [item.data['uid'], item.uid, item.id]) if (typeof uid === 'string' && uid && !byUid.has(uid)) byUid.set(uid, item);
    const key = contactsConverter.matchKey(item.data);
    if (key && !byKey.has(key)) byKey.set(key, item);
  };
  for (const f of folders) for (const item of await liveItems(mailbox, f)) remember(item);

  const result: ImportResult = { added: 0, updated: 0, unchanged: 0, warnings: [] };
  for (const card of cards) {
    result.warnings.push(...card.warnings);
    const uid = typeof card.data['uid'] === 'string' ? card.data['uid'] : undefined;
    const key = contactsConverter.matchKey(card.data);
    const existing = (uid ? byUid.get(uid) : undefined) ?? (key ? byKey.get(key) : undefined);
    if (!existing) {
      const item = await mailbox.putItem({ folderId: target.id, class: 'Contacts', data: card.data, uid: uid ?? null });
      remember(item);
      result.added++;
      continue;
    }
    const incoming: JsonObject = { ...card.data };
    // Our own export's UID for a contact that had none is not a new value.
    if (incoming['uid'] === existing.id && existing.data['uid'] === undefined) delete incoming['uid'];
    const merged: JsonObject = { ...existing.data, ...incoming };
    if (sameJson(merged, existing.data)) {
      result.unchanged++;
      continue;
    }
    const updated = await mailbox.updateItem(existing.id, { data: merged, uid: typeof merged['uid'] === 'string' ? merged['uid'] : existing.uid });
    // Later cards of the same file match the updated version.
    if (uid) byUid.set(uid, updated);
    if (key) byKey.set(key, updated);
    result.updated++;
  }
  return result;
}

/** Reads a .vcf file's bytes and imports it; throws VCardError (nothing stored) for a bad file. */
export async function importVCardFile(mailbox: Mailbox, file: Buffer): Promise<ImportResult> {
  const cards = parseVCards(file);
  return importCards(mailbox, cards);
}

/** Every contact of the user as one vCard file. */
export async function exportVCardFile(mailbox: Mailbox, version: VCardVersion): Promise<{ text: string; count: number }> {
  const folders = await contactFolders(mailbox);
  let text = '';
  let count = 0;
  for (const f of folders) {
    for (const item of await liveItems(mailbox, f)) {
      text += contactToVCard(item.data, version, item.uid ?? item.id);
      count++;
    }
  }
  return { text, count };
}
