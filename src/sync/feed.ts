/**
 * The server's side of a collection Sync: the folder's change feed read after the device's
 * sequence and turned into Add, Change, Delete and SoftDelete (MS-ASCMD 2.2.3.24, 2.2.3.42,
 * 2.2.3.167, 2.2.3.7.2), decided from what the device holds (held-view.ts), the FilterType window
 * (MS-ASCMD 2.2.3.68.2) and the device's own writes. GetItemEstimate and Ping count with the same
 * rules, so the three always agree.
 */
import { withinFilter } from '../classes/index.ts';
import { ConversionError, type ConvertContext, type ItemConverter } from '../classes/types.ts';
import { loadForConversion } from '../classes/load-body.ts';
import type { Folder, Item, ItemClass, JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import type { HeldView } from './held-view.ts';

/** Whether an item's data is inside what the device is shown (FilterType window, restriction). */
export type ItemFilter = (data: JsonObject) => boolean;

export function filterFor(itemClass: ItemClass, filterType: number | undefined, now = new Date()): ItemFilter | undefined {
  if (!filterType) return undefined;
  return (data) => withinFilter(itemClass, data, filterType, now);
}

/** Both the FilterType window and a restricted device's visibility. */
export function restrictFilter(filter: ItemFilter | undefined, visible: ItemFilter | undefined): ItemFilter | undefined {
  if (!visible) return filter;
  return filter ? (data) => visible(data) && filter(data) : visible;
}

/**
 * How often a Sync looks again for items that aged out of a FilterType window (MS-ASCMD
 * 2.2.3.68.2: a window is "the past N days", so yesterday's window held mail today's does not).
 * Once a day: the narrowest window is a day, and the look reads the whole folder.
 */
export const WINDOW_AGING_MS = 24 * 3600_000;

/** Item id -> the sequence of the version the device has from its own write; OWN_DELETE for a delete. */
export type OwnWrites = ReadonlyMap<string, number>;
/** In OwnWrites: the device deleted the item; its tombstone is not news to it. */
export const OWN_DELETE = -1;

/** Where a Sync reads the feed from, and how. */
export interface FeedPlan {
  /** Read the feed after this sequence. */
  since: number;
  /**
   * Set while the folder is read again from the start (a FilterType change, the window aging,
   * a state from before held items were kept): a held item whose version is at or below this
   * sequence is one the device already has, not news.
   */
  rescanTo?: number;
  /** When the window was laid (epoch ms), to keep in the state. */
  windowAt?: number;
  /** SoftDeletes owed before the feed (ChangePage.deferred of the previous Sync). */
  leaving?: string[];
  /** Items owed the server's version after a Change the server took only in part (echoes.ts). */
  echo?: string[];
}

/**
 * Where the next Sync reads from. A FilterType change, or the same window a day later, is
 * answered by reading the whole folder again against what the device holds: what entered the
 * window is sent as Add, what left it as SoftDelete, everything else stays quiet.
 */
export function planFeed(
  state: { modseq: number; rescanTo?: number; windowAt?: number; filterType?: number; leaving?: string[]; echo?: string[] },
  filterType: number | undefined,
  nowMs: number,
): FeedPlan {
  const plan = feedStart(state, filterType, nowMs);
  return { ...plan, ...(state.leaving?.length ? { leaving: state.leaving } : {}), ...(state.echo?.length ? { echo: state.echo } : {}) };
}

function feedStart(state: { modseq: number; rescanTo?: number; windowAt?: number; filterType?: number }, filterType: number | undefined, nowMs: number): FeedPlan {
  const reread = (): FeedPlan['rescanTo'] => (state.modseq > 0 || state.rescanTo ? Math.max(state.modseq, state.rescanTo ?? 0) : undefined);
  if ((state.filterType ?? 0) !== (filterType ?? 0)) {
    const rescanTo = reread();
    return { since: rescanTo === undefined ? state.modseq : 0, rescanTo, windowAt: filterType ? nowMs : undefined };
  }
  const windowAt = filterType ? (state.windowAt ?? nowMs) : undefined;
  if (windowAt !== undefined && nowMs - windowAt >= WINDOW_AGING_MS) {
    const rescanTo = reread();
    return { since: rescanTo === undefined ? state.modseq : 0, rescanTo, windowAt: nowMs };
  }
  return { since: state.modseq, rescanTo: state.rescanTo, windowAt };
}

export type ChangeKind = 'Add' | 'Change' | 'Delete' | 'SoftDelete';

/**
 * What one feed entry means to the device, or undefined when it is not news. `held`: whether
 * the device holds the item; `inView`: whether its data is inside the window (live items).
 */
export function classify(item: Item, held: boolean, inView: boolean, own: OwnWrites, rescanTo: number | undefined): ChangeKind | undefined {
  const mine = own.get(item.id);
  // The version the device wrote itself, or its own delete: nothing to tell it. (Unless that
  // version is outside its window now, a FilterType change in the same request say: then it
  // leaves the device like any other item.)
  if (mine === OWN_DELETE && item.deleted) return undefined;
  if (mine !== undefined && mine === item.modseq && !item.deleted && inView) return undefined;
  if (item.deleted) return held ? 'Delete' : undefined;
  // Outside the window: taken off the device if it has it (MS-ASCMD 2.2.3.167 SoftDelete).
  if (!inView) return held ? 'SoftDelete' : undefined;
  if (!held) return 'Add';
  // A reread meets items the device got at this very version before.
  return rescanTo !== undefined && item.modseq <= rescanTo ? undefined : 'Change';
}

/** classify() for a feed entry the held view has looked up, through the plan's window. */
function judge(item: Item, held: HeldView, filter: ItemFilter | undefined, own: OwnWrites, plan: FeedPlan): ChangeKind | undefined {
  return classify(item, held.has(item.id), item.deleted || !filter || filter(item.data), own, plan.rescanTo);
}

/** Told of an item skipped because it cannot be converted (kb-2.4). */
export type Unconvertible = (item: Item, err: ConversionError) => void;

export interface ChangePage {
  commands: WbxmlElement[];
  /** The last sequence looked at: the next request resumes after it. */
  modseq: number;
  moreAvailable: boolean;
  /**
   * Items the device added in this very request that are outside its window: their SoftDelete
   * waits for the next Sync (CollectionState.leaving), since in this response the device learns
   * their ServerIds only from Responses, after Commands (MS-ASCMD 2.2.3.29.2 child order).
   */
  deferred: string[];
}

/**
 * Reads the feed after `plan.since` and turns it into at most `window` commands, recording each
 * Add and removal in `held`. The returned sequence is the last entry looked at, so paging never
 * loses or repeats an item: an item met again later (changed meanwhile) is judged by whether the
 * device holds it by then.
 */
export async function collectChanges(
  mailbox: Mailbox,
  folder: Folder,
  converter: ItemConverter,
  cctx: ConvertContext,
  plan: FeedPlan,
  window: number,
  filter: ItemFilter | undefined,
  held: HeldView,
  own: OwnWrites,
  skipped?: Unconvertible,
  addedNow: ReadonlySet<string> = new Set(),
): Promise<ChangePage> {
  const commands: WbxmlElement[] = [];
  const deferred: string[] = [];
  let cursor = plan.since;
  const batch = Math.max(window + 1, 64);
  for (;;) {
    const changes = await mailbox.changesSince(folder.id, cursor, batch);
    await held.load(changes.map((i) => i.id));
    for (const item of changes) {
      const kind = judge(item, held, filter, own, plan);
      if (kind === undefined || (kind === 'SoftDelete' && addedNow.has(item.id))) {
        if (kind) deferred.push(item.id);
        cursor = item.modseq;
        continue;
      }
      if (commands.length >= window) return { commands, modseq: cursor, moreAvailable: true, deferred };
      const command = await commandFor(mailbox, item, kind, converter, cctx, skipped);
      cursor = item.modseq;
      if (!command) continue;
      if (kind === 'Add') held.add(item.id);
      if (kind === 'Delete' || kind === 'SoftDelete') held.remove(item.id);
      commands.push(command);
    }
    if (changes.length < batch) return { commands, modseq: cursor, moreAvailable: false, deferred };
  }
}

/**
 * The SoftDeletes owed for items the device added outside its window (ChangePage.deferred):
 * those still live, held and outside the window, as commands (at most `window`; `rest` is what
 * did not fit) or, for an estimate, only counted.
 */
export async function leavingCommands(
  mailbox: Pick<Mailbox, 'getItem'>,
  folder: Folder,
  ids: readonly string[],
  filter: ItemFilter | undefined,
  held: HeldView,
  window: number,
): Promise<{ commands: WbxmlElement[]; rest: string[] }> {
  const commands: WbxmlElement[] = [];
  await held.load(ids);
  let i = 0;
  for (; i < ids.length && commands.length < window; i++) {
    const item = await mailbox.getItem(ids[i]!);
    if (!item || item.folderId !== folder.id || !held.has(item.id) || !filter || filter(item.data)) continue;
    commands.push(el('AirSync', 'SoftDelete', el('AirSync', 'ServerId', item.serverId)));
    held.remove(item.id);
  }
  return { commands, rest: ids.slice(i) };
}

/**
 * The owed echoes (echoes.ts) still due, each id's item or undefined: due while live in the
 * folder, held by the device and inside its window; otherwise the feed tells the device instead.
 */
export async function dueEchoes(mailbox: Pick<Mailbox, 'getItem'>, folder: Folder, ids: readonly string[], filter: ItemFilter | undefined, held: HeldView): Promise<Array<Item | undefined>> {
  await held.load(ids);
  const out: Array<Item | undefined> = [];
  for (const id of ids) {
    const item = await mailbox.getItem(id);
    out.push(item && !item.deleted && item.folderId === folder.id && held.has(item.id) && (!filter || filter(item.data)) ? item : undefined);
  }
  return out;
}

async function commandFor(mailbox: Mailbox, item: Item, kind: ChangeKind, converter: ItemConverter, cctx: ConvertContext, skipped?: Unconvertible): Promise<WbxmlElement | undefined> {
  if (kind === 'Delete' || kind === 'SoftDelete') return el('AirSync', kind, el('AirSync', 'ServerId', item.serverId));
  let appData: WbxmlElement[];
  try {
    await loadForConversion(mailbox, [item], cctx); // raw MIME for BodyPreference Type 4 (src/classes/load-body.ts)
    appData = converter.toEas(item.data, cctx);
  } catch (err) {
    // An item that cannot be converted is skipped without stalling the folder (kb-2.4).
    skipped?.(item, asConversionError(err, converter));
    return undefined;
  }
  return el('AirSync', kind, el('AirSync', 'ServerId', item.serverId), el('AirSync', 'ApplicationData', appData));
}

/**
 * Whatever a converter throws for a stored item, the item is skipped rather than the folder
 * stalled (kb-2.4): corrupt stored data must not keep a device from the rest of its mail.
 */
export function asConversionError(err: unknown, converter: ItemConverter): ConversionError {
  if (err instanceof ConversionError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ConversionError(`${converter.itemClass} item could not be converted: ${message}`);
}

/**
 * How many commands a Sync with this plan would send in all, windows aside (GetItemEstimate,
 * MS-ASCMD 2.2.1.9; Ping's "anything for this device"). `limit` stops counting early.
 */
export async function countChanges(
  mailbox: Mailbox,
  folder: Folder,
  plan: FeedPlan,
  filter: ItemFilter | undefined,
  held: HeldView,
  own: OwnWrites,
  limit = Infinity,
): Promise<number> {
  let count = plan.leaving?.length ? (await leavingCommands(mailbox, folder, plan.leaving, filter, held, Infinity)).commands.length : 0;
  if (plan.echo?.length) count += (await dueEchoes(mailbox, folder, plan.echo, filter, held)).filter((x) => x !== undefined).length;
  if (count >= limit) return count;
  let cursor = plan.since;
  const batch = 1000;
  for (;;) {
    const changes = await mailbox.changesSince(folder.id, cursor, batch);
    await held.load(changes.map((i) => i.id));
    for (const item of changes) {
      if (judge(item, held, filter, own, plan) !== undefined) count++;
      if (count >= limit) return count;
      cursor = item.modseq;
    }
    if (changes.length < batch) return count;
  }
}
