/**
 * Searching the mailbox, for Search Store=Mailbox (MS-ASCMD 2.2.1.16) and Find (2.2.1.2):
 * scope (folders, DeepTraversal), the query, ranges, and the LongId of a result.
 *
 * LongId (MS-ASCMD 2.2.3.96.3): easd's LongId of a search result is the item's ServerId. It is
 * unique per user and never reused (src/store/types.ts), stays valid as long as the item is
 * where the search found it, and needs no table. `resolveLongId` is THE way to read one back
 * (ItemOperations Fetch by LongId, SmartReply/SmartForward Source LongId): it only ever finds
 * the caller's own items.
 *
 * Results are never cached between requests: every request runs against the index caught up to
 * the latest change (search-index.ts), so RebuildResults (2.2.3.146) is always satisfied and
 * costs nothing extra.
 */
import { classForFolderType } from '../classes/index.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { SearchHit, SearchStore } from '../ports/search.ts';
import type { Folder, Item } from '../ports/types.ts';
import { parseKql, type KqlNode } from './kql.ts';
import { catchUpSearchIndex } from './search-index.ts';
import { indexQueryOf, itemMatchDoc, matches, simplifyQuery } from './search-match.ts';

/**
 * The full-text index a mailbox search reads and keeps up to date. It is easd's SQL store's
 * (ContentStore.search): its queries join the live items of easd's own mailboxes, so it serves
 * those only; a mailbox kept elsewhere would bring a search of its own.
 */
export type SearchIndex = Pick<SearchStore, 'getPosition' | 'applyBatch' | 'search'>;

/** The most results one Search or Find response carries (Range 0-99, MS-ASCMD 2.2.3.143.3). */
export const MAX_SEARCH_RESULTS = 100;
/**
 * Longest FreeText searched (characters). MS-ASCMD 2.2.3.73 (FreeText) sets no bound; every word
 * becomes a term of the FTS5 / tsquery expression, and a query of thousands of words is no
 * person's search but a cost. Search answers a longer one Store Status 8 (too complex,
 * MS-ASCMD 2.2.3.177.16), Find Status 2 (MS-ASCMD 2.2.3.177.2).
 */
export const MAX_FREE_TEXT_LENGTH = 1024;

/**
 * The most items the exact matcher reads for one query the index can only narrow (a field, a
 * phrase, NOT): the newest that pass the index. Past it, older matches are not found and Total
 * counts those found: a bound on the work one search request can cause.
 */
export const MAX_CANDIDATES = 1000;

/** The item a LongId names, if it is one of the user's live items. */
export async function resolveLongId(mailbox: Pick<Mailbox, 'getItemByServerId'>, longId: string): Promise<Item | null> {
  if (longId === '' || longId.length > 256) return null;
  return mailbox.getItemByServerId(longId);
}

/** The LongId of an item found by a search. */
export function longIdOf(item: Item): string {
  return item.serverId;
}

export interface MailboxQuery {
  /** Keyword Query Language text (kql.ts); plain words are each required, as always. */
  freeText?: string;
  /** A query tree already built (Search's Or and And of FreeTexts); with freeText, both must match. */
  query?: KqlNode;
  /** Hex, as the Email class keeps ConversationId. */
  conversationId?: string;
  /** ServerIds of the folders to search; absent: every mail folder. */
  collectionIds?: readonly string[];
  deepTraversal: boolean;
  receivedAfter?: string;
  receivedBefore?: string;
  /** Inclusive range of result positions. */
  range: [number, number];
}

export type MailboxSearchOutcome =
  | { kind: 'ok'; total: number; items: Item[]; range?: [number, number] }
  /** A CollectionId that is not one of the user's folders (or the client's hierarchy is stale). */
  | { kind: 'unknown_folder'; collectionId: string }
  | { kind: 'invalid'; reason: string };

/** "m-n" -> [m, n]; null when malformed. */
export function parseRange(text: string | undefined, fallback: [number, number] = [0, MAX_SEARCH_RESULTS - 1]): [number, number] | null {
  if (text === undefined) return fallback;
  const m = /^\s*(\d{1,9})\s*-\s*(\d{1,9})\s*$/.exec(text);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  return lo <= hi ? [lo, hi] : null;
}

/** A ConversationId from a request (opaque bytes, or text: hex or base64) as the hex the store keeps. */
export function conversationIdHex(value: Uint8Array | string): string {
  if (typeof value !== 'string') return Buffer.from(value).toString('hex');
  const t = value.trim();
  if (/^[0-9a-fA-F]{32}$/.test(t)) return t.toLowerCase();
  return Buffer.from(t, 'base64').toString('hex');
}

function withDescendants(all: readonly Folder[], roots: readonly Folder[]): Folder[] {
  const out = new Map(roots.map((f) => [f.id, f]));
  let grew = true;
  while (grew) {
    grew = false;
    for (const f of all) {
      if (f.parentId !== null && out.has(f.parentId) && !out.has(f.id)) {
        out.set(f.id, f);
        grew = true;
      }
    }
  }
  return [...out.values()];
}

function isMailFolder(f: Folder): boolean {
  try {
    return classForFolderType(f.type) === 'Email';
  } catch {
    return false; // a folder type EAS does not know
  }
}

export async function searchMailbox(mailbox: Mailbox, index: SearchIndex, q: MailboxQuery): Promise<MailboxSearchOutcome> {
  const freeText = q.freeText?.trim();
  if ((freeText === undefined || freeText === '') && q.query === undefined && q.conversationId === undefined) {
    return { kind: 'invalid', reason: 'neither FreeText nor ConversationId' };
  }
  const all = await mailbox.listFolders();
  let scope: Folder[];
  if (q.collectionIds !== undefined && q.collectionIds.length > 0) {
    const roots: Folder[] = [];
    for (const sid of q.collectionIds) {
      const f = all.find((x) => x.serverId === sid);
      if (!f) return { kind: 'unknown_folder', collectionId: sid };
      roots.push(f);
    }
    scope = q.deepTraversal ? withDescendants(all, roots) : roots;
  } else {
    scope = all.filter((f) => isMailFolder(f));
  }
  const parts = [freeText ? parseKql(freeText) : null, q.query ?? null].filter((n): n is KqlNode => n !== null);
  const tree = parts.length === 0 ? null : simplifyQuery(parts.length === 1 ? parts[0]! : { kind: 'and', children: parts });
  // Text that holds no word at all finds nothing, unless a ConversationId names what to find.
  if (tree === null && q.conversationId === undefined) return { kind: 'ok', total: 0, items: [] };
  await catchUpSearchIndex(index, mailbox, scope);
  const [lo, hi] = q.range;
  const limit = Math.min(hi - lo + 1, MAX_SEARCH_RESULTS);
  const iq = tree === null ? undefined : indexQueryOf(tree);
  const base = {
    userId: mailbox.userId,
    ...(iq ? { match: iq.expr } : {}),
    ...(q.conversationId !== undefined ? { conversationId: q.conversationId } : {}),
    ...(q.receivedAfter !== undefined ? { receivedAfter: q.receivedAfter } : {}),
    ...(q.receivedBefore !== undefined ? { receivedBefore: q.receivedBefore } : {}),
    folderIds: scope.map((f) => f.id),
  };
  let total: number;
  let items: Item[];
  if (tree === null || iq!.exact) {
    // The index's answer is the answer: it counts and pages.
    const found = await index.search({ ...base, offset: lo, limit });
    total = found.total;
    items = await loadHits(mailbox, found.hits);
  } else {
    // Fields, phrases and NOT: the index narrows, the matcher decides, newest first.
    const found = await index.search({ ...base, offset: 0, limit: MAX_CANDIDATES });
    const matched = (await loadHits(mailbox, found.hits)).filter((item) => matches(tree, itemMatchDoc(item)));
    total = matched.length;
    items = matched.slice(lo, lo + limit);
  }
  return { kind: 'ok', total, items, ...(items.length > 0 ? { range: [lo, lo + items.length - 1] as [number, number] } : {}) };
}

async function loadHits(mailbox: Pick<Mailbox, 'getItem'>, hits: readonly SearchHit[]): Promise<Item[]> {
  const out: Item[] = [];
  for (const h of hits) {
    const item = await mailbox.getItem(h.itemId);
    if (item) out.push(item);
  }
  return out;
}
