/**
 * Thunderbird's own stores, read and written from chrome-context Marionette scripts the way its
 * address book and calendar UI do (nsIAbDirectory.addCard, calICalendar.addItem): what TbSync
 * synced in is what the user sees, and an item made here is a user's edit that TbSync must send.
 */
import type { Marionette } from './marionette.ts';

export interface TbCard {
  firstName: string;
  lastName: string;
  displayName: string;
  email: string;
}

const AB = 'const { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");';
const CAL = 'const { cal } = ChromeUtils.importESModule("resource:///modules/calendar/calUtils.sys.mjs");';

/** The cards of the address book with UID `bookId` (TbSync's folder targetID). */
export function tbCards(m: Marionette, bookId: string): Promise<TbCard[]> {
  return m.execute<TbCard[]>(
    `${AB}
    const book = MailServices.ab.directories.find((d) => d.UID === arguments[0]);
    if (!book) throw new Error("no address book " + arguments[0]);
    return book.childCards.filter((c) => !c.isMailList).map((c) => ({ firstName: c.firstName, lastName: c.lastName, displayName: c.displayName, email: c.primaryEmail ?? "" }));`,
    [bookId],
  );
}

/** Adds a card to the address book, as the contact editor's Save does. */
export async function tbAddCard(m: Marionette, bookId: string, c: TbCard): Promise<void> {
  await m.execute(
    `${AB}
    const [id, c] = arguments;
    const book = MailServices.ab.directories.find((d) => d.UID === id);
    const card = Cc["@mozilla.org/addressbook/cardproperty;1"].createInstance(Ci.nsIAbCard);
    card.firstName = c.firstName;
    card.lastName = c.lastName;
    card.displayName = c.displayName;
    card.primaryEmail = c.email;
    book.addCard(card);`,
    [bookId, c],
  );
}

/** An item of a Thunderbird calendar as the calendar views show it. */
export interface TbCalendarItem {
  /** The item as iCalendar text (RFC 5545), for failure messages and the RRULE. */
  ical: string;
  title: string;
  /** DTSTART / DTEND (events) or DUE (tasks): `YYYYMMDD` for a date (all-day), else UTC `YYYYMMDDTHHMMSSZ`. */
  start: string | null;
  end: string | null;
  due: string | null;
  /** For a series, the start of every occurrence Thunderbird shows (same forms as `start`). */
  occurrences: string[];
}

/**
 * Every item (events or tasks) of the calendar `calendarId`. A provider calendar's items live in
 * its offline storage (getItems reads it); the filter asks for both types and completed tasks
 * too (calICalendar ITEM_FILTER_*), and occurrences are expanded by the item's recurrenceInfo, the
 * way the calendar views expand a series (RFC 5545 3.8.5).
 */
export function tbCalendarItems(m: Marionette, calendarId: string): Promise<TbCalendarItem[]> {
  return m.execute<TbCalendarItem[]>(
    `${CAL}
    const calendar = cal.manager.getCalendarById(arguments[0]);
    if (!calendar) throw new Error("no calendar " + arguments[0]);
    const show = (d) => (d ? (d.isDate ? d.icalString : d.getInTimezone(cal.dtz.UTC).icalString) : null);
    const filter = Ci.calICalendar.ITEM_FILTER_TYPE_ALL | Ci.calICalendar.ITEM_FILTER_COMPLETED_ALL;
    return (async () => (await calendar.getItemsAsArray(filter, 0, null, null)).map((i) => {
      const isEvent = i.isEvent();
      const start = isEvent ? i.startDate : i.entryDate;
      let occurrences = [];
      if (i.recurrenceInfo && start) {
        const from = start.clone();
        from.year -= 1;
        const to = start.clone();
        to.year += 2;
        occurrences = i.recurrenceInfo.getOccurrenceDates(from, to, 0).map(show);
      }
      return { ical: i.icalString, title: i.title, start: show(start), end: show(isEvent ? i.endDate : null), due: show(isEvent ? null : i.dueDate), occurrences };
    }))();`,
    [calendarId],
  );
}

/** Adds a VEVENT or VTODO (iCalendar text) to the calendar, as the event dialog's Save does. */
export async function tbAddCalendarItem(m: Marionette, calendarId: string, ics: string): Promise<void> {
  await m.execute(
    `${CAL}
    const [id, ics] = arguments;
    const calendar = cal.manager.getCalendarById(id);
    const isTodo = ics.includes("BEGIN:VTODO");
    const { CalEvent } = ChromeUtils.importESModule("resource:///modules/CalEvent.sys.mjs");
    const { CalTodo } = ChromeUtils.importESModule("resource:///modules/CalTodo.sys.mjs");
    const item = isTodo ? new CalTodo() : new CalEvent();
    item.icalString = ics;
    return (async () => { await calendar.addItem(item); return true; })();`,
    [calendarId, ics],
  );
}

/** The script part that finds the item titled `title` in the calendar `id` (both from `arguments`). */
const FIND_ITEM = `${CAL}
    const calendar = cal.manager.getCalendarById(arguments[0]);
    const filter = Ci.calICalendar.ITEM_FILTER_TYPE_ALL | Ci.calICalendar.ITEM_FILTER_COMPLETED_ALL;
    const findItem = async () => {
      const found = (await calendar.getItemsAsArray(filter, 0, null, null)).find((i) => i.title === arguments[1]);
      if (!found) throw new Error("no item " + arguments[1]);
      return found;
    };`;

/**
 * Deletes one occurrence of a series, as "Delete only this occurrence" does: the occurrence the
 * views show at `startUtc` (`YYYYMMDDTHHMMSSZ`) is removed by its RECURRENCE-ID, which adds an
 * EXDATE (RFC 5545 3.8.5.1), and the series is saved with modifyItem.
 */
export async function tbCancelOccurrence(m: Marionette, calendarId: string, title: string, startUtc: string): Promise<void> {
  await m.execute(
    `${FIND_ITEM}
    return (async () => {
      const old = await findItem();
      const at = cal.createDateTime(arguments[2]);
      const from = at.clone();
      from.day -= 1;
      const to = at.clone();
      to.day += 1;
      const occurrence = old.recurrenceInfo.getOccurrences(from, to, 0).find((o) => o.recurrenceId.compare(at) === 0);
      if (!occurrence) throw new Error("no occurrence at " + arguments[2]);
      const item = old.clone();
      item.recurrenceInfo.removeOccurrenceAt(occurrence.recurrenceId);
      await calendar.modifyItem(item, old);
      return true;
    })();`,
    [calendarId, title, startUtc],
  );
}

/** Ticks a task done, as the task list's check box does (calITodo.isCompleted: 100 %, COMPLETED). */
export async function tbCompleteTask(m: Marionette, calendarId: string, title: string): Promise<void> {
  await m.execute(
    `${FIND_ITEM}
    return (async () => {
      const old = await findItem();
      const item = old.clone();
      item.isCompleted = true;
      await calendar.modifyItem(item, old);
      return true;
    })();`,
    [calendarId, title],
  );
}

/**
 * Moves one occurrence of a series, as editing "only this occurrence" in the event dialog does:
 * the occurrence at `startUtc` becomes an exception (RFC 5545 3.8.4.4 RECURRENCE-ID) with the new
 * start and end, and the series is saved with modifyItem.
 */
export async function tbMoveOccurrence(m: Marionette, calendarId: string, title: string, startUtc: string, to: { start: string; end: string }): Promise<void> {
  await m.execute(
    `${FIND_ITEM}
    return (async () => {
      const old = await findItem();
      const parent = old.clone();
      const occurrence = parent.recurrenceInfo.getOccurrenceFor(cal.createDateTime(arguments[2]));
      if (!occurrence) throw new Error("no occurrence at " + arguments[2]);
      const moved = occurrence.clone();
      moved.startDate = cal.createDateTime(arguments[3].start);
      moved.endDate = cal.createDateTime(arguments[3].end);
      parent.recurrenceInfo.modifyException(moved, true);
      await calendar.modifyItem(parent, old);
      return true;
    })();`,
    [calendarId, title, startUtc, to],
  );
}
