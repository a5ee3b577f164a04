/**
 * Recurrence on the server: expansion with Outlook's semantics (MS-ASCAL 2.2.2.39, MS-OXOCAL
 * RecurrencePattern), exceptions, FilterType windows, and RRULE conversion both ways. Expected
 * dates are read off a real calendar (2026: Jan 31 is a Saturday, Feb has 28 days, 2028 is a leap
 * year; US Thanksgiving is the 4th Thursday of November; EU DST starts on March 29th, 2026);
 * where RFC 5545 and Outlook agree, ical.js expanding our RRULE must give the same dates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ICAL from 'ical.js';

import {
  anyOccurrenceInWindow,
  expand,
  lastOccurrenceEnd,
  patternInstances,
  recurrenceToRrule,
  rruleToRecurrence,
  type EasRecurrence,
  type Series,
} from '../../src/calendar/recurrence.ts';
import { deviceRecurrence } from '../../src/calendar/recurrence-device.ts';
import { ianaOffsets, UTC_OFFSETS, utcToWall } from '../../src/calendar/timezone.ts';

const utcSeries = (start: string, minutes: number, recurrence: EasRecurrence, extra: Partial<Series> = {}): Series => ({
  start: new Date(start),
  end: new Date(new Date(start).getTime() + minutes * 60_000),
  recurrence,
  offsets: UTC_OFFSETS,
  ...extra,
});

const days = (s: Series, n: number) => [...take(patternInstances(s), n)].map((o) => o.start.toISOString().slice(0, 10));
function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  for (const x of it) {
    yield x;
    if (--n <= 0) return;
  }
}

/** ical.js's expansion of our RRULE for the same (floating) start, as dates. */
function icalDays(s: Series, n: number): string[] {
  const w = utcToWall(s.start.getTime(), UTC_OFFSETS);
  const rrule = recurrenceToRrule(s.recurrence, w);
  const it = ICAL.Recur.fromString(rrule).iterator(ICAL.Time.fromData({ year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute }));
  const out: string[] = [];
  for (let t = it.next(); t && out.length < n; t = it.next()) out.push(t.toJSDate().toISOString().slice(0, 10));
  return out;
}

test('kb-1.10: monthly on day 31 falls on the last day of shorter months (Outlook), and the RRULE says so for RFC 5545 readers', () => {
  const s = utcSeries('2026-01-31T09:00:00Z', 60, { type: 2, dayOfMonth: 31 });
  const expected = ['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31', '2026-06-30', '2026-07-31', '2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30', '2026-12-31', '2027-01-31', '2027-02-28'];
  assert.deepEqual(days(s, 14), expected);
  assert.equal(recurrenceToRrule(s.recurrence, utcToWall(s.start.getTime(), UTC_OFFSETS)), 'FREQ=MONTHLY;BYMONTHDAY=-1');
  assert.deepEqual(icalDays(s, 14), expected, 'ical.js reads the RRULE to the same dates');
  // ical.js on the RFC form BYMONTHDAY=31 skips the short months: the reason for the conversion.
  const rfc = ICAL.Recur.fromString('FREQ=MONTHLY;BYMONTHDAY=31').iterator(ICAL.Time.fromData({ year: 2026, month: 1, day: 31, hour: 9 }));
  assert.equal(rfc.next()!.toString().slice(0, 10), '2026-01-31');
  assert.equal(rfc.next()!.toString().slice(0, 10), '2026-03-31');
});

test('kb-1.10: monthly on day 30 and 29: February has its last day (28, 29 in 2028), other months the day itself', () => {
  const d30 = utcSeries('2027-12-30T09:00:00Z', 30, { type: 2, dayOfMonth: 30, interval: 1 });
  assert.deepEqual(days(d30, 4), ['2027-12-30', '2028-01-30', '2028-02-29', '2028-03-30']);
  // The RFC 5545 form needs BYSETPOS over a BYMONTHDAY set, which ical.js 2.x does not apply
  // (it honours BYSETPOS with BYDAY only): one reason the server expands series itself.
  assert.equal(recurrenceToRrule(d30.recurrence, utcToWall(d30.start.getTime(), UTC_OFFSETS)), 'FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1');
  assert.notDeepEqual(icalDays(d30, 4), days(d30, 4));
  const d29 = utcSeries('2026-01-29T09:00:00Z', 30, { type: 2, dayOfMonth: 29 });
  assert.deepEqual(days(d29, 3), ['2026-01-29', '2026-02-28', '2026-03-29']);
  assert.equal(recurrenceToRrule(d29.recurrence, utcToWall(d29.start.getTime(), UTC_OFFSETS)), 'FREQ=MONTHLY;BYMONTHDAY=28,29;BYSETPOS=-1');
});

test('daily every 3 days; weekly Mon/Wed/Fri every 2 weeks; weekly with FirstDayOfWeek Monday', () => {
  const daily = utcSeries('2026-02-26T08:00:00Z', 30, { type: 0, interval: 3 });
  assert.deepEqual(days(daily, 3), ['2026-02-26', '2026-03-01', '2026-03-04']);
  assert.deepEqual(icalDays(daily, 3), days(daily, 3));
  // 2026-01-05 is a Monday; DayOfWeek 2|8|32 = Mon, Wed, Fri.
  const weekly = utcSeries('2026-01-05T08:00:00Z', 30, { type: 1, interval: 2, dayOfWeek: 42 });
  assert.deepEqual(days(weekly, 6), ['2026-01-05', '2026-01-07', '2026-01-09', '2026-01-19', '2026-01-21', '2026-01-23']);
  assert.deepEqual(icalDays(weekly, 6), days(weekly, 6));
  // Every 2 weeks on Sunday and Monday, starting on a Monday: with weeks starting on Sunday the
  // first week is Jan 4-10 (Monday the 5th only), then Jan 18-24; with weeks starting on Monday
  // (FirstDayOfWeek 1) the first week is Jan 5-11 (Mon 5th, Sun 11th).
  const sunMon = (fdow: number) => utcSeries('2026-01-05T08:00:00Z', 30, { type: 1, interval: 2, dayOfWeek: 3, firstDayOfWeek: fdow });
  assert.deepEqual(days(sunMon(0), 3), ['2026-01-05', '2026-01-18', '2026-01-19']);
  assert.deepEqual(days(sunMon(1), 3), ['2026-01-05', '2026-01-11', '2026-01-19']);
  assert.deepEqual(icalDays(sunMon(1), 3), days(sunMon(1), 3));
  assert.deepEqual(icalDays(sunMon(0), 3), days(sunMon(0), 3));
});

test('monthly on the nth day: 2nd Tuesday, last Friday, last weekday, first day', () => {
  const secondTue = utcSeries('2026-01-13T10:00:00Z', 60, { type: 3, weekOfMonth: 2, dayOfWeek: 4 });
  assert.deepEqual(days(secondTue, 3), ['2026-01-13', '2026-02-10', '2026-03-10']);
  const lastFri = utcSeries('2026-01-30T10:00:00Z', 60, { type: 3, weekOfMonth: 5, dayOfWeek: 32 });
  assert.deepEqual(days(lastFri, 3), ['2026-01-30', '2026-02-27', '2026-03-27']);
  // Last weekday (Mon-Fri = 62): January 30 (Fri), February 27 (Fri), March 31 (Tue), May 29 (Fri).
  const lastWeekday = utcSeries('2026-01-30T10:00:00Z', 60, { type: 3, weekOfMonth: 5, dayOfWeek: 62 });
  assert.deepEqual(days(lastWeekday, 5), ['2026-01-30', '2026-02-27', '2026-03-31', '2026-04-30', '2026-05-29']);
  const lastDay = utcSeries('2026-01-31T10:00:00Z', 60, { type: 3, weekOfMonth: 5, dayOfWeek: 127 });
  assert.deepEqual(days(lastDay, 2), ['2026-01-31', '2026-02-28']);
  for (const s of [secondTue, lastFri, lastWeekday, lastDay]) assert.deepEqual(icalDays(s, 5), days(s, 5), JSON.stringify(s.recurrence));
});

test('yearly: February 29th on the 28th in other years; 4th Thursday of November', () => {
  const leap = utcSeries('2028-02-29T12:00:00Z', 60, { type: 5, monthOfYear: 2, dayOfMonth: 29 });
  assert.deepEqual(days(leap, 5), ['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29']);
  assert.equal(recurrenceToRrule(leap.recurrence, utcToWall(leap.start.getTime(), UTC_OFFSETS)), 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1');
  const thanksgiving = utcSeries('2026-11-26T17:00:00Z', 180, { type: 6, monthOfYear: 11, weekOfMonth: 4, dayOfWeek: 16 });
  assert.deepEqual(days(thanksgiving, 3), ['2026-11-26', '2027-11-25', '2028-11-23']);
  assert.deepEqual(icalDays(thanksgiving, 3), days(thanksgiving, 3));
});

test('a start that does not match the pattern: the first occurrence is the first pattern date after it', () => {
  // Starts on Thursday Jan 1st 2026, weekly on Mondays.
  const s = utcSeries('2026-01-01T09:00:00Z', 60, { type: 1, dayOfWeek: 2 });
  assert.deepEqual(days(s, 2), ['2026-01-05', '2026-01-12']);
});

test('occurrences keep their wall-clock time across DST in the series zone (Europe/Berlin, weekly Monday 09:00)', () => {
  const s: Series = {
    start: new Date('2026-03-23T08:00:00Z'),
    end: new Date('2026-03-23T09:00:00Z'),
    recurrence: { type: 1, dayOfWeek: 2, occurrences: 3 },
    offsets: ianaOffsets('Europe/Berlin'),
  };
  const occ = [...patternInstances(s)].map((o) => [o.start.toISOString(), o.end.toISOString()]);
  assert.deepEqual(occ, [
    ['2026-03-23T08:00:00.000Z', '2026-03-23T09:00:00.000Z'],
    ['2026-03-30T07:00:00.000Z', '2026-03-30T08:00:00.000Z'],
    ['2026-04-06T07:00:00.000Z', '2026-04-06T08:00:00.000Z'],
  ]);
});

test('all-day occurrences run midnight to midnight in the zone, also over a DST change (23-hour day)', () => {
  const berlin = ianaOffsets('Europe/Berlin');
  const s: Series = {
    start: new Date('2026-03-27T23:00:00Z'), // Saturday March 28th, 00:00 CET
    end: new Date('2026-03-28T23:00:00Z'),
    recurrence: { type: 0, occurrences: 3 },
    offsets: berlin,
    allDay: true,
  };
  assert.deepEqual([...patternInstances(s)].map((o) => [o.start.toISOString(), o.end.toISOString()]), [
    ['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z'],
    ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
    ['2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'],
  ]);
});

test('Occurrences counts deleted instances; Until is inclusive by local date', () => {
  const s = utcSeries('2026-01-01T09:00:00Z', 60, { type: 0, occurrences: 5 }, {
    exceptions: [{ exceptionStartTime: '2026-01-03T09:00:00.000Z', deleted: true }],
  });
  assert.deepEqual(expand(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z')).map((o) => o.start.toISOString().slice(0, 10)), ['2026-01-01', '2026-01-02', '2026-01-04', '2026-01-05']);
  // Until at midnight UTC of the last day still includes that day's 09:00 occurrence.
  const until = utcSeries('2026-01-01T09:00:00Z', 60, { type: 0, until: '2026-01-03T00:00:00.000Z' });
  assert.deepEqual(days(until, 10), ['2026-01-01', '2026-01-02', '2026-01-03']);
});

test('expand: window, deleted and moved occurrences (moved into and out of the window)', () => {
  const s = utcSeries('2026-01-05T09:00:00Z', 60, { type: 1, dayOfWeek: 2 }, {
    exceptions: [
      { exceptionStartTime: '2026-01-12T09:00:00.000Z', deleted: true },
      { exceptionStartTime: '2026-01-19T09:00:00.000Z', startTime: '2026-01-20T14:00:00.000Z', endTime: '2026-01-20T15:00:00.000Z', subject: 'moved' },
      // Moved from February 2nd back into January.
      { exceptionStartTime: '2026-02-02T09:00:00.000Z', startTime: '2026-01-30T09:00:00.000Z', endTime: '2026-01-30T10:00:00.000Z' },
    ],
  });
  const jan = expand(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
  assert.deepEqual(jan.map((o) => o.start.toISOString()), [
    '2026-01-05T09:00:00.000Z',
    '2026-01-20T14:00:00.000Z',
    '2026-01-26T09:00:00.000Z',
    '2026-01-30T09:00:00.000Z',
  ]);
  assert.equal(jan[1]!.originalStart.toISOString(), '2026-01-19T09:00:00.000Z');
  assert.equal(jan[1]!.exception?.['subject'], 'moved');
  const feb = expand(s, new Date('2026-02-01T00:00:00Z'), new Date('2026-02-10T00:00:00Z'));
  assert.deepEqual(feb.map((o) => o.start.toISOString()), ['2026-02-09T09:00:00.000Z'], 'Feb 2nd moved out');
});

test('FilterType windows: a series is in when any occurrence is; an endless series always is', () => {
  const five = utcSeries('2026-01-01T09:00:00Z', 60, { type: 0, occurrences: 5 });
  assert.equal(lastOccurrenceEnd(five)?.toISOString(), '2026-01-05T10:00:00.000Z');
  assert.equal(anyOccurrenceInWindow(five, new Date('2026-01-05T00:00:00Z')), true);
  assert.equal(anyOccurrenceInWindow(five, new Date('2026-01-06T00:00:00Z')), false);
  assert.equal(anyOccurrenceInWindow(five, new Date('2025-12-01T00:00:00Z'), new Date('2026-01-01T09:30:00Z')), true);
  assert.equal(anyOccurrenceInWindow(five, new Date('2026-01-02T10:30:00Z'), new Date('2026-01-03T08:00:00Z')), false);
  const endless = utcSeries('2020-01-01T09:00:00Z', 60, { type: 5, monthOfYear: 1, dayOfMonth: 1 });
  assert.equal(lastOccurrenceEnd(endless), undefined);
  assert.equal(anyOccurrenceInWindow(endless, new Date('2026-06-01T00:00:00Z')), true);
  // The last occurrence deleted: the series ends with the one before it.
  const lastDeleted = { ...five, exceptions: [{ exceptionStartTime: '2026-01-05T09:00:00.000Z', deleted: true }] };
  assert.equal(lastOccurrenceEnd(lastDeleted)?.toISOString(), '2026-01-04T10:00:00.000Z');
});

test('RRULE -> EAS -> RRULE for every type', () => {
  const start = { year: 2026, month: 1, day: 13, hour: 10, minute: 0 };
  const cases: Array<[string, EasRecurrence]> = [
    ['FREQ=DAILY', { type: 0 }],
    ['FREQ=DAILY;INTERVAL=2;COUNT=10', { type: 0, interval: 2, occurrences: 10 }],
    ['FREQ=WEEKLY;BYDAY=MO,WE,FR', { type: 1, dayOfWeek: 42 }],
    ['FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=SU', { type: 1, interval: 2, dayOfWeek: 4, firstDayOfWeek: 0 }],
    ['FREQ=MONTHLY;BYMONTHDAY=13;UNTIL=20261231T235959Z', { type: 2, dayOfMonth: 13, until: '2026-12-31T23:59:59.000Z' }],
    ['FREQ=MONTHLY;BYMONTHDAY=-1', { type: 2, dayOfMonth: 31 }],
    ['FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1', { type: 2, dayOfMonth: 30 }],
    ['FREQ=MONTHLY;BYDAY=2TU', { type: 3, weekOfMonth: 2, dayOfWeek: 4 }],
    ['FREQ=MONTHLY;BYDAY=-1FR', { type: 3, weekOfMonth: 5, dayOfWeek: 32 }],
    ['FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', { type: 3, weekOfMonth: 5, dayOfWeek: 62 }],
    ['FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=13', { type: 5, monthOfYear: 1, dayOfMonth: 13 }],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1', { type: 5, monthOfYear: 2, dayOfMonth: 29 }],
    ['FREQ=YEARLY;BYMONTH=11;BYDAY=4TH', { type: 6, monthOfYear: 11, weekOfMonth: 4, dayOfWeek: 16 }],
  ];
  for (const [rrule, rec] of cases) {
    assert.deepEqual(rruleToRecurrence(rrule, start), rec, rrule);
    assert.equal(recurrenceToRrule(rec, start), rrule, JSON.stringify(rec));
  }
});

test('RRULEs as real calendars write them; ones EAS cannot say are refused', () => {
  const start = { year: 2026, month: 3, day: 2, hour: 9, minute: 0 };
  // Google: weekly with WKST; Outlook: monthly nth with COUNT; Apple: yearly with BYMONTH only.
  assert.deepEqual(rruleToRecurrence('RRULE:FREQ=WEEKLY;WKST=MO;BYDAY=MO,TH', start), { type: 1, dayOfWeek: 2 | 16, firstDayOfWeek: 1 });
  assert.deepEqual(rruleToRecurrence('FREQ=MONTHLY;COUNT=10;BYDAY=1MO', start), { type: 3, occurrences: 10, weekOfMonth: 1, dayOfWeek: 2 });
  assert.deepEqual(rruleToRecurrence('FREQ=YEARLY;BYMONTH=3', start), { type: 5, monthOfYear: 3, dayOfMonth: 2 });
  assert.deepEqual(rruleToRecurrence('FREQ=MONTHLY', start), { type: 2, dayOfMonth: 2 });
  assert.deepEqual(rruleToRecurrence('FREQ=WEEKLY', start), { type: 1, dayOfWeek: 2 });
  assert.deepEqual(rruleToRecurrence('FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR', start), { type: 1, dayOfWeek: 62 });
  for (const bad of ['FREQ=HOURLY', 'FREQ=MONTHLY;BYMONTHDAY=1,15', 'FREQ=YEARLY;BYWEEKNO=20', 'FREQ=MONTHLY;BYDAY=3MO,3TU', 'not a rule', 'FREQ=YEARLY;BYMONTH=1,7']) {
    assert.equal(rruleToRecurrence(bad, start), undefined, bad);
  }
});

test('kb-1.10: an RFC 5545 BYMONTHDAY=29-31 (or a DTSTART on such a day) keeps its meaning as skipShortMonths and is written back as it came', () => {
  const jan31 = { year: 2026, month: 1, day: 31, hour: 10, minute: 0 };
  const cases: Array<[string, EasRecurrence]> = [
    ['FREQ=MONTHLY;BYMONTHDAY=31;COUNT=6', { type: 2, dayOfMonth: 31, occurrences: 6, skipShortMonths: true }],
    ['FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=30', { type: 2, interval: 2, dayOfMonth: 30, skipShortMonths: true }],
    ['FREQ=MONTHLY;BYMONTHDAY=29', { type: 2, dayOfMonth: 29, skipShortMonths: true }],
    ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', { type: 5, monthOfYear: 2, dayOfMonth: 29, skipShortMonths: true }],
  ];
  for (const [rrule, rec] of cases) {
    assert.deepEqual(rruleToRecurrence(rrule, jan31), rec, rrule);
    assert.equal(recurrenceToRrule(rec, jan31), rrule, JSON.stringify(rec));
  }
  // Days every month has need no flag; the month-end forms are Outlook's day 31 (no flag either).
  assert.deepEqual(rruleToRecurrence('FREQ=MONTHLY;BYMONTHDAY=28', jan31), { type: 2, dayOfMonth: 28 });
  assert.deepEqual(rruleToRecurrence('FREQ=MONTHLY;BYMONTHDAY=-1', jan31), { type: 2, dayOfMonth: 31 });
  // No BYMONTHDAY: DTSTART's day (RFC 5545 3.3.10), with the same meaning.
  assert.deepEqual(rruleToRecurrence('FREQ=MONTHLY', jan31), { type: 2, dayOfMonth: 31, skipShortMonths: true });
  assert.deepEqual(rruleToRecurrence('FREQ=YEARLY', { year: 2028, month: 2, day: 29, hour: 9, minute: 0 }), { type: 5, monthOfYear: 2, dayOfMonth: 29, skipShortMonths: true });
  // A day the month never has: no occurrence at all, nothing EAS can say.
  assert.equal(rruleToRecurrence('FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31', jan31), undefined);
  assert.equal(rruleToRecurrence('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', jan31), undefined);
});

test('kb-1.10: skipShortMonths expands to the months that have the day only, COUNT counting real occurrences', () => {
  const d31 = utcSeries('2026-01-31T09:00:00Z', 60, { type: 2, dayOfMonth: 31, occurrences: 6, skipShortMonths: true });
  assert.deepEqual(days(d31, 10), ['2026-01-31', '2026-03-31', '2026-05-31', '2026-07-31', '2026-08-31', '2026-10-31']);
  const d30 = utcSeries('2027-12-30T09:00:00Z', 60, { type: 2, dayOfMonth: 30, skipShortMonths: true });
  assert.deepEqual(days(d30, 4), ['2027-12-30', '2028-01-30', '2028-03-30', '2028-04-30']);
  const leap = utcSeries('2024-02-29T09:00:00Z', 60, { type: 5, monthOfYear: 2, dayOfMonth: 29, occurrences: 3, skipShortMonths: true });
  assert.deepEqual(days(leap, 5), ['2024-02-29', '2028-02-29', '2032-02-29']);
  assert.equal(lastOccurrenceEnd(leap)?.toISOString(), '2032-02-29T10:00:00.000Z');
});

test('kb-1.10: devices get Outlook\'s pattern, the skipped dates deleted and COUNT as Until; an endless series lists them ten years ahead', () => {
  const bounded = deviceRecurrence(utcSeries('2026-01-31T09:00:00Z', 60, { type: 2, dayOfMonth: 31, occurrences: 6, skipShortMonths: true }), new Date('2026-06-01T00:00:00Z'));
  assert.deepEqual(bounded.recurrence, { type: 2, dayOfMonth: 31, until: '2026-10-31T09:00:00.000Z' });
  assert.deepEqual(bounded.deleted, ['2026-02-28T09:00:00.000Z', '2026-04-30T09:00:00.000Z', '2026-06-30T09:00:00.000Z', '2026-09-30T09:00:00.000Z']);
  const leap = deviceRecurrence(utcSeries('2024-02-29T09:00:00Z', 60, { type: 5, monthOfYear: 2, dayOfMonth: 29, occurrences: 2, skipShortMonths: true }), new Date('2026-06-01T00:00:00Z'));
  assert.deepEqual(leap.recurrence, { type: 5, monthOfYear: 2, dayOfMonth: 29, until: '2028-02-29T09:00:00.000Z' });
  assert.deepEqual(leap.deleted, ['2025-02-28T09:00:00.000Z', '2026-02-28T09:00:00.000Z', '2027-02-28T09:00:00.000Z']);
  // Endless: through 2036 (ten years after now), five short months a year (Feb, Apr, Jun, Sep, Nov).
  const endless = deviceRecurrence(utcSeries('2026-01-31T09:00:00Z', 60, { type: 2, dayOfMonth: 31, skipShortMonths: true }), new Date('2026-06-01T00:00:00Z'));
  assert.deepEqual(endless.recurrence, { type: 2, dayOfMonth: 31 });
  assert.equal(endless.deleted.length, 11 * 5);
  assert.equal(endless.deleted.at(-1), '2036-11-30T09:00:00.000Z');
  // Nothing to do for Outlook's own meaning.
  const outlook = { type: 2, dayOfMonth: 31 } as const;
  assert.deepEqual(deviceRecurrence(utcSeries('2026-01-31T09:00:00Z', 60, outlook), new Date()), { recurrence: outlook, deleted: [] });
});
