/**
 * iCalendar <-> stored calendar items. Inputs are written in the forms Outlook/Exchange (Windows
 * TZIDs, X-MICROSOFT-CDO-*), Google (IANA TZIDs) and Apple write; expected values come from
 * RFC 5545/5546 and the invitations' own times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ICAL from 'ical.js';

import { eventToICalendar, ICalendarError, parseICalendar } from '../../src/calendar/icalendar.ts';
import { expand } from '../../src/calendar/recurrence.ts';
import { seriesOf } from '../../src/calendar/event.ts';
import type { JsonObject } from '../../src/store/types.ts';

const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';
/** MS-ASCAL 2.2.2.26: Interval absent means 1. */
const withInterval = (r: unknown) => ({ interval: 1, ...(r as JsonObject) });

const OUTLOOK_VTIMEZONE = [
  'BEGIN:VTIMEZONE',
  'TZID:W. Europe Standard Time',
  'BEGIN:STANDARD',
  'DTSTART:16010101T030000',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:16010101T020000',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
];

test('an Outlook REQUEST: Windows TZID, attendees, CDO busy status, reminder, weekly series with EXDATE and an override', () => {
  const text = crlf([
    'BEGIN:VCALENDAR',
    'METHOD:REQUEST',
    'PRODID:Microsoft Exchange Server 2010',
    'VERSION:2.0',
    ...OUTLOOK_VTIMEZONE,
    'BEGIN:VEVENT',
    'ORGANIZER;CN=Olga Organizer:mailto:olga@example.com',
    'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Ann:mailto:ann@example.com',
    'ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Bob:mailto:bob@example.com',
    'ATTENDEE;CUTYPE=RESOURCE;ROLE=NON-PARTICIPANT;CN=Room 4:mailto:room4@example.com',
    'DESCRIPTION;LANGUAGE=en-US:Agenda:\\n1. status\\, plans',
    'RRULE:FREQ=WEEKLY;UNTIL=20260427T070000Z;INTERVAL=1;BYDAY=MO;WKST=MO',
    'EXDATE;TZID=W. Europe Standard Time:20260316T090000',
    'UID:040000008200E00074C5B7101A82E00800000000D0D8A6D1C9A6DC01000000000000000010000000',
    'SUMMARY;LANGUAGE=en-US:Weekly sync',
    'DTSTART;TZID=W. Europe Standard Time:20260302T090000',
    'DTEND;TZID=W. Europe Standard Time:20260302T100000',
    'CLASS:PUBLIC',
    'PRIORITY:5',
    'DTSTAMP:20260301T120000Z',
    'TRANSP:OPAQUE',
    'STATUS:CONFIRMED',
    'SEQUENCE:2',
    'LOCATION;LANGUAGE=en-US:Room 4',
    'X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE',
    'X-MICROSOFT-CDO-ALLDAYEVENT:FALSE',
    'BEGIN:VALARM',
    'ACTION:DISPLAY',
    'DESCRIPTION:REMINDER',
    'TRIGGER;RELATED=START:-PT15M',
    'END:VALARM',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:040000008200E00074C5B7101A82E00800000000D0D8A6D1C9A6DC01000000000000000010000000',
    'RECURRENCE-ID;TZID=W. Europe Standard Time:20260330T090000',
    'SUMMARY:Weekly sync (moved)',
    'DTSTART;TZID=W. Europe Standard Time:20260331T140000',
    'DTEND;TZID=W. Europe Standard Time:20260331T150000',
    'DTSTAMP:20260301T120000Z',
    'SEQUENCE:2',
    'END:VEVENT',
    'END:VCALENDAR',
  ]);
  const cal = parseICalendar(text);
  assert.equal(cal.method, 'REQUEST');
  assert.equal(cal.events.length, 1);
  const d = cal.events[0]!.data;
  assert.equal(cal.events[0]!.status, 'CONFIRMED');
  assert.equal(d['timeZone'], 'Europe/Berlin');
  assert.equal(d['startTime'], '2026-03-02T08:00:00.000Z', '09:00 CET');
  assert.equal(d['endTime'], '2026-03-02T09:00:00.000Z');
  assert.equal(d['allDayEvent'], false);
  assert.equal(d['subject'], 'Weekly sync');
  assert.equal(d['location'], 'Room 4');
  assert.deepEqual(d['body'], { text: 'Agenda:\n1. status, plans' });
  assert.equal(d['busyStatus'], 1);
  assert.equal(d['sensitivity'], 0);
  assert.equal(d['reminder'], 15);
  assert.equal(d['sequence'], 2);
  assert.equal(d['dtStamp'], '2026-03-01T12:00:00.000Z');
  assert.equal(d['organizerEmail'], 'olga@example.com');
  assert.equal(d['organizerName'], 'Olga Organizer');
  assert.deepEqual(d['attendees'], [
    { email: 'ann@example.com', name: 'Ann', attendeeStatus: 5, attendeeType: 1 },
    { email: 'bob@example.com', name: 'Bob', attendeeStatus: 3, attendeeType: 2 },
    { email: 'room4@example.com', name: 'Room 4', attendeeType: 3 },
  ]);
  assert.deepEqual(d['recurrence'], { type: 1, dayOfWeek: 2, firstDayOfWeek: 1, until: '2026-04-27T07:00:00.000Z' });
  assert.deepEqual(d['exceptions'], [
    { exceptionStartTime: '2026-03-16T08:00:00.000Z', deleted: true },
    // March 30th is after the DST change: 09:00 CEST is 07:00 UTC.
    {
      exceptionStartTime: '2026-03-30T07:00:00.000Z',
      subject: 'Weekly sync (moved)',
      startTime: '2026-03-31T12:00:00.000Z',
      endTime: '2026-03-31T13:00:00.000Z',
      busyStatus: 2,
      allDayEvent: false,
      dtStamp: '2026-03-01T12:00:00.000Z',
    },
  ]);
  // The series laid out by the server: Mar 2, 9, (16 deleted), 23, (30 moved to 31st), Apr 6 ... 27.
  const occ = expand(seriesOf(d)!, new Date('2026-03-01T00:00:00Z'), new Date('2026-05-01T00:00:00Z')).map((o) => o.start.toISOString());
  assert.deepEqual(occ, [
    '2026-03-02T08:00:00.000Z',
    '2026-03-09T08:00:00.000Z',
    '2026-03-23T08:00:00.000Z',
    '2026-03-31T12:00:00.000Z',
    '2026-04-06T07:00:00.000Z',
    '2026-04-13T07:00:00.000Z',
    '2026-04-20T07:00:00.000Z',
    '2026-04-27T07:00:00.000Z',
  ]);
});

test('kb-1.4: a three-day all-day invitation (VALUE=DATE) is all-day, midnight to midnight in the zone', () => {
  const text = crlf([
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'METHOD:REQUEST',
    'PRODID:-//Google Inc//Google Calendar 70.9054//EN',
    'BEGIN:VEVENT',
    'DTSTART;VALUE=DATE:20260310',
    'DTEND;VALUE=DATE:20260313',
    'DTSTAMP:20260301T100000Z',
    'UID:3day@google.com',
    'SUMMARY:Conference',
    'END:VEVENT',
    'END:VCALENDAR',
  ]);
  const d = parseICalendar(text, { defaultZone: 'Europe/Berlin' }).events[0]!.data;
  assert.equal(d['allDayEvent'], true);
  assert.equal(d['startTime'], '2026-03-09T23:00:00.000Z');
  assert.equal(d['endTime'], '2026-03-12T23:00:00.000Z');
  // Outlook's form: midnight DATE-TIMEs in a zone and X-MICROSOFT-CDO-ALLDAYEVENT:TRUE.
  const outlook = crlf([
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    ...OUTLOOK_VTIMEZONE,
    'BEGIN:VEVENT',
    'UID:3day-outlook',
    'DTSTART;TZID=W. Europe Standard Time:20260310T000000',
    'DTEND;TZID=W. Europe Standard Time:20260313T000000',
    'X-MICROSOFT-CDO-ALLDAYEVENT:TRUE',
    'SUMMARY:Conference',
    'END:VEVENT',
    'END:VCALENDAR',
  ]);
  const o = parseICalendar(outlook).events[0]!.data;
  assert.deepEqual([o['allDayEvent'], o['startTime'], o['endTime']], [true, '2026-03-09T23:00:00.000Z', '2026-03-12T23:00:00.000Z']);
});

test('kb-1.10: export of a monthly-on-31 series writes BYMONTHDAY=-1 and reads back to the same series', () => {
  const data: JsonObject = {
    uid: 'month-end',
    subject: 'Month end, close books',
    timeZone: 'America/New_York',
    startTime: '2026-01-31T14:00:00.000Z',
    endTime: '2026-01-31T15:00:00.000Z',
    allDayEvent: false,
    busyStatus: 2,
    recurrence: { type: 2, interval: 1, dayOfMonth: 31 },
  };
  const text = eventToICalendar(data);
  assert.match(text, /\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1\r\n/);
  assert.match(text, /\r\nDTSTART;TZID=America\/New_York:20260131T090000\r\n/);
  assert.match(text, /BEGIN:VTIMEZONE\r\nTZID:America\/New_York\r\n/);
  const back = parseICalendar(text).events[0]!.data;
  for (const k of ['uid', 'subject', 'timeZone', 'startTime', 'endTime', 'allDayEvent', 'busyStatus']) assert.deepEqual(back[k], data[k], k);
  assert.deepEqual(withInterval(back['recurrence']), data['recurrence']);
  // ical.js reads the exported object to Feb 28th and Apr 30th too (RFC 5545 and Outlook agree on -1).
  const vevent = new ICAL.Component(ICAL.parse(text)).getFirstSubcomponent('vevent')!;
  const it = new ICAL.Event(vevent).iterator();
  const dates = [it.next(), it.next(), it.next(), it.next()].map((t) => t!.toString().slice(0, 10));
  assert.deepEqual(dates, ['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30']);
});

test('export -> import round trip: attendees, exceptions (deleted and moved), all-day, reminder, text escaping, folding', () => {
  const data: JsonObject = {
    uid: 'rt-1',
    subject: 'Planning; Q3, long subject '.repeat(4).trim(),
    timeZone: 'Europe/Berlin',
    startTime: '2026-03-02T08:00:00.000Z',
    endTime: '2026-03-02T09:00:00.000Z',
    allDayEvent: false,
    busyStatus: 0,
    sensitivity: 3,
    reminder: 10,
    location: 'Café Zürich',
    body: { text: 'Line 1\nLine 2' },
    categories: ['Team', 'Q3'],
    organizerName: 'Olga',
    organizerEmail: 'olga@example.com',
    attendees: [
      { email: 'ann@example.com', name: 'Ann', attendeeStatus: 3, attendeeType: 1 },
      { email: 'room@example.com', name: 'Room', attendeeStatus: 5, attendeeType: 3 },
    ],
    recurrence: { type: 1, interval: 1, dayOfWeek: 2, occurrences: 6 },
    exceptions: [
      { exceptionStartTime: '2026-03-09T08:00:00.000Z', deleted: true },
      { exceptionStartTime: '2026-03-30T07:00:00.000Z', startTime: '2026-03-31T07:00:00.000Z', endTime: '2026-03-31T08:00:00.000Z', subject: 'Moved' },
    ],
    dtStamp: '2026-03-01T00:00:00.000Z',
  };
  const text = eventToICalendar(data, { method: 'REQUEST' });
  for (const line of text.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, `folded: ${line}`);
  const cal = parseICalendar(text);
  assert.equal(cal.method, 'REQUEST');
  const back = cal.events[0]!.data;
  for (const k of ['uid', 'subject', 'timeZone', 'startTime', 'endTime', 'busyStatus', 'reminder', 'location', 'body', 'categories', 'organizerName', 'organizerEmail', 'attendees', 'dtStamp']) {
    assert.deepEqual(back[k], data[k], k);
  }
  assert.deepEqual(withInterval(back['recurrence']), data['recurrence']);
  assert.equal(back['sensitivity'], 3);
  const ex = back['exceptions'] as JsonObject[];
  assert.deepEqual(ex[0], { exceptionStartTime: '2026-03-09T08:00:00.000Z', deleted: true });
  assert.equal(ex[1]!['exceptionStartTime'], '2026-03-30T07:00:00.000Z');
  assert.equal(ex[1]!['startTime'], '2026-03-31T07:00:00.000Z');
  assert.equal(ex[1]!['subject'], 'Moved');

  const allDay = parseICalendar(eventToICalendar({ uid: 'ad', subject: 'Off', timeZone: 'Europe/Berlin', allDayEvent: true, startTime: '2026-03-09T23:00:00.000Z', endTime: '2026-03-12T23:00:00.000Z' })).events[0]!.data;
  assert.deepEqual([allDay['allDayEvent'], allDay['startTime'], allDay['endTime']], [true, '2026-03-09T23:00:00.000Z', '2026-03-12T23:00:00.000Z']);
});

test('a device blob without an IANA zone is exported with a VTIMEZONE of its own rules and read back to the same instants', () => {
  // A made-up zone: UTC+02:30 with one hour of DST from the 2nd Sunday of April to the 1st Sunday of October.
  const b = Buffer.alloc(172);
  b.writeInt32LE(-150, 0);
  b.write('Custom Zone', 4, 'utf16le');
  [0, 10, 0, 1, 3, 0, 0, 0].forEach((v, i) => b.writeUInt16LE(v, 68 + 2 * i));
  [0, 4, 0, 2, 2, 0, 0, 0].forEach((v, i) => b.writeUInt16LE(v, 152 + 2 * i));
  b.writeInt32LE(-60, 168);
  const data: JsonObject = { uid: 'custom', subject: 'x', timezone: b.toString('base64'), startTime: '2026-06-01T06:30:00.000Z', endTime: '2026-06-01T07:30:00.000Z' };
  const text = eventToICalendar(data);
  assert.match(text, /TZID:Custom Zone/);
  assert.match(text, /DTSTART;TZID=Custom Zone:20260601T100000/, '06:30Z is 10:00 at +03:30 in June');
  const back = parseICalendar(text).events[0]!.data;
  assert.equal(back['startTime'], '2026-06-01T06:30:00.000Z');
  assert.ok(typeof back['timezone'] === 'string', 'kept as a TIME_ZONE_INFORMATION');
});

test('a CANCEL or REPLY about one occurrence (RECURRENCE-ID, no master) names that occurrence', () => {
  const text = crlf([
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'METHOD:CANCEL',
    'BEGIN:VEVENT',
    'UID:series-1',
    'RECURRENCE-ID;TZID=Europe/Berlin:20260323T090000',
    'DTSTART;TZID=Europe/Berlin:20260323T090000',
    'DTEND;TZID=Europe/Berlin:20260323T100000',
    'SEQUENCE:3',
    'STATUS:CANCELLED',
    'SUMMARY:Weekly',
    'END:VEVENT',
    'END:VCALENDAR',
  ]);
  const cal = parseICalendar(text);
  assert.equal(cal.method, 'CANCEL');
  assert.deepEqual(cal.events[0]!.recurrenceIds, ['2026-03-23T08:00:00.000Z']);
  assert.equal(cal.events[0]!.status, 'CANCELLED');
  assert.equal(cal.events[0]!.data['uid'], 'series-1');
});

test('an RRULE EAS cannot say is kept as text; broken input is an ICalendarError', () => {
  const text = crlf(['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', 'UID:odd', 'DTSTART:20260302T080000Z', 'DTEND:20260302T090000Z', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15', 'END:VEVENT', 'END:VCALENDAR']);
  const d = parseICalendar(text).events[0]!.data;
  assert.equal(d['recurrence'], undefined);
  assert.equal(d['rrule'], 'FREQ=MONTHLY;BYMONTHDAY=1,15');
  assert.equal(d['startTime'], '2026-03-02T08:00:00.000Z', 'UTC times need no zone');
  for (const bad of ['', 'not a calendar', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n', crlf(['BEGIN:VCALENDAR', 'VERSION:2.0', 'END:VCALENDAR']), crlf(['BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'UID:x', 'END:VEVENT', 'END:VCALENDAR'])]) {
    assert.throws(() => parseICalendar(bad), ICalendarError, JSON.stringify(bad));
  }
});

test('EAS -> iCalendar -> EAS for every recurrence type, day 31 and yearly-nth included', () => {
  const recurrences: JsonObject[] = [
    { type: 0, interval: 2, occurrences: 10 },
    { type: 1, interval: 2, dayOfWeek: 42, firstDayOfWeek: 1, until: '2026-12-31T08:00:00.000Z' },
    { type: 2, interval: 1, dayOfMonth: 31 },
    { type: 2, interval: 3, dayOfMonth: 30 },
    { type: 3, interval: 1, weekOfMonth: 2, dayOfWeek: 4 },
    { type: 3, interval: 1, weekOfMonth: 5, dayOfWeek: 62 },
    { type: 5, interval: 1, monthOfYear: 2, dayOfMonth: 29 },
    { type: 6, interval: 1, monthOfYear: 11, weekOfMonth: 4, dayOfWeek: 16 },
    { type: 6, interval: 2, monthOfYear: 3, weekOfMonth: 5, dayOfWeek: 1 },
  ];
  for (const recurrence of recurrences) {
    const data: JsonObject = { uid: 'r', subject: 's', timeZone: 'Australia/Sydney', startTime: '2026-01-12T23:00:00.000Z', endTime: '2026-01-13T00:00:00.000Z', recurrence };
    const back = parseICalendar(eventToICalendar(data)).events[0]!.data;
    // Until comes back as the start of the last occurrence (Wednesday Dec 30th, 10:00 in Sydney):
    // the same dates, as an instant RFC 5545 readers and devices agree on (RFC 5545 3.3.10 UNTIL).
    const expected = recurrence['until'] ? { ...recurrence, until: '2026-12-29T23:00:00.000Z' } : recurrence;
    assert.deepEqual(withInterval(back['recurrence']), expected, JSON.stringify(recurrence));
    assert.equal(back['startTime'], data['startTime']);
  }
});

test('an all-day series with an end date is exported with UNTIL as a DATE (RFC 5545 3.3.10) and reads back to the same last day', () => {
  // Monthly on the 31st (month end, kb-1.10), all day in Berlin, until the end of April 2026.
  const data: JsonObject = {
    uid: 'allday-until',
    subject: 'Books closed',
    timeZone: 'Europe/Berlin',
    allDayEvent: true,
    startTime: '2026-01-30T23:00:00.000Z',
    endTime: '2026-01-31T23:00:00.000Z',
    recurrence: { type: 2, interval: 1, dayOfMonth: 31, until: '2026-04-30T22:00:00.000Z' },
  };
  const text = eventToICalendar(data);
  assert.match(text, /\r\nDTSTART;VALUE=DATE:20260131\r\n/);
  assert.match(text, /\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20260430\r\n/);
  // ical.js reads the month ends through April 30th.
  const it = ICAL.Recur.fromString('FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20260430').iterator(ICAL.Time.fromDateString('2026-01-31'));
  const days: string[] = [];
  for (let t = it.next(); t; t = it.next()) days.push(t.toString());
  assert.deepEqual(days, ['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30']);
  const back = parseICalendar(text).events[0]!.data;
  assert.equal(back['allDayEvent'], true);
  assert.deepEqual(back['recurrence'], { type: 2, dayOfMonth: 31, until: '2026-04-29T22:00:00.000Z' });
});

test('maxEvents and maxOverrides read only that much and count the rest (issue 15 item 8)', () => {
  const vevent = (uid: string, summary: string, rid?: string) => [
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260225T090000Z',
    rid ? `DTSTART:${rid}` : 'DTSTART:20260302T100000Z',
    rid ? `DTEND:${rid.replace('T10', 'T11')}` : 'DTEND:20260302T110000Z',
    ...(rid ? [`RECURRENCE-ID:${rid}`] : ['RRULE:FREQ=DAILY;COUNT=30']),
    `SUMMARY:${summary}`,
    'END:VEVENT',
  ];
  const overrides = ['20260303T100000Z', '20260304T100000Z', '20260305T100000Z'].map((rid, i) => vevent('series', `moved ${i}`, rid));
  const text = crlf(['BEGIN:VCALENDAR', 'VERSION:2.0', 'METHOD:REQUEST', ...vevent('series', 'Series'), ...overrides.flat(), ...vevent('b', 'Second'), ...vevent('c', 'Third'), ...vevent('d', ''), 'END:VCALENDAR']);
  const whole = parseICalendar(text);
  assert.equal(whole.events.length, 4);
  assert.equal(whole.omitted, undefined);
  const bounded = parseICalendar(text, { maxEvents: 2, maxOverrides: 2 });
  assert.deepEqual(bounded.events.map((e) => e.data['uid']), ['series', 'b']);
  assert.equal((bounded.events[0]!.data['exceptions'] as unknown[]).length, 2);
  assert.deepEqual(bounded.omitted, { events: 2, overrides: 1, subjects: ['Third', '(no subject)'] });
  assert.deepEqual(parseICalendar(text, { maxEvents: 0 }).events, []);
});
