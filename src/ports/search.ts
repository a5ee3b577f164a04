/**
 * The full-text index over a user's items (SQLite FTS5 or PostgreSQL tsvector, migration
 * 0004_sending). The store keeps documents and answers word queries; it does not know what an
 * item's fields mean: src/mail/search-index.ts turns items into documents and keeps the index
 * in step with the change feed (it follows each folder's modseq, see `getPosition`).
 *
 * Matching: a query is an And/Or of words (IndexExpr, or the plain `text` whose words are all
 * required); a word matches a document with a word (subject, addresses or body) that is it or
 * starts with it ("pres" finds "Presentation"), case and diacritics ignored. Text is split
 * into words at every character that is not a letter or a digit, the same way for documents
 * and queries on both backends.
 */
export interface SearchDoc {
  itemId: string;
  folderId: string;
  conversationId: string | null;
  /** ISO 8601 UTC; results come newest first. Empty string when unknown. */
  received: string;
  subject: string;
  /** From, To, Cc and similar address lists, as text. */
  addresses: string;
  body: string;
}

/**
 * Lowercased words of `text`, diacritics removed: the one tokenizer of documents and queries, on
 * both backends and in the domain's exact matcher (src/mail/search-match.ts), so that the index
 * and the matcher agree on what a word is.
 */
export function searchWords(text: string): string[] {
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  return folded.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
}

/** Longest text kept per document field: bounds index size for huge bodies. */
export const MAX_FIELD_CHARS = 256 * 1024;

/**
 * A boolean query over the index's words, field-blind: `word` matches a document that has a
 * word starting with it (in subject, addresses or body), `all` matches every document. The
 * domain builds it from a parsed query (src/mail/search-match.ts), as the whole answer when the
 * query needs nothing the index cannot tell, else as a pre-filter that never leaves a match out.
 */
export type IndexExpr =
  | { kind: 'word'; word: string }
  | { kind: 'and'; children: readonly IndexExpr[] }
  | { kind: 'or'; children: readonly IndexExpr[] }
  | { kind: 'all' };

export interface SearchQuery {
  userId: string;
  /** Free text; split into words as documents are, every word required. */
  text?: string;
  /** A word query; with `text`, both must match. `{ kind: 'all' }` lists the scope's documents. */
  match?: IndexExpr;
  /** Only these folders (ids, not ServerIds); absent: every folder. */
  folderIds?: readonly string[];
  conversationId?: string;
  /** Only documents received after / before these ISO 8601 UTC times (exclusive). */
  receivedAfter?: string;
  receivedBefore?: string;
  offset: number;
  limit: number;
}

export interface SearchHit {
  itemId: string;
  folderId: string;
}

export interface SearchStore {
  /** The folder change sequence the index holds the folder up to (0 when never indexed). */
  getPosition(userId: string, folderId: string): Promise<number>;
  /**
   * One step of the index following a folder's change feed, in one transaction: removes the
   * documents of `removedItemIds`, writes `docs` (replacing a document of the same item), and
   * moves the folder's position from `from` to `to`. When the position is no longer `from` (a
   * concurrent catch-up got there first) nothing is written and false is returned.
   */
  applyBatch(userId: string, folderId: string, from: number, to: number, docs: readonly SearchDoc[], removedItemIds: readonly string[]): Promise<boolean>;
  /**
   * Live items of the user matching the query, newest first, with the total number of matches.
   * Documents of items since deleted or moved are never returned (every query joins the live
   * items), even before the index has caught up.
   */
  search(q: SearchQuery): Promise<{ total: number; hits: SearchHit[] }>;
  /** Forgets the user's index (all of it, or one folder's), so it is rebuilt from the change feed. */
  reset(userId: string, folderId?: string): Promise<void>;
}
