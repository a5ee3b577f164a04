/**
 * A real client: Thunderbird (Debian's package) with the TbSync and EAS-4-TbSync add-ons, driven
 * headless over Marionette (test/helpers/thunderbird*.ts), against easd on loopback. The account
 * is set up as a user does (TbSync manager, "Custom EAS server" in EAS-4-TbSync's setup window,
 * Connect, the three folders ticked, Synchronize), so every request is the add-on's own; it picks
 * EAS 16.1, the newest both speak.
 * Made on a phone (the device simulator) -> seen in Thunderbird: a contact, a weekly series with
 * one occurrence deleted, a 3-day all-day event and a task, with their times, the missing
 * occurrence, the all-day dates and the due day as Thunderbird's calendar shows them.
 * Made in Thunderbird (its address book and calendar APIs, as its dialogs save) -> stored by easd
 * and seen by a second phone: a contact, a daily series with one day removed, a 2-day all-day
 * event and a task with a due time; descriptions and locations go both ways too.
 * Edits of the other side's items: an occurrence deleted and one moved in Thunderbird and a task
 * ticked done reach the phone as Changes of the same items; an occurrence deleted on the phone is
 * gone from Thunderbird's calendar.
 * Everything is polled with deadlines (a loaded machine is slow, and TbSync may pick up an edit
 * only at its next sync); about 30 s on an idle machine.
 * Skipped, with the reason, where scripts/ensure-thunderbird.sh cannot install Thunderbird.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer } from '../helpers/server.ts';
import { startThunderbird, thunderbirdUnavailable } from '../helpers/thunderbird.ts';
import { addEasAccount, connectAccount, openTbSyncManager, selectFolders, syncAccount, tbsyncFolders, tbsyncState } from '../helpers/thunderbird-tbsync.ts';
import { addDays, berlinTime, compact, icalDate, mondayAfter } from '../helpers/thunderbird-dates.ts';
import { tbAddCalendarItem, tbAddCard, tbCalendarItems, tbCancelOccurrence, tbCards, tbCompleteTask, tbMoveOccurrence } from '../helpers/thunderbird-items.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { contactData, Device, type DeviceItem } from './device.ts';
import { provision } from './provision-client.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const C = 'Calendar';
const T = 'Tasks';
const cal = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(C, name, ...kids);
const add = (clientId: string, appData: WbxmlElement) => el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), appData);
/** `20260302T080000Z` -> `2026-03-02T08:00:00Z`. */
const eas2iso = (v: string) => v.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
const isoDay = (ms: number) => `${new Date(ms).toISOString().slice(0, 10)}T00:00:00.000Z`;

// Everything lies a few weeks ahead, inside TbSync's calendar window whatever today is.
const BASE = mondayAfter(21);
/** The phone's weekly series: six Mondays 09:00-10:00 Berlin time, the second one cancelled. */
const WEEKLY = { start: berlinTime(BASE, 9), end: berlinTime(BASE, 10), cancelled: berlinTime(addDays(BASE, 7), 9) };
/** The phone's all-day event: Wednesday to Friday, three whole days in Berlin. */
const CONFERENCE = { first: addDays(BASE, 2), after: addDays(BASE, 5) };
/** The phone's task, due on a day (MS-ASTASK 2.2.2.8 DueDate is local time, 2.2.2.27 UtcDueDate the instant). */
const REPORT_DUE = addDays(BASE, 10);

/** A weekly series (MS-ASCAL 2.2.2.37 Recurrence) of 6, the second occurrence deleted (2.2.2.20 Exception, Deleted). */
const weekly = el(
  'AirSync',
  'ApplicationData',
  cal('Timezone', berlinBlob()),
  cal('AllDayEvent', '0'),
  el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', '1'), el('AirSyncBase', 'Data', 'Agenda: the numbers')),
  cal('BusyStatus', '2'),
  cal('DtStamp', compact(new Date())),
  cal('EndTime', compact(WEEKLY.end)),
  cal('Location', 'Room 4'),
  cal('Sensitivity', '0'),
  cal('Subject', 'Weekly review'),
  cal('StartTime', compact(WEEKLY.start)),
  cal('UID', 'easd-tb-weekly-1'),
  cal('MeetingStatus', '0'),
  cal('Recurrence', cal('Type', '1'), cal('Occurrences', '6'), cal('Interval', '1'), cal('DayOfWeek', '2')),
  cal('Exceptions', cal('Exception', cal('Deleted', '1'), cal('ExceptionStartTime', compact(WEEKLY.cancelled)))),
);

/** A 3-day all-day event in Berlin: midnight to midnight local time (MS-ASCAL 2.2.2.2 AllDayEvent). */
const conference = el(
  'AirSync',
  'ApplicationData',
  cal('Timezone', berlinBlob()),
  cal('AllDayEvent', '1'),
  cal('BusyStatus', '2'),
  cal('DtStamp', compact(new Date())),
  cal('EndTime', compact(berlinTime(CONFERENCE.after, 0))),
  cal('Subject', 'Conference'),
  cal('StartTime', compact(berlinTime(CONFERENCE.first, 0))),
  cal('UID', 'easd-tb-allday-1'),
  cal('MeetingStatus', '0'),
);

const task = el(
  'AirSync',
  'ApplicationData',
  el(T, 'Subject', 'File the report'),
  el(T, 'UtcDueDate', berlinTime(REPORT_DUE, 0).toISOString()),
  el(T, 'DueDate', isoDay(REPORT_DUE)),
  el(T, 'Complete', '0'),
);

/** What Thunderbird's dialogs save (RFC 5545), in the user's zone: a daily series of 5 at 08:00 Berlin time with its third day removed (EXDATE), */
const STANDUP_DAY = (n: number) => addDays(BASE, 28 + n);
const STANDUP = { start: berlinTime(STANDUP_DAY(0), 8), cancelled: berlinTime(STANDUP_DAY(2), 8) };
const standupIcs = [
  'BEGIN:VEVENT',
  'UID:tb-standup-1@example.com',
  `DTSTAMP:${compact(new Date())}`,
  'SUMMARY:Stand-up',
  'DESCRIPTION:Yesterday\\, today',
  'LOCATION:Kitchen',
  `DTSTART;TZID=Europe/Berlin:${icalDate(STANDUP_DAY(0))}T080000`,
  `DTEND;TZID=Europe/Berlin:${icalDate(STANDUP_DAY(0))}T081500`,
  'RRULE:FREQ=DAILY;COUNT=5',
  `EXDATE;TZID=Europe/Berlin:${icalDate(STANDUP_DAY(2))}T080000`,
  'END:VEVENT',
].join('\r\n');
/** a two-day all-day event (DATE values, RFC 5545 3.6.1: DTEND is the day after), */
const HOLIDAY = { first: addDays(BASE, 35), after: addDays(BASE, 37) };
const holidayIcs = ['BEGIN:VEVENT', 'UID:tb-holiday-1@example.com', `DTSTAMP:${compact(new Date())}`, 'SUMMARY:Holiday', `DTSTART;VALUE=DATE:${icalDate(HOLIDAY.first)}`, `DTEND;VALUE=DATE:${icalDate(HOLIDAY.after)}`, 'TRANSP:TRANSPARENT', 'END:VEVENT'].join('\r\n');
/** and a task with a due time. */
const FILM_DUE = new Date(addDays(BASE, 40) + 10 * 3_600_000);
const filmIcs = ['BEGIN:VTODO', 'UID:tb-todo-1@example.com', `DTSTAMP:${compact(new Date())}`, 'SUMMARY:Buy film', `DUE:${compact(FILM_DUE)}`, 'END:VTODO'].join('\r\n');

const SECOND = 1000;

/** The ExceptionStartTime of each Deleted exception of a series (MS-ASCAL 2.2.2.20, 2.2.2.21). */
function deletedExceptions(appData: WbxmlElement): string[] {
  const list = child(appData, 'Exceptions', C);
  return (list ? children(list, 'Exception', C) : []).filter((e) => childText(e, 'Deleted', C) === '1').map((e) => childText(e, 'ExceptionStartTime', C) ?? '');
}

/** [ExceptionStartTime, StartTime, EndTime] of each exception that moves an occurrence. */
function movedOccurrences(appData: WbxmlElement): string[][] {
  const list = child(appData, 'Exceptions', C);
  return (list ? children(list, 'Exception', C) : [])
    .filter((e) => childText(e, 'Deleted', C) !== '1')
    .map((e) => ['ExceptionStartTime', 'StartTime', 'EndTime'].map((n) => childText(e, n, C) ?? ''));
}

/** Runs `step` until it returns true; a slow machine gets until the deadline, then `what` fails. */
async function until(what: string, deadline: number, step: () => Promise<boolean>): Promise<void> {
  while (!(await step())) {
    if (Date.now() > deadline) assert.fail(`${what}: not by the deadline`);
    await new Promise((r) => setTimeout(r, SECOND));
  }
}

test('Thunderbird with TbSync / EAS-4-TbSync: contacts, a series with a deleted occurrence, an all-day event and tasks, both ways', { timeout: 15 * 60 * SECOND }, async (t) => {
  const why = thunderbirdUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  // The production default: the built-in policy requires provisioning, so TbSync provisions as it
  // would against Exchange (and the simulated phones do too).
  const server = await startTestServer({ users: [ALICE], logLevel: 'warn', runtimeConfig: { requireProvisioning: true }, services: () => ({ outbound: undefined }) });
  const tb = await startThunderbird().catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  // Generous deadlines: a loaded 2-core machine runs Thunderbird slowly; each wait polls.
  const deadline = () => Date.now() + 180 * SECOND;
  try {
    // The phone's side, made before Thunderbird's first sync.
    const phone = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: 'TBPHONE1', deviceType: 'TestPhone', version: '14.1' });
    assert.equal((await provision(phone.client)).status, 1);
    assert.equal((await phone.folderSync()).status, 1);
    const ids = { contacts: phone.folderByType(9).serverId, calendar: phone.folderByType(8).serverId, tasks: phone.folderByType(7).serverId };
    for (const id of Object.values(ids)) await phone.initialSync(id);
    await phone.sync(ids.contacts, { commands: [add('c1', contactData('Dana', 'Scully', 'dana@example.com'))] });
    await phone.sync(ids.calendar, { commands: [add('e1', weekly), add('e2', conference)] });
    await phone.sync(ids.tasks, { commands: [add('t1', task)] });

    const m = tb.marionette;
    await openTbSyncManager(m, deadline());
    const accountId = await addEasAccount(m, { label: 'easd', server: server.url, user: ALICE.email, password: ALICE.password }, deadline());
    await connectAccount(m, accountId, deadline());
    const account = (await tbsyncState(m)).accounts.find((a) => a.accountId === accountId);
    assert.equal(account?.custom['asversion'], '16.1', 'TbSync speaks EAS 16.1 with easd (EAS-4-TbSync modules/eas/connect.mjs: the newest both list)');
    await selectFolders(m, accountId, ['contacts', 'calendars', 'tasks']);
    await syncAccount(m, accountId, deadline());
    const folders = await tbsyncFolders(m, accountId);
    const target = (type: string) => {
      const f = folders.find((x) => x.targetType === type && x.selected);
      assert.ok(f?.targetID, `TbSync made a ${type} resource`);
      return f.targetID;
    };
    const book = target('contacts');
    const calendar = target('calendars');
    const todo = target('tasks');

    // easd -> Thunderbird.
    const cards = await tbCards(m, book);
    assert.ok(cards.some((c) => c.firstName === 'Dana' && c.lastName === 'Scully' && c.email === 'dana@example.com'), JSON.stringify(cards));
    const events = await tbCalendarItems(m, calendar);
    const dump = () => events.map((e) => e.ical).join('\n');
    const series = events.find((e) => e.title === 'Weekly review');
    assert.ok(series, `the series is in Thunderbird: ${dump()}`);
    assert.match(series.ical, /RRULE:FREQ=WEEKLY;COUNT=6/, series.ical);
    assert.equal(series.start, compact(WEEKLY.start), 'first occurrence: Monday 09:00 Berlin');
    assert.match(series.ical, /^DESCRIPTION:Agenda: the numbers\r$/m, 'the body is the description');
    assert.match(series.ical, /^LOCATION:Room 4\r$/m);
    assert.deepEqual(
      series.occurrences,
      [0, 2, 3, 4, 5].map((w) => compact(berlinTime(addDays(BASE, 7 * w), 9))),
      `five Mondays at 09:00 Berlin, the cancelled one missing: ${series.ical}`,
    );
    const allDay = events.find((e) => e.title === 'Conference');
    assert.ok(allDay, `the all-day event is in Thunderbird: ${dump()}`);
    assert.deepEqual([allDay.start, allDay.end], [icalDate(CONFERENCE.first), icalDate(CONFERENCE.after)], `an all-day event, Wednesday to Friday: ${allDay.ical}`);
    const tasks = await tbCalendarItems(m, todo);
    const report = tasks.find((x) => x.title === 'File the report');
    assert.ok(report, `the task is in Thunderbird: ${tasks.map((x) => x.ical).join('\n')}`);
    assert.equal(report.due, compact(berlinTime(REPORT_DUE, 0)), `due at the start of its day in Berlin (UtcDueDate): ${report.ical}`);

    // Thunderbird -> easd.
    await tbAddCard(m, book, { firstName: 'Fox', lastName: 'Mulder', displayName: 'Fox Mulder', email: 'fox@example.com' });
    await tbAddCalendarItem(m, calendar, standupIcs);
    await tbAddCalendarItem(m, calendar, holidayIcs);
    await tbAddCalendarItem(m, todo, filmIcs);
    // TbSync records a user's edit from Thunderbird's listeners; should one land after the sync
    // started, the next sync sends it: sync and look from a second phone until all four are there.
    const check = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: 'TBCHECK1', deviceType: 'TestPhone', version: '14.1' });
    assert.equal((await provision(check.client)).status, 1);
    assert.equal((await check.folderSync()).status, 1);
    const plainBody = { options: [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', '1'))] };
    const onEasd = async () => ({ contacts: await check.initialSync(ids.contacts), items: await check.initialSync(ids.calendar, plainBody), todos: await check.initialSync(ids.tasks) });
    const arrived = (e: Awaited<ReturnType<typeof onEasd>>) =>
      e.contacts.some((x) => childText(x.appData, 'FirstName', 'Contacts') === 'Fox') &&
      ['Stand-up', 'Holiday'].every((s) => e.items.some((x) => childText(x.appData, 'Subject', C) === s)) &&
      e.todos.some((x) => childText(x.appData, 'Subject', T) === 'Buy film');
    const pushDeadline = deadline();
    let seen: Awaited<ReturnType<typeof onEasd>>;
    for (;;) {
      await syncAccount(m, accountId, pushDeadline);
      seen = await onEasd();
      if (arrived(seen) || Date.now() > pushDeadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const { contacts, items, todos } = seen;
    assert.ok(
      contacts.some((x) => childText(x.appData, 'FirstName', 'Contacts') === 'Fox' && childText(x.appData, 'LastName', 'Contacts') === 'Mulder' && childText(x.appData, 'Email1Address', 'Contacts')?.includes('fox@example.com')),
      'the contact made in Thunderbird is on easd',
    );
    const standup = items.find((x) => childText(x.appData, 'Subject', C) === 'Stand-up');
    assert.ok(standup, 'the series made in Thunderbird is on easd');
    assert.equal(childText(standup.appData, 'StartTime', C), compact(STANDUP.start), 'the series starts at 08:00 Berlin time');
    // Made in Berlin time, as Thunderbird's dialog makes it: the blob EAS-4-TbSync builds is
    // Berlin's (MS-ASDTYPE 2.7.1: Bias -60, DaylightBias -60, standard time from October
    // (StandardDate.wMonth, byte 70), daylight time from March (DaylightDate.wMonth, byte 154)).
    const standupTz = Buffer.from(childText(standup.appData, 'Timezone', C) ?? '', 'base64');
    assert.deepEqual([standupTz.readInt32LE(0), standupTz.readInt32LE(168), standupTz.readUInt16LE(70), standupTz.readUInt16LE(154)], [-60, -60, 10, 3], 'a Berlin Timezone blob');
    assert.equal(childText(standup.appData, 'Location', C), 'Kitchen');
    const body = child(standup.appData, 'Body', 'AirSyncBase');
    assert.equal(body && childText(body, 'Data', 'AirSyncBase'), 'Yesterday, today', 'the description is the body');
    const rec = child(standup.appData, 'Recurrence', C);
    assert.ok(rec, 'it is a series');
    assert.equal(childText(rec, 'Type', C), '0', 'daily');
    assert.equal(childText(rec, 'Occurrences', C), '5');
    const exceptions = children(child(standup.appData, 'Exceptions', C) ?? el(C, 'Exceptions'), 'Exception', C);
    assert.deepEqual(
      exceptions.filter((e) => childText(e, 'Deleted', C) === '1').map((e) => childText(e, 'ExceptionStartTime', C)),
      [compact(STANDUP.cancelled)],
      'the occurrence removed in Thunderbird is a deleted exception',
    );
    const holiday = items.find((x) => childText(x.appData, 'Subject', C) === 'Holiday');
    assert.ok(holiday, 'the all-day event made in Thunderbird is on easd');
    assert.equal(childText(holiday.appData, 'AllDayEvent', C), '1');
    // MS-ASCAL 2.2.2.2: an all-day event runs midnight to midnight in the zone its Timezone names.
    // EAS-4-TbSync sends all-day events with a UTC blob whatever the user's zone (Berlin here,
    // test/helpers/thunderbird.ts) and date-shaped times (modules/eas/calendar-codec.mjs,
    // buildUtcTimezoneBlob), so read the blob (MS-ASDTYPE 2.7.1: Bias, then DaylightDate.wMonth
    // at byte 154, 0 when the zone has no daylight time) rather than assume one encoding.
    const tz = Buffer.from(childText(holiday.appData, 'Timezone', C) ?? '', 'base64');
    assert.equal(tz.length, 172, 'a Timezone blob');
    assert.equal(tz.readUInt16LE(154), 0, 'an all-day event is sent in a zone without daylight time');
    const local = (name: string) => compact(new Date(Date.parse(eas2iso(childText(holiday.appData, name, C) ?? '')) - tz.readInt32LE(0) * 60_000));
    assert.deepEqual([local('StartTime'), local('EndTime')], [`${icalDate(HOLIDAY.first)}T000000Z`, `${icalDate(HOLIDAY.after)}T000000Z`], 'two whole days');
    const film = todos.find((x) => childText(x.appData, 'Subject', T) === 'Buy film');
    assert.ok(film, 'the task made in Thunderbird is on easd');
    assert.equal(childText(film.appData, 'UtcDueDate', T)?.slice(0, 19), FILM_DUE.toISOString().slice(0, 19), 'its due time');

    // Edits of items the other side made. In Thunderbird: the third Monday of the phone's series
    // is deleted ("Delete only this occurrence"), the fifth moved to 11:00, and the phone's task
    // ticked done. The phone gets
    // each as a Change of the same item, never a Delete (kb-1.1's shape: a series with one more
    // deleted exception), once TbSync has sent them.
    await tbCancelOccurrence(m, calendar, 'Weekly review', compact(berlinTime(addDays(BASE, 21), 9)));
    const fifth = { was: berlinTime(addDays(BASE, 28), 9), start: berlinTime(addDays(BASE, 28), 11), end: berlinTime(addDays(BASE, 28), 12) };
    await tbMoveOccurrence(m, calendar, 'Weekly review', compact(fifth.was), { start: compact(fifth.start), end: compact(fifth.end) });
    await tbCompleteTask(m, todo, 'File the report');
    const onPhone = { calendar: [] as DeviceItem[], tasks: [] as DeviceItem[], deletes: [] as string[] };
    const phoneSees = () =>
      onPhone.calendar.some((x) => childText(x.appData, 'Subject', C) === 'Weekly review' && deletedExceptions(x.appData).length === 2 && movedOccurrences(x.appData).length === 1) &&
      onPhone.tasks.some((x) => childText(x.appData, 'Complete', T) === '1');
    await until('the edits made in Thunderbird reach the phone', deadline(), async () => {
      await syncAccount(m, accountId, deadline());
      for (const [id, into] of [[ids.calendar, onPhone.calendar], [ids.tasks, onPhone.tasks]] as const) {
        const r = await phone.sync(id);
        assert.equal(r.status, 1);
        into.push(...r.adds, ...r.changes);
        onPhone.deletes.push(...r.deletes);
      }
      return phoneSees();
    });
    const weeklyId = phone.view(ids.calendar).items.get(onPhone.calendar.find((x) => childText(x.appData, 'Subject', C) === 'Weekly review')!.serverId);
    assert.ok(weeklyId, 'the series is the one the phone made');
    assert.deepEqual(
      deletedExceptions(weeklyId.appData).sort(),
      [compact(WEEKLY.cancelled), compact(berlinTime(addDays(BASE, 21), 9))],
      'the phone has both cancelled Mondays',
    );
    assert.deepEqual(movedOccurrences(weeklyId.appData), [[compact(fifth.was), compact(fifth.start), compact(fifth.end)]], 'and the moved one, at its new time');
    assert.deepEqual(onPhone.deletes, [], 'no item was deleted');

    // On the phone: the fourth day of Thunderbird's stand-up series is deleted (a Change carrying
    // the series with one more Deleted exception, MS-ASCAL 2.2.2.20); Thunderbird shows it gone.
    const standupOnPhone = [...phone.view(ids.calendar).items.values()].find((x) => childText(x.appData, 'Subject', C) === 'Stand-up');
    assert.ok(standupOnPhone, 'the phone has the stand-up series');
    const fourth = compact(berlinTime(STANDUP_DAY(3), 8));
    const changed = el(
      'AirSync',
      'ApplicationData',
      ...children(standupOnPhone.appData).filter((c) => c.name !== 'Exceptions' && c.name !== 'Body'),
      cal('Exceptions', ...[compact(STANDUP.cancelled), fourth].map((at) => cal('Exception', cal('Deleted', '1'), cal('ExceptionStartTime', at)))),
    );
    const r = await phone.sync(ids.calendar, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', standupOnPhone.serverId), changed)] });
    assert.equal(r.status, 1);
    assert.deepEqual(r.responses.map((x) => childText(x, 'Status', 'AirSync')).filter((x) => x && x !== '1'), [], 'the Change is taken');
    const stillThere = [0, 1, 4].map((d) => compact(berlinTime(STANDUP_DAY(d), 8)));
    let shown: string[] = [];
    await until('the occurrence deleted on the phone is gone in Thunderbird', deadline(), async () => {
      await syncAccount(m, accountId, deadline());
      shown = (await tbCalendarItems(m, calendar)).find((e) => e.title === 'Stand-up')?.occurrences ?? [];
      return isDeepStrictEqual(shown, stillThere);
    });
    assert.deepEqual(shown, stillThere);
    assert.ok(!server.logs.some((l) => l.level >= 50), `no error logged by easd: ${JSON.stringify(server.logs.filter((l) => l.level >= 50).slice(0, 3))}`);
  } catch (err) {
    t.diagnostic(`thunderbird output (tail): ${tb.output().split('\n').filter((l) => !/Gtk-CRITICAL|glib warning|^\s*$/.test(l)).slice(-30).join('\n')}`);
    throw err;
  } finally {
    await tb.close();
    await server.close();
  }
});
