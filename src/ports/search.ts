/**
 * The full-text index over a user's items (SQLite FTS5 or PostgreSQL tsvector, migration
 * 0004_sending). The store keeps documents and answers word queries; it does not know what an
 * item's fields mean: src/mail/search-index.ts turns items into documents and keeps the index
 * in step with the change feed (it follows each folder's modseq, see `getPosition`).
 *
 * Matching: every query word must occur in the document (subject, addresses or body) as a word
 * or the start of one ("pres" finds "Presentation"), case and diacritics ignored. Text is split
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

export interface SearchQuery {
  userId: string;
  /** Free text; split into words as documents are. */
  text?: string;
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
