import type { ChangeEvent, Store } from '../store/types.ts';

/**
 * Interest in one user's changes: a held Ping or a Sync with Wait. `dirty` is set by the first
 * matching change after the watch was made, so a change stored while the holder is still looking
 * at the folders is not missed; `holder`, when set, is told of every matching change.
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

class UserWatch implements Watch {
  dirty = false;
  holder: { changed(): void } | undefined = undefined;
  constructor(
    readonly userId: string,
    public folderIds: ReadonlySet<string> | readonly string[] | null,
    private readonly hub: ChangeHub,
  ) {}

  matches(folderId: string | null): boolean {
    // A hierarchy change (folderId null) matters to everyone: a watched folder may be gone.
    const ids = this.folderIds;
    if (folderId === null || ids === null) return true;
    return Array.isArray(ids) ? (ids as readonly string[]).includes(folderId) : (ids as ReadonlySet<string>).has(folderId);
  }

  close(): void {
    this.hub.remove(this);
  }
}

/**
 * One store subscription per process for every held request, with the holders indexed by user:
 * a change costs the work of that user's holders, not of every holder on the node (10,000 held
 * Pings would otherwise each be a store listener that every change of every user is handed to).
 * With PostgreSQL the store's notifications cross nodes (LISTEN/NOTIFY), so this does too.
 */
export class ChangeHub {
  readonly #byUser = new Map<string, Set<UserWatch>>();
  #count = 0;
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly store: Store) {}

  /** Watches held now (for metrics and tests). */
  get size(): number {
    return this.#count;
  }

  watch(userId: string, folderIds: ReadonlySet<string> | readonly string[] | null): Watch {
    this.#unsubscribe ??= this.store.subscribeChanges((e) => this.#dispatch(e));
    const w = new UserWatch(userId, folderIds, this);
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(w);
    this.#count++;
    return w;
  }

  /** @internal Called by Watch.close. */
  remove(w: UserWatch): void {
    const set = this.#byUser.get(w.userId);
    if (!set?.delete(w)) return;
    this.#count--;
    if (set.size === 0) this.#byUser.delete(w.userId);
  }

  #dispatch(e: ChangeEvent): void {
    const set = this.#byUser.get(e.userId);
    if (!set) return;
    // A copy: a holder may close its watch (and so change the set) while we walk it.
    for (const w of [...set]) {
      if (!w.matches(e.folderId)) continue;
      w.dirty = true;
      w.holder?.changed();
    }
  }
}

const hubs = new WeakMap<Store, ChangeHub>();

/** The process's hub for a store (made on first use). */
export function changeHub(store: Store): ChangeHub {
  let hub = hubs.get(store);
  if (!hub) hubs.set(store, (hub = new ChangeHub(store)));
  return hub;
}
