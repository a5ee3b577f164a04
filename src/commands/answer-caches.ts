import type { CommandResult } from './types.ts';

/**
 * The caches commands keep between requests, one each per process, built by the composition
 * root (src/cli/runtime.ts) and reached through Services. Both are checked against the store on
 * every use, so they are never stale, also with several processes.
 */

/** A Sync answer that may be given again to a byte-identical request (src/commands/sync.ts). */
export interface QuietAnswer {
  /** Store.writeToken when the answer was worked out. */
  token: string;
  version: string;
  body: Buffer;
  result: CommandResult;
}

/** A bounded map that forgets everything when full: a cache, so losing it costs only work. */
class BoundedMap<V> {
  readonly #map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (this.#map.size >= this.max && !this.#map.has(key)) this.#map.clear();
    this.#map.set(key, value);
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
}

/** Quiet Sync answers by user and device (at most 10,000 devices). */
export class QuietAnswers extends BoundedMap<QuietAnswer> {
  constructor(max = 10_000) {
    super(max);
  }
}

/** A user's merged free/busy digits for one range, valid while the calendar folder's modseq is unchanged. */
export interface FreeBusyEntry {
  folderId: string;
  modseq: number;
  from: number;
  to: number;
  digits: string;
}

/** Recent free/busy answers by user (ResolveRecipients Availability; at most 1,000 users). */
export class FreeBusyCache extends BoundedMap<FreeBusyEntry> {
  constructor(max = 1000) {
    super(max);
  }
}
