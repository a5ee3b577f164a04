/**
 * The operations of the sync model test, as plain JSON records (so a shrunk counterexample can be
 * pasted into sync-model-regressions.test.ts), and their fast-check generators. Items are named
 * by `pick`, an index taken modulo the candidates at the time the operation runs, so any sequence
 * is valid and shrinking keeps it meaningful.
 */
import fc from 'fast-check';
import { AGES, FOLDERS, type FolderKind } from './model.ts';

/** A device's command in a Sync request (MS-ASCMD 2.2.3.32 Commands). */
export type ClientCmd =
  | { k: 'add'; age: number }
  | { k: 'change'; pick: number }
  /**
   * A Change of a field the server keeps (a received mail's Subject, with Read toggled): the
   * server takes Read, keeps its Subject and sends the device its version (src/sync/echoes.ts).
   * Other classes: as 'change'.
   */
  | { k: 'edit'; pick: number }
  | { k: 'delete'; pick: number }
  /** A Delete naming one of the other user's ServerIds. */
  | { k: 'foreign'; pick: number };

export interface SyncOp {
  t: 'sync';
  dev: number;
  folder: FolderKind;
  /** WindowSize, 1..512. */
  window: number;
  cmds?: ClientCmd[];
  /** DeletesAsMoves 0 when false (default: absent, i.e. true). */
  dam?: boolean;
  /** A new FilterType (index into FILTERS[folder]) sent with this request. */
  filter?: number;
  /** The response is lost: the device sends the same request again (invariant 4). */
  lost?: boolean;
}

export type Op =
  /**
   * Server side: `n` new items in a folder (a delivery, or items made on the server), dated by
   * `age` (AGES); `flag`: mail already read, every other task completed.
   */
  | { t: 'put'; folder: FolderKind; age: number; flag?: boolean; n?: number }
  /** Server side: an item of the other user (must never reach this user's devices). */
  | { t: 'putOther' }
  /** Server side: a change (mail read or renamed, contact renamed, event renamed or rescheduled, task completed or renamed). */
  | { t: 'update'; pick: number; how: number }
  | { t: 'delete'; pick: number }
  /** Server side: a move, to Deleted Items or back to the item's home folder. */
  | { t: 'move'; pick: number }
  | SyncOp
  /** Two Syncs at once (of two devices). */
  | { t: 'both'; a: SyncOp; b: SyncOp }
  /** MoveItems from a device: an item it holds to Deleted Items, or out of it; `lost`: the response is lost and the request sent again. */
  | { t: 'moveItems'; dev: number; folder: FolderKind; pick: number; lost?: boolean }
  /** SyncKey 0 for one collection (the device starts it over; MS-ASCMD 2.2.3.166.4). */
  | { t: 'reset'; dev: number; folder: FolderKind; filter?: number; window?: number }
  /** GetItemEstimate, then a Sync with nothing in between: the estimate is what it sends (invariant 5). */
  | { t: 'estimate'; dev: number; folder: FolderKind }
  /** Time passes (whole days; FilterType windows slide). */
  | { t: 'tick'; days: number }
  /** The admin quarantines the device, or allows it again. */
  | { t: 'quarantine'; dev: number; on: boolean };

export interface GenOptions {
  devices: number;
  maxOps: number;
  /** Time passing (mock Date). */
  time: boolean;
  quarantine: boolean;
  /** Client Change/Delete in a request whose response is lost. */
  lostWithCommands: boolean;
}

export const DEFAULT_GEN: GenOptions = { devices: 3, maxOps: 24, time: true, quarantine: true, lostWithCommands: true };

const pick = fc.nat({ max: 40 });
/** Windows of 1 to 512, small ones most often (paging is where the engine keeps state). */
const windowArb = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 2, arbitrary: fc.integer({ min: 4, max: 20 }) }, { weight: 1, arbitrary: fc.constantFrom(100, 512) });

const clientCmdArb: fc.Arbitrary<ClientCmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('add' as const), age: fc.nat({ max: AGES.length - 1 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('change' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('edit' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('delete' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('foreign' as const), pick }) },
);

function syncArb(g: GenOptions, folderArb: fc.Arbitrary<FolderKind>, dev: fc.Arbitrary<number>): fc.Arbitrary<SyncOp> {
  return fc
    .record({
      dev,
      folder: folderArb,
      window: windowArb,
      cmds: fc.oneof({ weight: 2, arbitrary: fc.constant<ClientCmd[]>([]) }, { weight: 1, arbitrary: fc.array(clientCmdArb, { minLength: 1, maxLength: 3 }) }),
      dam: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      filter: fc.option(fc.nat({ max: 5 }), { freq: 5, nil: undefined }),
      lost: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map((r) => {
      const op: SyncOp = { t: 'sync', dev: r.dev, folder: r.folder, window: r.window };
      const cmds = r.lost && !g.lostWithCommands ? r.cmds.filter((c) => c.k === 'add') : r.cmds;
      if (cmds.length) op.cmds = cmds;
      if (!r.dam) op.dam = false;
      if (r.filter !== undefined) op.filter = r.filter;
      if (r.lost) op.lost = true;
      return op;
    });
}

/**
 * One operation. A sequence works on a few folders (`folders`): spread over five, a short
 * sequence would rarely bring two requests of one device to one folder.
 */
export function opArb(g: GenOptions = DEFAULT_GEN, folders: readonly FolderKind[] = FOLDERS): fc.Arbitrary<Op> {
  const folderArb = fc.constantFrom(...folders);
  // Device 0 most often: one device's paging is where most state is.
  const dev = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat({ max: g.devices - 1 }) });
  const sync = syncArb(g, folderArb, dev);
  const putFolder = fc.constantFrom(...folders.map((f) => (f === 'trash' ? 'inbox' : f)));
  const arbs: Array<fc.WeightedArbitrary<Op>> = [
    { weight: 5, arbitrary: fc.record({ t: fc.constant('put' as const), folder: putFolder, age: fc.nat({ max: AGES.length - 1 }), flag: fc.boolean(), n: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'putOther' as const }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('update' as const), pick, how: fc.nat({ max: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), pick }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('move' as const), pick }) },
    { weight: 14, arbitrary: sync },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('both' as const), a: sync, b: sync }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('moveItems' as const), dev, folder: folderArb, pick, lost: fc.boolean() }, { requiredKeys: ['t', 'dev', 'folder', 'pick'] }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('reset' as const), dev, folder: folderArb, filter: fc.nat({ max: 5 }), window: windowArb }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('estimate' as const), dev, folder: folderArb }) },
  ];
  if (g.time) arbs.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), days: fc.constantFrom(1, 2, 5) }) });
  if (g.quarantine) arbs.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('quarantine' as const), dev, on: fc.boolean() }) });
  return fc.oneof(...arbs);
}

/** A sequence: its folders (one to three), then operations on them. */
export function opsArb(g: GenOptions = DEFAULT_GEN): fc.Arbitrary<Op[]> {
  return fc.subarray([...FOLDERS], { minLength: 1, maxLength: 3 }).chain((folders) => fc.array(opArb(g, folders), { minLength: 1, maxLength: g.maxOps, size: 'max' }));
}
