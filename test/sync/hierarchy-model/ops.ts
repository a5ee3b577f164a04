/**
 * The operations of the FolderSync model test and their fast-check generator. Operations name
 * devices, users and folders by small numbers that are resolved when the operation runs (a
 * folder index modulo the folders the actor can see, in the order they came to be), so a
 * sequence stays meaningful while fast-check shrinks it and can be replayed as written.
 */
import fc from 'fast-check';

/** Devices of the run: three of user 0, one of user 1. */
export const DEVICE_USERS = [0, 0, 0, 1] as const;

/** Folder names: case and normalisation variants of each other, so sibling clashes happen. */
export const NAMES = ['Work', 'work', 'Projects', '\u00c4rger', 'a\u0308rger', 'x', 'X', 'Archive'] as const;

/** Types a client may create (MS-ASCMD 2.2.3.186.2: 1 and 12-17). */
export const TYPES = [12, 1, 13, 14, 15, 17] as const;

export type Op =
  /** FolderSync with the device's key: the response is applied. */
  | { k: 'sync'; d: number }
  /** FolderSync with the device's key whose response never reaches the device. */
  | { k: 'syncLost'; d: number }
  /** FolderSync with SyncKey 0. */
  | { k: 'reset'; d: number }
  /** FolderCreate under a folder the device has (0: the root). */
  | { k: 'create'; d: number; parent: number; name: number; type: number }
  /** FolderUpdate of a folder the device has: a rename (name), a move (parent), or both. */
  | { k: 'update'; d: number; folder: number; parent: number | null; name: number | null }
  /** FolderDelete of a folder the device has. */
  | { k: 'delete'; d: number; folder: number }
  /** Server-side writes through the store API (another client, an administrator). */
  | { k: 'srvCreate'; u: number; parent: number; name: number; type: number }
  | { k: 'srvUpdate'; u: number; folder: number; parent: number | null; name: number | null }
  | { k: 'srvDelete'; u: number; folder: number }
  /** A device names a folder of the other user (FolderUpdate, FolderDelete, or as FolderCreate's parent). */
  | { k: 'foreign'; d: number; what: 'create' | 'update' | 'delete'; folder: number };

const device = fc.constantFrom(0, 0, 1, 1, 2, 3);
const user = fc.constantFrom(0, 0, 0, 1);
const index = fc.nat({ max: 40 });
const name = fc.nat({ max: NAMES.length - 1 });
const type = fc.nat({ max: TYPES.length - 1 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('sync' as const), d: device }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('syncLost' as const), d: device }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const), d: device }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('create' as const), d: device, parent: index, name, type }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('update' as const), d: device, folder: index, parent: maybe(index), name: maybe(name) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('delete' as const), d: device, folder: index }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('srvCreate' as const), u: user, parent: index, name, type }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('srvUpdate' as const), u: user, folder: index, parent: maybe(index), name: maybe(name) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('srvDelete' as const), u: user, folder: index }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('foreign' as const), d: device, what: fc.constantFrom('create' as const, 'update' as const, 'delete' as const), folder: index }) },
);

export const opsArb = (maxLength: number): fc.Arbitrary<Op[]> => fc.array(opArb, { minLength: 1, maxLength });

/** Run count and seed, from EASD_MODEL_RUNS / EASD_MODEL_SEED when set. */
export function runSettings(defaultRuns: number): { numRuns: number; seed: number } {
  const runs = Number(process.env.EASD_MODEL_RUNS);
  const seed = Number(process.env.EASD_MODEL_SEED);
  return {
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns,
    seed: process.env.EASD_MODEL_SEED !== undefined && Number.isInteger(seed) ? seed : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0,
  };
}
