/**
 * Interest in one user's changes: a held Ping or a Sync with Wait. `dirty` is set by the first
 * matching change after the watch was made, so a change stored while the holder is still looking
 * at the folders is not missed; `holder`, when set, is told of every matching change.
 *
 * The sync engine makes watches (src/sync/change-hub.ts); a parked request holds one
 * (src/http/parked-requests.ts), so the type sits below both.
 */
export interface Watch {
  readonly userId: string;
  /**
   * The folder ids (not ServerIds) that matter; null: every folder of the user. A short array
   * costs less than a Set for the one to a few folders a Ping usually watches.
   */
  folderIds: ReadonlySet<string> | readonly string[] | null;
  /** A matching change arrived since the watch was made (or since the holder cleared it). */
  dirty: boolean;
  /** Told of every matching change: an object, so a parked request needs no closure of its own. */
  holder: { changed(): void } | undefined;
  close(): void;
}
