/**
 * The operations of the Ping model test (store writes, a device's own writes through Sync,
 * hierarchy changes, Syncs and Pings) and their fast-check generators. Operations name items by
 * small indexes resolved when they run, so a sequence can be shrunk and replayed as written.
 */
import fc from 'fast-check';
import type { ItemClass } from '../../../src/store/types.ts';

/** Folders a device syncs and watches; 'notes' is synced by nobody; 'other' is the other user's Inbox. */
export const WATCHABLE = ['inbox', 'calendar', 'contacts'] as const;
export type Watchable = (typeof WATCHABLE)[number];
export type Place = Watchable | 'notes' | 'other';
export const PLACES: Record<Place, { type: number; cls: ItemClass; filterType?: number }> = {
  inbox: { type: 2, cls: 'Email', filterType: 3 },
  calendar: { type: 8, cls: 'Calendar', filterType: 4 },
  contacts: { type: 9, cls: 'Contacts' },
  notes: { type: 10, cls: 'Notes' },
  other: { type: 2, cls: 'Email' },
};

export type ChangeOp =
  /** Store writes: `old` puts the item outside every FilterType window (Email and Calendar). */
  | { k: 'put'; at: Place; old: boolean }
  | { k: 'update'; at: Place; i: number }
  | { k: 'delete'; at: Place; i: number }
  /** A device's own write through Sync (for Contacts Add/Change/Delete, else Delete). */
  | { k: 'own'; d: number; f: Watchable; what: 'add' | 'change' | 'delete'; i: number }
  /** A hierarchy change: a new folder. */
  | { k: 'folder' }
  /**
   * Sync of one folder (SyncKey 0 first, with or without FilterType; `reset` starts over), to the
   * end, or with `partial` one Sync of WindowSize 1 (the device may Ping before the rest).
   */
  | { k: 'sync'; d: number; f: Watchable; filter: boolean; reset: boolean; partial?: boolean };
/** Ping of the device's synced folders picked by `mask`; `during` are made while it is held (by the store or the other device). */
export type Op = ChangeOp | { k: 'ping'; d: number; mask: number; during: ChangeOp[]; wake: number; path?: PingPath };
/** How a Ping went: answered at once, woken by one of `during`, or by the final put (scenarios name the one they mean). */
export type PingPath = 'at once' | 'during' | 'final';

// ------------------------------------------------------------------ generators

const place = fc.constantFrom<Place>('inbox', 'inbox', 'calendar', 'contacts', 'contacts', 'notes', 'other');
const watchable = fc.constantFrom<Watchable>(...WATCHABLE);
const dev = fc.constantFrom(0, 1);
const idx = fc.nat({ max: 20 });
const changeArb: fc.Arbitrary<ChangeOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('put' as const), at: place, old: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('update' as const), at: place, i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), at: place, i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('own' as const), d: dev, f: watchable, what: fc.constantFrom('add' as const, 'change' as const, 'delete' as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('folder' as const) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('sync' as const), d: dev, f: watchable, filter: fc.boolean(), reset: fc.constantFrom(false, false, false, true), partial: fc.constantFrom(false, false, true) }) },
);
/** Changes made while a Ping is held: mostly in the folders devices watch, often outside any window. */
const duringPlace = fc.constantFrom<Place>('inbox', 'inbox', 'inbox', 'calendar', 'calendar', 'contacts', 'contacts', 'notes', 'other');
const duringArb: fc.Arbitrary<ChangeOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('put' as const), at: duringPlace, old: fc.constantFrom(true, true, false) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('update' as const), at: duringPlace, i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), at: duringPlace, i: idx }) },
  { weight: 3, arbitrary: changeArb },
);
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: changeArb },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('ping' as const), d: dev, mask: fc.integer({ min: 1, max: 7 }), during: fc.array(duringArb, { maxLength: 4 }), wake: fc.nat({ max: 2 }) }) },
);

/** The first Sync of each device's folders, before the operations: with a FilterType, without, or none yet. */
export const setupArb = fc.array(fc.constantFrom<boolean | null>(true, true, false, null), { minLength: 6, maxLength: 6 });
