/**
 * The data classes: one converter per class between the EAS element tree and stored item data,
 * the class a folder holds, and the FilterType window test.
 */
import type { ItemClass, JsonObject } from '../ports/types.ts';
import { calendarConverter } from './calendar.ts';
import { contactsConverter } from './contacts.ts';
import { emailConverter } from './email.ts';
import { notesConverter } from './notes.ts';
import { tasksConverter } from './tasks.ts';
import type { ItemConverter } from './types.ts';

export { ConversionError, type BodyPreference, type ConvertContext, type ItemConverter } from './types.ts';
export { type StoredBody } from './body.ts';
export { calendarConverter, contactsConverter, emailConverter, notesConverter, tasksConverter };

const CONVERTERS: Record<ItemClass, ItemConverter> = {
  Email: emailConverter,
  Calendar: calendarConverter,
  Contacts: contactsConverter,
  Tasks: tasksConverter,
  Notes: notesConverter,
};

export function converterFor(itemClass: ItemClass): ItemConverter {
  return CONVERTERS[itemClass];
}

/**
 * The class of the items a folder of this FolderSync Type holds (MS-ASCMD 2.2.3.186.3):
 *
 *   1 user-created generic, 2 Inbox, 3 Drafts, 4 Deleted Items, 5 Sent Items, 6 Outbox,
 *   12 user-created mail                                  -> Email
 *   7 Tasks, 15 user-created tasks                       -> Tasks
 *   8 Calendar, 13 user-created calendar                 -> Calendar
 *   9 Contacts, 14 user-created contacts, 19 Recipient information cache -> Contacts
 *   10 Notes, 17 user-created notes                      -> Notes
 *   11 Journal, 16 user-created journal, 18 unknown      -> Email
 *
 * EAS has no Journal class: journal folders are announced with their types, and whatever items
 * they hold are carried as Email (the generic IPM item, as for type 1 and 18), so a client that
 * syncs them sees read-only mail-like items rather than an error. The recipient information cache
 * holds contacts (MS-ASCMD 2.2.3.186.3, 14.0+). Any other number is a programming error
 * (RangeError).
 */
export function classForFolderType(folderType: number): ItemClass {
  switch (folderType) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 11:
    case 12:
    case 16:
    case 18:
      return 'Email';
    case 7:
    case 15:
      return 'Tasks';
    case 8:
    case 13:
      return 'Calendar';
    case 9:
    case 14:
    case 19:
      return 'Contacts';
    case 10:
    case 17:
      return 'Notes';
    default:
      throw new RangeError(`unknown FolderSync folder type ${folderType}`);
  }
}

const DAY = 24 * 60 * 60_000;

/**
 * Start of the FilterType time window (MS-ASCMD 2.2.3.68.2: "determined by subtracting the
 * [window] from the current date and time"): 1 one day, 2 three days, 3 one week, 4 two weeks,
 * 5 one month, 6 three months, 7 six months (calendar months, UTC, the day clamped to the
 * month). Undefined for 0 (no filter), 8 (incomplete tasks, not a time window) and anything else.
 */
export function filterWindowStart(filterType: number, now: Date): Date | undefined {
  const t = now.getTime();
  // Calendar months back, the day clamped to the target month's length (Mar 31 - 1 month = Feb 28).
  const monthsBack = (n: number) => {
    const d = new Date(t);
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() - n);
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, last));
    return d;
  };
  switch (filterType) {
    case 1:
      return new Date(t - DAY);
    case 2:
      return new Date(t - 3 * DAY);
    case 3:
      return new Date(t - 7 * DAY);
    case 4:
      return new Date(t - 14 * DAY);
    case 5:
      return monthsBack(1);
    case 6:
      return monthsBack(3);
    case 7:
      return monthsBack(6);
    default:
      return undefined;
  }
}

/**
 * Whether an item is inside a collection's FilterType (MS-ASCMD 2.2.3.68.2):
 * - 0: everything.
 * - Email and Calendar, 1..7: the item's `filterTime` (DateReceived; a calendar item's end) is at
 *   or after the window start; an item without one (an endless series) is always inside. The spec
 *   lists 1-5 for mail and 4-7 for calendar; a window it does not list for the class is still
 *   read as the window it names (clients send one setting to every folder).
 * - Tasks, 8: incomplete tasks only.
 * - Anything else (Contacts and Notes, 8 on mail or calendar, 1..7 on tasks) does not filter.
 */
export function withinFilter(itemClass: ItemClass, data: JsonObject, filterType: number, now: Date): boolean {
  if (filterType === 0) return true;
  if (itemClass === 'Tasks') return filterType === 8 ? data['complete'] !== true : true;
  if (itemClass !== 'Email' && itemClass !== 'Calendar') return true;
  const start = filterWindowStart(filterType, now);
  if (!start) return true;
  const t = converterFor(itemClass).filterTime?.(data);
  return t === undefined || t >= start;
}
