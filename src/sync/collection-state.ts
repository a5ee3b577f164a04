/**
 * What the engine keeps per device, collection and sync key (Store.saveSyncState), and the view
 * of a device it gives: where its feed resumes, its window, and what it holds (held-view.ts).
 * GetItemEstimate and Ping read a device's state through here, as Sync does.
 */
import { classForFolderType } from '../classes/index.ts';
import type { Folder, JsonObject } from '../ports/types.ts';
import type { Mailbox } from '../ports/mailbox.ts';
import type { DeviceStateStore } from '../ports/store.ts';
import { answeredFromJson, answeredToJson, type AnsweredCommands } from './answered.ts';
import { countChanges, filterFor, planFeed, restrictFilter, type FeedPlan, type ItemFilter } from './feed.ts';
import { HeldView } from './held-view.ts';
import { keyGeneration } from './sync-key.ts';
import { optionsToJson, type CollectionOptions } from './sync-request.ts';

export interface CollectionState {
  /** Every change of the folder up to this sequence has been looked at for the device. */
  modseq: number;
  options: CollectionOptions;
  /**
   * Set while the folder is read again from the start (feed.ts FeedPlan.rescanTo): the highest
   * sequence the device had been brought to before.
   */
  rescanTo?: number;
  /**
   * Set after a SyncKey 0 reset until the device has received everything once: a client Add
   * that equals an item already in the folder is matched to it, not stored twice (kb-2.7).
   */
  matchAdds?: boolean;
  /**
   * Items the device itself wrote (or had matched) that the feed has not passed yet, with the
   * sequence of that version (-1 for its deletes): its own Add or Change is not sent back.
   */
  own?: Record<string, number>;
  /**
   * The Supported list of the collection's initial Sync ("Contacts:JobTitle", ...; MS-ASCMD
   * 2.2.3.179): which elements are ghosted on a Change. Absent: the client sent none.
   */
  supported?: string[];
  /** When the FilterType window was last laid over the folder (epoch ms; feed.ts WINDOW_AGING_MS). */
  windowAt?: number;
  /** Items the device added outside its window: SoftDelete owed by the next Sync (feed.ts ChangePage.deferred). */
  leaving?: string[];
  /** Items owed the server's version after a Change the server took only in part (echoes.ts). */
  echo?: string[];
  /** The device's refused edits already answered with an echo: item id -> digest@sequence (echoes.ts). */
  refused?: Record<string, string>;
  /**
   * False for a state saved before what devices hold was recorded (held_items): its record is
   * made once from its sequence (adoptLegacyState) and the folder read again against it, which
   * also sends the commands such a state still owed (its `pending` list, left unread).
   */
  heldKept: boolean;
  /**
   * What the client commands of the request answered with this state's key did and answered
   * (answered.ts): the same request sent again with the previous key is answered from it.
   */
  answered?: AnsweredCommands;
}

export function readState(data: JsonObject): CollectionState {
  const answered = answeredFromJson(data.answered);
  return {
    modseq: Number(data.modseq ?? 0),
    options: (data.options ?? {}) as CollectionOptions,
    rescanTo: typeof data.rescanTo === 'number' ? data.rescanTo : undefined,
    matchAdds: data.matchAdds === true,
    own: data.own && typeof data.own === 'object' && !Array.isArray(data.own) ? (data.own as Record<string, number>) : undefined,
    supported: Array.isArray(data.supported) ? data.supported.filter((x): x is string => typeof x === 'string') : undefined,
    windowAt: typeof data.windowAt === 'number' ? data.windowAt : undefined,
    leaving: Array.isArray(data.leaving) ? data.leaving.filter((x): x is string => typeof x === 'string') : undefined,
    echo: Array.isArray(data.echo) ? data.echo.filter((x): x is string => typeof x === 'string') : undefined,
    refused: data.refused && typeof data.refused === 'object' && !Array.isArray(data.refused) ? (data.refused as Record<string, string>) : undefined,
    heldKept: data.held === true,
    ...(answered ? { answered } : {}),
  };
}

export function stateToJson(s: CollectionState): JsonObject {
  return {
    modseq: s.modseq,
    options: optionsToJson(s.options),
    ...(s.rescanTo !== undefined ? { rescanTo: s.rescanTo } : {}),
    ...(s.matchAdds ? { matchAdds: true } : {}),
    ...(s.own && Object.keys(s.own).length ? { own: s.own } : {}),
    ...(s.supported ? { supported: s.supported } : {}),
    ...(s.windowAt !== undefined ? { windowAt: s.windowAt } : {}),
    ...(s.leaving?.length ? { leaving: s.leaving } : {}),
    ...(s.echo?.length ? { echo: s.echo } : {}),
    ...(s.refused && Object.keys(s.refused).length ? { refused: s.refused } : {}),
    held: true,
    ...(s.answered ? { answered: answeredToJson(s.answered) } : {}),
  };
}

/** A new collection's state (SyncKey 0): nothing held, the feed from the start. */
export function initialState(options: CollectionOptions, supported: string[] | undefined, nowMs: number): CollectionState {
  return { modseq: 0, options, matchAdds: true, supported, heldKept: true, ...(options.filterType ? { windowAt: nowMs } : {}) };
}

/**
 * A state from before held items were recorded says only "the device has seen the feed up to
 * `modseq`". What it holds is taken to be what the old rule sent it: the items that came into
 * the folder at or before that sequence and were inside its window. The record is made (held at
 * every generation) and the folder read again against it, which also sends what the old state
 * still owed. Idempotent: until the state is saved again the same record is made again.
 */
export async function adoptLegacyState(mailbox: Mailbox, deviceState: DeviceStateStore, deviceId: string, folder: Folder, state: CollectionState, visible: ItemFilter | undefined, nowMs: number): Promise<CollectionState> {
  if (state.heldKept) return state;
  if (state.modseq === 0) return { ...state, heldKept: true };
  const inOld = restrictFilter(filterFor(classForFolderType(folder.type), state.options.filterType, new Date(state.windowAt ?? nowMs)), visible);
  const held: string[] = [];
  for await (const item of mailbox.scan(folder.id)) {
    if (item.createdModseq <= state.modseq && (!inOld || inOld(item.data))) held.push(item.id);
  }
  // The device's own writes the feed had not passed yet are on it too (its deletes are not).
  for (const [id, seq] of Object.entries(state.own ?? {})) if (seq >= 0) held.push(id);
  await deviceState.holdItems(mailbox.userId, deviceId, folder.id, held);
  return { ...state, heldKept: true, rescanTo: state.modseq, modseq: 0 };
}

/** A device's view of a collection at its sync key, as the next Sync would see it. */
export interface DeviceView {
  state: CollectionState;
  plan: FeedPlan;
  filter: ItemFilter | undefined;
  held: HeldView;
  own: ReadonlyMap<string, number>;
}

/**
 * The view behind `syncKey`'s state for a Sync (or estimate) asking for `filterType` now. Also
 * records a legacy state's holdings (adoptLegacyState).
 */
export async function deviceView(
  mailbox: Mailbox,
  deviceState: DeviceStateStore,
  deviceId: string,
  folder: Folder,
  syncKey: string,
  saved: CollectionState,
  filterType: number | undefined,
  visible: ItemFilter | undefined,
  nowMs: number,
): Promise<DeviceView> {
  const state = await adoptLegacyState(mailbox, deviceState, deviceId, folder, saved, visible, nowMs);
  const plan = planFeed({ ...state, filterType: state.options.filterType }, filterType, nowMs);
  const filter = restrictFilter(filterFor(classForFolderType(folder.type), filterType, new Date(nowMs)), visible);
  const held = new HeldView(deviceState, mailbox.userId, deviceId, folder.id, keyGeneration(syncKey));
  return { state, plan, filter, held, own: new Map(Object.entries(state.own ?? {})) };
}

/**
 * Whether the device's next Sync of the folder would send it anything (Ping, MS-ASCMD 2.2.1.13:
 * only a change the device would be sent wakes it). Judged from its latest state; a folder it
 * has never synced has news whenever it has changed at all.
 */
export async function hasNews(mailbox: Mailbox, deviceState: DeviceStateStore, deviceId: string, folder: Folder, visible: ItemFilter | undefined, nowMs = Date.now()): Promise<boolean> {
  const states = await deviceState.listSyncStates(mailbox.userId, deviceId, folder.id);
  if (states.length === 0) return folder.modseq > 0;
  const latest = states.reduce((a, b) => (keyGeneration(b.syncKey) > keyGeneration(a.syncKey) ? b : a));
  const saved = readState(latest.data);
  const v = await deviceView(mailbox, deviceState, deviceId, folder, latest.syncKey, saved, saved.options.filterType, visible, nowMs);
  return (await countChanges(mailbox, folder, v.plan, v.filter, v.held, v.own, 1)) > 0;
}
