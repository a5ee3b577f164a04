/**
 * The reference model of the sync model test: what one user's mailbox holds, written from the
 * protocol (MS-ASCMD) and never from server code. It knows every item of the user by a model tag
 * ("#k12", carried in the item's subject or FileAs), its folder, its ServerId, the fields a device
 * shows (Subject and Read for mail, FileAs and FirstName for contacts, Subject for calendar
 * items, Subject and Complete for tasks) and what its FilterType window depends on (the date of
 * mail and events, a task's completion). From that it says what a device that has synced a
 * folder to the end must hold (invariant 3).
 */
import type { ItemClass, JsonObject } from '../../../src/store/types.ts';

/** The folders the model syncs (default folders, by FolderSync Type, MS-ASCMD 2.2.3.186.3). */
export const FOLDERS = ['inbox', 'trash', 'contacts', 'calendar', 'tasks'] as const;
export type FolderKind = (typeof FOLDERS)[number];
export const FOLDER_TYPE: Record<FolderKind, number> = { inbox: 2, trash: 4, contacts: 9, calendar: 8, tasks: 7 };
/** The class of each folder's items as a device syncs it (Deleted Items is a mail folder). */
export const FOLDER_CLASS: Record<FolderKind, ItemClass> = { inbox: 'Email', trash: 'Email', contacts: 'Contacts', calendar: 'Calendar', tasks: 'Tasks' };
/** The folder an item of a class lives in when not deleted. */
export const HOME: Partial<Record<ItemClass, FolderKind>> = { Email: 'inbox', Contacts: 'contacts', Calendar: 'calendar', Tasks: 'tasks' };
/** FilterTypes a device may choose per folder (MS-ASCMD 2.2.3.68.2): time windows for mail and calendar, 8 for tasks. */
export const FILTERS: Record<FolderKind, readonly number[]> = { inbox: [0, 1, 2, 3, 4, 5], trash: [0, 1, 2, 3, 5], contacts: [0], calendar: [0, 4, 5, 6, 7], tasks: [0, 8] };

export const DAY = 86_400_000;
/**
 * Ages (in days before the run's start) of generated mail and event dates: never a whole number
 * of days, plus 7 minutes, so no date ever sits on a window's edge however many whole days pass.
 * Negative ages are events in the future.
 */
export const AGES = [-3.5, 0.3, 1.5, 2.5, 4.5, 6.5, 10.5, 20.5, 45.5, 100.5, 200.5];
export const ageToDate = (t0: number, ageIndex: number) => t0 - (AGES[ageIndex % AGES.length]! * DAY + 7 * 60_000);

/** The fields a device shows of an item, by element name ("Subject", "Read" as "0"/"1", ...). */
export type Fields = Record<string, string>;

export interface ModelItem {
  tag: string;
  cls: ItemClass;
  folder: FolderKind;
  /** Undefined until known (a device's Delete moved it to Deleted Items under a new ServerId). */
  serverId?: string;
  fields: Fields;
  /** Mail: DateReceived; calendar: EndTime (epoch ms). */
  date?: number;
  complete?: boolean;
  /** The device this quarantine notice is about. */
  noticeFor?: string;
}

/** The start of a FilterType window (MS-ASCMD 2.2.3.68.2): N days, or N calendar months (UTC, day clamped), back from now. */
export function windowStart(filterType: number, now: number): number | undefined {
  const days: Record<number, number> = { 1: 1, 2: 3, 3: 7, 4: 14 };
  if (days[filterType] !== undefined) return now - days[filterType]! * DAY;
  const months: Record<number, number> = { 5: 1, 6: 3, 7: 6 };
  const n = months[filterType];
  if (n === undefined) return undefined;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() - n;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** Whether an item is inside a folder's FilterType window at `now`. */
export function inWindow(item: ModelItem, folder: FolderKind, filterType: number, now: number): boolean {
  if (filterType === 0) return true;
  const cls = FOLDER_CLASS[folder];
  if (cls === 'Tasks') return filterType === 8 ? item.complete !== true : true;
  if (cls !== 'Email' && cls !== 'Calendar') return true;
  const start = windowStart(filterType, now);
  if (start === undefined) return true;
  // A mail folder places mail by DateReceived; anything else in it (a contact in Deleted Items) has none and stays in.
  const date = cls === 'Email' && item.cls !== 'Email' ? undefined : item.date;
  return date === undefined || date >= start;
}

/** Whether a device compares the fields of this item in this folder (Deleted Items shows other classes through the mail class). */
export const fieldsCompared = (item: ModelItem, folder: FolderKind) => item.cls === FOLDER_CLASS[folder];

export const tagOf = (text: string | undefined): string | undefined => (text ? /#(k\d+)\b/.exec(text)?.[1] : undefined);
/** The model tag of stored data (subject, or a contact's FileAs). */
export const tagOfData = (data: JsonObject): string | undefined =>
  tagOf(typeof data.subject === 'string' ? data.subject : undefined) ?? tagOf(typeof data.fileAs === 'string' ? data.fileAs : undefined);

export class Model {
  /** Live items of the user, in the order they came to be. */
  items: ModelItem[] = [];
  /** Every ServerId the user's items ever had (invariant 6: a device holds nothing else). */
  readonly everServerIds = new Set<string>();
  private next = 0;
  private version = 0;

  constructor(
    public now: number,
    readonly t0 = now,
  ) {}

  newTag(): string {
    return `k${++this.next}`;
  }
  /** A value never used before, for renames. */
  newVersion(): string {
    return `v${++this.version}`;
  }

  add(item: ModelItem): ModelItem {
    this.items.push(item);
    if (item.serverId) this.everServerIds.add(item.serverId);
    return item;
  }

  setServerId(item: ModelItem, serverId: string): void {
    item.serverId = serverId;
    this.everServerIds.add(serverId);
  }

  remove(item: ModelItem): void {
    this.items = this.items.filter((i) => i !== item);
  }

  byServerId(serverId: string): ModelItem | undefined {
    return this.items.find((i) => i.serverId === serverId);
  }

  in(folder: FolderKind): ModelItem[] {
    return this.items.filter((i) => i.folder === folder);
  }

  /** Moves an item to another folder: a new ServerId there (unknown until given). */
  move(item: ModelItem, to: FolderKind, newServerId?: string): void {
    item.folder = to;
    item.serverId = undefined;
    if (newServerId) this.setServerId(item, newServerId);
  }

  /** What a device that synced `folder` to the end with `filterType` must hold: ServerId -> fields. */
  expected(folder: FolderKind, filterType: number): Map<string, ModelItem> {
    const out = new Map<string, ModelItem>();
    for (const i of this.in(folder)) if (inWindow(i, folder, filterType, this.now) && i.serverId) out.set(i.serverId, i);
    return out;
  }

  /** Items whose ServerId is not known yet (moved by a device's Delete). */
  unresolved(): ModelItem[] {
    return this.items.filter((i) => !i.serverId);
  }
}

/** Stored data and the model item for a server-side delivery of a class (tagged, dated). */
export function newItemData(model: Model, cls: ItemClass, ageIndex: number, extra: { read?: boolean; complete?: boolean } = {}): { data: JsonObject; item: ModelItem } {
  const tag = model.newTag();
  const v = model.newVersion();
  const date = ageToDate(model.now, ageIndex);
  const folder = HOME[cls]!;
  switch (cls) {
    case 'Email': {
      const subject = `Mail #${tag} ${v}`;
      const read = extra.read ?? false;
      return {
        data: { subject, from: 'Carol <carol@example.org>', to: 'model@example.com', dateReceived: new Date(date).toISOString(), read, body: { text: `body of ${tag}` } },
        item: { tag, cls, folder, fields: { Subject: subject, Read: read ? '1' : '0' }, date },
      };
    }
    case 'Contacts': {
      const fileAs = `Contact #${tag} ${v}`;
      const firstName = `F${tag}${v}`;
      return { data: { fileAs, firstName, lastName: 'Model' }, item: { tag, cls, folder, fields: { FileAs: fileAs, FirstName: firstName } } };
    }
    case 'Calendar': {
      const subject = `Event #${tag} ${v}`;
      return {
        data: { subject, startTime: new Date(date - 3600_000).toISOString(), endTime: new Date(date).toISOString(), uid: `uid-${tag}-${model.t0}` },
        item: { tag, cls, folder, fields: { Subject: subject }, date },
      };
    }
    case 'Tasks': {
      const subject = `Task #${tag} ${v}`;
      const complete = extra.complete ?? false;
      return {
        data: { subject, complete, ...(complete ? { dateCompleted: new Date(model.now).toISOString() } : {}) },
        item: { tag, cls, folder, fields: { Subject: subject, Complete: complete ? '1' : '0' }, complete },
      };
    }
    default:
      throw new Error(`no generated items of class ${cls}`);
  }
}
