/**
 * Keeps the full-text index (SearchStore, easd's SQL store) in step with the user's items, lazily:
 * before a query, each folder in scope is brought up to its current change sequence by reading the
 * folder's change feed from where the index stopped (Mailbox.changesSince), the same feed
 * devices sync from. A changed item's document is rewritten; a tombstone (delete, or the source
 * side of a move) removes it; the target side of a move is a new item and gets a new document.
 *
 * Why lazily and not on every item write: delivery (LMTP) and Sync writes stay as fast as they
 * were, the store's write paths need no knowledge of mail, and an index that was lost or reset
 * (RebuildResults) rebuilds itself from the feed. The price is paid by the first search after
 * many new messages; queries also join the live items, so a result is never a deleted item.
 */
import type { Mailbox } from '../ports/mailbox.ts';
import type { SearchDoc, SearchStore } from '../ports/search.ts';
import type { Folder, Item, JsonObject, JsonValue } from '../ports/types.ts';

/** What catching up writes: the index's position per folder and its documents. */
export type SearchIndexWriter = Pick<SearchStore, 'getPosition' | 'applyBatch'>;

/** Items read from the feed per step (one transaction of the index each). */
const BATCH = 500;

function str(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** Rough text of an HTML body: tags and entities out, for indexing only. */
export function htmlToIndexText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, ' ');
}

/**
 * The searchable text of an item, field by field. Email: subject, the address fields and the
 * body (plain text, or the HTML with its tags removed), attachment names. Other classes: their
 * subject (or name) and body, so a Search with a Calendar, Contacts, Tasks or Notes CollectionId
 * works too. The index (its subject, addresses and body columns) and the exact matcher
 * (search-match.ts) both read it, so they agree on what an item says.
 */
export interface SearchFields {
  subject: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  /** Reply-To, Sender, the organizer and location of a meeting. */
  other: string;
  body: string;
  attachments: string;
}

export function searchFields(item: Item): SearchFields {
  const d = item.data;
  const body = obj(d.body);
  let bodyText = str(body?.text);
  if (bodyText === '' && typeof body?.html === 'string') bodyText = htmlToIndexText(body.html);
  if (bodyText === '') bodyText = str(d.preview);
  const join = (keys: string[]) =>
    keys
      .map((k) => str(d[k]))
      .filter((s) => s !== '')
      .join(' ');
  const attachments = Array.isArray(d.attachments)
    ? d.attachments.map((a) => str(obj(a)?.displayName) || str(obj(a)?.name)).filter((s) => s !== '')
    : [];
  return {
    subject: str(d.subject) || str(d.fileAs) || [str(d.firstName), str(d.lastName)].filter((s) => s).join(' '),
    from: str(d.from),
    to: join(['to', 'displayTo']),
    cc: str(d.cc),
    bcc: str(d.bcc),
    other: join(['replyTo', 'sender', 'organizer', 'location']),
    body: bodyText,
    attachments: attachments.join(' '),
  };
}

/** The index document of an item: the fields of searchFields in the index's three columns. */
export function itemToSearchDoc(item: Item): SearchDoc {
  const d = item.data;
  const f = searchFields(item);
  return {
    itemId: item.id,
    folderId: item.folderId,
    conversationId: str(d.conversationId) || null,
    received: str(d.dateReceived) || str(d.startTime) || item.createdAt.toISOString(),
    subject: f.subject,
    addresses: [f.from, f.to, f.cc, f.bcc, f.other, f.attachments].filter((s) => s !== '').join(' '),
    body: f.body,
  };
}

/** Brings the index of each of the mailbox's folders up to the folder's current change sequence. */
export async function catchUpSearchIndex(index: SearchIndexWriter, mailbox: Pick<Mailbox, 'userId' | 'changesSince'>, folders: readonly Folder[]): Promise<void> {
  const { userId } = mailbox;
  for (const folder of folders) {
    let pos = await index.getPosition(userId, folder.id);
    while (pos < folder.modseq) {
      let changes: Item[];
      try {
        changes = await mailbox.changesSince(folder.id, pos, BATCH);
      } catch {
        break; // the folder was deleted meanwhile: its items are gone, nothing to index
      }
      if (changes.length === 0) break;
      const docs = changes.filter((it) => !it.deleted).map(itemToSearchDoc);
      const removed = changes.filter((it) => it.deleted).map((it) => it.id);
      const to = changes[changes.length - 1]!.modseq;
      const applied = await index.applyBatch(userId, folder.id, pos, to, docs, removed);
      // Another request indexed this stretch first: continue from where it got to.
      pos = applied ? to : await index.getPosition(userId, folder.id);
      if (changes.length < BATCH) break;
    }
  }
}
