import type { HeldChange } from '../ports/types.ts';
import type { DeviceStateStore } from '../ports/store.ts';

/**
 * What the device holds of one collection while one Sync is worked out: the store's record at
 * the generation of the request's key (Store.heldItems), plus what this answer gives and takes
 * away. Add, Change, Delete and SoftDelete are decided from it (feed.ts classify): an item is an
 * Add exactly when the device does not hold it, whatever its sequence numbers say. Deciding by
 * "created after the device's sequence" lost every item that was created before a paged initial
 * sync reached it and changed after: it came up as a Change of something the device never had.
 */
export class HeldView {
  /** The store's answer for each id looked up (true: held at the request's generation). */
  readonly #stored = new Map<string, boolean>();
  readonly #added = new Set<string>();
  readonly #removed = new Set<string>();

  constructor(
    private readonly store: Pick<DeviceStateStore, 'heldItems'>,
    private readonly userId: string,
    private readonly deviceId: string,
    private readonly collectionId: string,
    /** The generation of the request's key (its counter, sync-key.ts keyGeneration). */
    readonly gen: number,
  ) {}

  /** Looks up the ids not looked up yet; call before `has` for them. */
  async load(ids: readonly string[]): Promise<void> {
    const unknown = ids.filter((id) => !this.#stored.has(id) && !this.#added.has(id) && !this.#removed.has(id));
    if (unknown.length === 0) return;
    const held = await this.store.heldItems(this.userId, this.deviceId, this.collectionId, this.gen, unknown);
    for (const id of unknown) this.#stored.set(id, held.has(id));
  }

  /** Whether the device holds the item once this answer has reached it. */
  has(id: string): boolean {
    if (this.#added.has(id)) return true;
    if (this.#removed.has(id)) return false;
    const stored = this.#stored.get(id);
    if (stored === undefined) throw new Error(`held item ${id} was not looked up`);
    return stored;
  }

  /** The answer gives the device the item (an Add sent, or its own Add). */
  add(id: string): void {
    // Taken away and given back in one answer: the stored record already says held.
    if (this.#removed.delete(id) && this.#stored.get(id) === true) return;
    this.#added.add(id);
  }

  /** The answer takes the item away (a Delete or SoftDelete sent, or its own Delete). */
  remove(id: string): void {
    if (this.#added.delete(id) && this.#stored.get(id) !== true) return;
    this.#removed.add(id);
  }

  /** The items this answer has given the device so far. */
  addedSoFar(): Set<string> {
    return new Set(this.#added);
  }

  /** What this answer changed, to save with the state of generation `gen` (Store.saveSyncState). */
  change(gen: number): HeldChange {
    return { gen, keepFrom: this.gen, add: [...this.#added], remove: [...this.#removed] };
  }
}
