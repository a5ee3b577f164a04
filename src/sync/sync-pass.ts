/**
 * The decisions of one collection Sync pass (MS-ASCMD 3.2.5.1), pure: given the state saved
 * under the device's key, what the request asked, the feed plan, what the server's side read and
 * sent, and the device's own writes, whether the collection changed, the key the response gives
 * and the state to save under it. collection-sync.ts does the I/O around it (the store, client
 * commands, the feed, WBXML). The clock enters through the plan (feed.ts planFeed, given the
 * request's `now`): nothing here reads it, the store or the network.
 */
import type { CollectionState } from './collection-state.ts';
import { OWN_DELETE, type FeedPlan, type OwnWrites } from './feed.ts';
import { nextSyncKey } from './sync-key.ts';
import { optionsToJson, type CollectionOptions } from './sync-request.ts';

/** WindowSize when the client gives none, and the most the server sends (MS-ASCMD 2.2.3.199). */
export const DEFAULT_WINDOW_SIZE = 100;
export const MAX_WINDOW_SIZE = 512;

/**
 * How many commands this collection may send: its WindowSize (else the options' MaxItems, else
 * the default), at most MAX_WINDOW_SIZE and what the request's own WindowSize has left
 * (`remaining`; MS-ASCMD 2.2.3.199: the request's WindowSize caps all its collections together).
 */
export function passWindow(windowSize: number | undefined, options: CollectionOptions, remaining: number): number {
  return Math.min(windowSize ?? options.maxItems ?? DEFAULT_WINDOW_SIZE, MAX_WINDOW_SIZE, remaining);
}

/**
 * Whether the feed needs reading: a folder whose sequence (as read at the start of the request)
 * is where the plan starts has nothing to read, unless this request's own commands just wrote to it.
 */
export function feedToRead(folderModseq: number, plan: FeedPlan, commandsSent: boolean): boolean {
  return folderModseq > plan.since || commandsSent;
}

export interface PassRequest {
  /** The key the device sent, one easd issued (a state was found under it; not SyncKey 0). */
  syncKey: string;
  /** The options the request carried; absent, the stored ones go on (14.0+ may omit them). */
  options?: CollectionOptions;
  /** Whether the request carried client commands (every Response answers one of them). */
  commandsSent: boolean;
}

/** What the server's side of a pass did; absent when the request said GetChanges 0 (MS-ASCMD 2.2.3.79). */
export interface FeedRead {
  /** Commands sent: owed SoftDeletes and the feed page's Add, Change, Delete, SoftDelete. */
  sent: number;
  /** The last feed sequence looked at (the plan's `since` when the feed was not read). */
  reached: number;
  /**
   * Items still owed a SoftDelete: the plan's `leaving` that did not fit the window, or those
   * the device added outside its window in this request (feed.ts ChangePage.deferred).
   */
  leaving: string[];
  /** The feed page stopped at the window with news left after it. */
  more: boolean;
  /** Echoes still owed (echoes.ts): those that did not fit the window. */
  echo?: string[];
}

export interface PassInput {
  /** The state saved under the request's key, as read (before a legacy state's adoption). */
  stored: CollectionState;
  request: PassRequest;
  /** Where the feed was read from (collection-state.ts deviceView, feed.ts planFeed). */
  plan: FeedPlan;
  feed: FeedRead | undefined;
  /** The device's own writes: the stored ones and this request's (item id -> sequence, OWN_DELETE). */
  touched: OwnWrites;
  /**
   * Echoes (echoes.ts): those owed before the feed was read (the stored ones and this request's
   * refused Changes') and the refused edits answered. Absent: the stored ones stay.
   */
  echoes?: { owed: string[]; refused: Record<string, string> };
}

export interface PassDecision {
  /** False when the collection had no client commands, nothing to send and the state stays: the key stays. */
  changed: boolean;
  /** The key the response gives the device. */
  syncKey: string;
  /** The state to save under `syncKey` (keeping the request's key's as the previous); none when unchanged. */
  next?: CollectionState;
  moreAvailable: boolean;
  /** The folder sequence the device is at after this response (for Ping, positions.ts). */
  position: number;
}

/** The decisions of a pass over what its I/O found (module comment). */
export function decidePass({ stored, request, plan, feed, touched, echoes }: PassInput): PassDecision {
  const options = request.options ?? stored.options;
  const sent = feed?.sent ?? 0;
  const position = feed?.reached ?? plan.since;
  const leaving = feed ? feed.leaving : (plan.leaving ?? []);
  const owedBefore = echoes?.owed ?? plan.echo ?? [];
  const echo = feed ? (feed.echo ?? owedBefore) : owedBefore;
  const refused = echoes?.refused ?? stored.refused ?? {};
  // SoftDeletes and echoes still owed bring the device back at once, as does a page cut short
  // by the window (MS-ASCMD 2.2.3.110 MoreAvailable). A request that asked for no changes hears of none.
  const moreAvailable = feed !== undefined && (feed.more || leaving.length > 0 || echo.length > 0);
  // A reread is over once the feed has passed where the device had been.
  const rescanTo = plan.rescanTo !== undefined && position < plan.rescanTo ? plan.rescanTo : undefined;
  const optionsChanged = request.options !== undefined && JSON.stringify(optionsToJson(request.options)) !== JSON.stringify(optionsToJson(stored.options));
  // The key moves when the device is told anything or the state behind the key would differ
  // (MS-ASCMD 2.2.3.181.4 SyncKey: a new key for a response that carries changes); otherwise the
  // response repeats the key and nothing is saved, so a quiet repeat stays quiet.
  const changed =
    sent > 0 ||
    request.commandsSent ||
    moreAvailable || // even with no room left in this response, the device must hear there is more
    position !== stored.modseq ||
    rescanTo !== stored.rescanTo ||
    optionsChanged ||
    plan.windowAt !== stored.windowAt ||
    leaving.length !== (stored.leaving?.length ?? 0) ||
    echo.join() !== (stored.echo ?? []).join() ||
    JSON.stringify(refused) !== JSON.stringify(stored.refused ?? {}) ||
    !stored.heldKept;
  if (!changed) return { changed, syncKey: request.syncKey, moreAvailable, position };
  const own: Record<string, number> = {};
  for (const [id, seq] of touched) {
    // Kept while the feed has not passed them; a delete's tombstone sequence is unknown, so
    // it is kept until the feed has been read to the end.
    if (seq > position || (seq === OWN_DELETE && moreAvailable)) own[id] = seq;
  }
  // Adds are matched only until the first full pass after a reset has been sent (kb-2.7).
  const next: CollectionState = {
    modseq: position,
    rescanTo,
    options,
    matchAdds: stored.matchAdds && moreAvailable ? true : undefined,
    own,
    supported: stored.supported,
    windowAt: plan.windowAt,
    leaving,
    echo,
    refused,
    heldKept: true,
  };
  return { changed, syncKey: nextSyncKey(request.syncKey), next, moreAvailable, position };
}
