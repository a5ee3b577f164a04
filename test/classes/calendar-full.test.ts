/**
 * Calendar class, full field set (MS-ASCAL 2.2.2, 12.0-16.1): attendees, recurrence, exceptions,
 * 14.x/16.x elements, 16.0 InstanceId, and the server's rules for all-day events (kb-1.4),
 * long timed events (kb-1.6), attendee copies (kb-1.2) and day-31 series (kb-1.10).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { calendarConverter as conv, deleteInstance } from '../../src/classes/calendar.ts';
import { ConversionError, type ConvertContext } from '../../src/classes/types.ts';
import { decodeTimezone, tziForZone, encodeTimezone } from '../../src/calendar/timezone.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { child, children, el, text } from '../../src/wbxml/tree.ts';
import { appData, childNames, ctx, droppedInto, find, names, overTheWire } from './helpers.ts';

const C = 'Calendar';
const A = 'AirSyncBase';
const BERLIN = encodeTimezone(tziForZone('Europe/Berlin', 2026));
const fixed = (extra: Partial<ConvertContext> = {}) => ({ now: () => new Date('2026-03-01T10:00:00Z'), newUid: () => 'GEN', ...extra });

const MEETING: JsonObject = {
  timezone: BERLIN,
  allDayEvent: false,
  busyStatus: 2,
  organizerName: 'Olga Organizer',
  organizerEmail: 'olga@example.com',
  dtStamp: '2026-03-01T09:00:00.000Z',
  startTime: '2026-03-02T08:00:00.000Z',
  endTime: '2026-03-02T09:00:00.000Z',
  location: 'Room 4',
  locationDetails: { annotation: 'second floor', street: '1 Main St', city: 'Berlin', country: 'DE', postalCode: '10115', latitude: '52.52', longitude: '13.40', locationUri: 'geo:52.52,13.40' },
  reminder: 10,
  sensitivity: 0,
  subject: 'Weekly',
  uid: 'UID-WEEKLY',
  meetingStatus: 1,
  attendees: [
    { email: 'ann@example.com', name: 'Ann', attendeeStatus: 3, attendeeType: 1 },
    { email: 'bob@example.com', name: 'Bob', attendeeStatus: 4, attendeeType: 2, proposedStartTime: '2026-03-02T10:00:00.000Z', proposedEndTime: '2026-03-02T11:00:00.000Z' },
    { email: 'room@example.com', name: 'Room 4', attendeeType: 3 },
  ],
  categories: ['Team'],
  recurrence: { type: 1, interval: 1, dayOfWeek: 2, occurrences: 10, calendarType: 0, isLeapMonth: false, firstDayOfWeek: 1 },
  exceptions: [
    { exceptionStartTime: '2026-03-09T08:00:00.000Z', deleted: true },
    {
      exceptionStartTime: '2026-03-16T08:00:00.000Z',
      subject: 'Weekly (moved)',
      startTime: '2026-03-17T12:00:00.000Z',
      endTime: '2026-03-17T13:00:00.000Z',
      body: { text: 'moved to Tuesday' },
      location: 'Room 5',
      categories: ['Team', 'Moved'],
      sensitivity: 1,
      busyStatus: 1,
      allDayEvent: false,
      reminder: 5,
      dtStamp: '2026-03-05T09:00:00.000Z',
      meetingStatus: 1,
      attendees: [{ email: 'ann@example.com', name: 'Ann', attendeeStatus: 2, attendeeType: 1 }],
      appointmentReplyTime: '2026-03-06T09:00:00.000Z',
      responseType: 1,
      onlineMeetingConfLink: 'https://meet.example.com/c/1',
      onlineMeetingExternalLink: 'https://meet.example.com/e/1',
    },
  ],
  responseRequested: true,
  appointmentReplyTime: '2026-03-01T09:30:00.000Z',
  responseType: 1,
  disallowNewTimeProposal: false,
  onlineMeetingConfLink: 'https://meet.example.com/c/0',
  onlineMeetingExternalLink: 'https://meet.example.com/e/0',
  body: { text: 'Agenda' },
};

test('every field round-trips at 16.1 (as a Change of the stored item) and at 14.1 without the 16.x-only parts', () => {
  const c16 = ctx('16.1', fixed());
  assert.deepEqual(conv.fromEas(overTheWire(conv.toEas(MEETING, c16)), c16, MEETING), MEETING);
  const c14 = ctx('14.1', fixed());
  const back = conv.fromEas(overTheWire(conv.toEas(MEETING, c14)), c14);
  // 14.1 has no AirSyncBase:Location (details) and no proposed times in Attendee (16.1).
  const expected = structuredClone(MEETING);
  delete expected['locationDetails'];
  for (const a of expected['attendees'] as JsonObject[]) {
    delete a['proposedStartTime'];
    delete a['proposedEndTime'];
  }
  assert.deepEqual(back, expected);
});

test('version gating: 12.1 has none of the 14.x elements; 14.0 no FirstDayOfWeek or online-meeting links', () => {
  const v12 = conv.toEas(MEETING, ctx('12.1'));
  for (const name of ['ResponseRequested', 'AppointmentReplyTime', 'ResponseType', 'DisallowNewTimeProposal', 'OnlineMeetingConfLink']) assert.equal(find(v12, name, C), undefined, name);
  assert.deepEqual(childNames(find(v12, 'Recurrence', C)), ['Calendar:Type', 'Calendar:Occurrences', 'Calendar:Interval', 'Calendar:DayOfWeek']);
  const v14 = conv.toEas(MEETING, ctx('14.0'));
  assert.ok(find(v14, 'ResponseType', C));
  assert.equal(find(v14, 'OnlineMeetingConfLink', C), undefined);
  assert.deepEqual(childNames(find(v14, 'Recurrence', C)).slice(-2), ['Calendar:CalendarType', 'Calendar:IsLeapMonth']);
  const v141 = conv.toEas(MEETING, ctx('14.1'));
  assert.deepEqual(names(v141).slice(-6), [
    'Calendar:ResponseRequested',
    'Calendar:AppointmentReplyTime',
    'Calendar:ResponseType',
    'Calendar:DisallowNewTimeProposal',
    'Calendar:OnlineMeetingConfLink',
    'Calendar:OnlineMeetingExternalLink',
  ]);
  assert.equal(childNames(find(v141, 'Recurrence', C)).at(-1), 'Calendar:FirstDayOfWeek');
});

test('Recurrence children in schema order; Until as Compact DateTime', () => {
  const rec = { type: 6, interval: 1, until: '2030-12-31T23:00:00.000Z', weekOfMonth: 4, dayOfWeek: 16, monthOfYear: 11, calendarType: 1, isLeapMonth: false, firstDayOfWeek: 0 };
  const e = find(conv.toEas({ ...MEETING, recurrence: rec }, ctx('16.1')), 'Recurrence', C)!;
  assert.deepEqual(childNames(e), ['Type', 'Interval', 'WeekOfMonth', 'DayOfWeek', 'MonthOfYear', 'Until', 'CalendarType', 'IsLeapMonth', 'FirstDayOfWeek'].map((n) => `Calendar:${n}`));
  assert.equal(text(child(e, 'Until', C)), '20301231T230000Z');
});

test('Exceptions: ExceptionStartTime before 16.0, AirSyncBase:InstanceId from 16.0; a deleted one carries nothing else', () => {
  const ex14 = children(find(conv.toEas(MEETING, ctx('14.1')), 'Exceptions', C)!, 'Exception', C);
  assert.deepEqual(childNames(ex14[0]), ['Calendar:Deleted', 'Calendar:ExceptionStartTime']);
  assert.equal(text(child(ex14[0]!, 'ExceptionStartTime', C)), '20260309T080000Z');
  assert.deepEqual(childNames(ex14[1]).slice(0, 5), ['Calendar:ExceptionStartTime', 'Calendar:Subject', 'Calendar:StartTime', 'Calendar:EndTime', 'AirSyncBase:Body']);
  const ex16 = children(find(conv.toEas(MEETING, ctx('16.0')), 'Exceptions', C)!, 'Exception', C);
  assert.deepEqual(childNames(ex16[0]), ['Calendar:Deleted', 'AirSyncBase:InstanceId']);
  assert.equal(text(child(ex16[0]!, 'InstanceId', A)), '20260309T080000Z');
});

test('kb-1.10: a monthly series on day 31 is sent as "the last day of every month"; the stored pattern is kept', () => {
  const data = { ...MEETING, recurrence: { type: 2, interval: 1, dayOfMonth: 31 }, exceptions: undefined } as unknown as JsonObject;
  delete data['exceptions'];
  const rec = find(conv.toEas(data, ctx('14.1')), 'Recurrence', C)!;
  assert.deepEqual(
    childNames(rec).map((n, i) => `${n}=${text(rec.children.filter((k) => typeof k !== 'string')[i] as never)}`),
    ['Calendar:Type=3', 'Calendar:Interval=1', 'Calendar:WeekOfMonth=5', 'Calendar:DayOfWeek=127'],
  );
  // Day 30 has no equivalent nth form (it is not the last day of 31-day months): sent as is.
  const d30 = find(conv.toEas({ ...data, recurrence: { type: 2, dayOfMonth: 30 } }, ctx('14.1')), 'Recurrence', C)!;
  assert.equal(text(child(d30, 'DayOfMonth', C)), '30');
});

test('kb-1.4: an all-day event is kept all-day, midnight to midnight in its zone, whatever form the device sends', () => {
  const c = ctx('14.1', fixed());
  const add = (start: string, end: string) =>
    conv.fromEas(appData(el(C, 'Timezone', BERLIN), el(C, 'AllDayEvent', '1'), el(C, 'StartTime', start), el(C, 'EndTime', end), el(C, 'Subject', 'Trip')), c);
  // Local midnights (Berlin, CET): kept as sent.
  const local = add('20260309T230000Z', '20260312T230000Z');
  assert.deepEqual([local['allDayEvent'], local['startTime'], local['endTime']], [true, '2026-03-09T23:00:00.000Z', '2026-03-12T23:00:00.000Z']);
  // UTC midnights of the same dates (devices that keep all-day events in UTC): the same days.
  const utc = add('20260310T000000Z', '20260313T000000Z');
  assert.deepEqual([utc['startTime'], utc['endTime']], ['2026-03-09T23:00:00.000Z', '2026-03-12T23:00:00.000Z']);
  // Over the DST change the day boundary moves with the zone (March 29th starts at 23:00Z, ends at 22:00Z).
  const dst = add('20260328T230000Z', '20260329T220000Z');
  assert.deepEqual([dst['startTime'], dst['endTime']], ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
  // A Change that does not carry AllDayEvent keeps it.
  const changed = conv.fromEas(appData(el(C, 'Subject', 'Trip (3 days)')), c, local);
  assert.equal(changed['allDayEvent'], true);
  assert.equal(find(conv.toEas(changed, ctx('16.1')), 'AllDayEvent', C) && text(find(conv.toEas(changed, ctx('16.1')), 'AllDayEvent', C)!), '1');
});

test('kb-1.6: a 30-hour timed appointment stays timed, its times untouched', () => {
  const c = ctx('16.1', fixed());
  const data = conv.fromEas(appData(el(C, 'Timezone', BERLIN), el(C, 'AllDayEvent', '0'), el(C, 'StartTime', '20260310T060000Z'), el(C, 'EndTime', '20260311T120000Z'), el(C, 'Subject', 'Shift')), c);
  assert.deepEqual([data['allDayEvent'], data['startTime'], data['endTime']], [false, '2026-03-10T06:00:00.000Z', '2026-03-11T12:00:00.000Z']);
  const sent = conv.toEas(data, c);
  assert.equal(text(find(sent, 'AllDayEvent', C)!), '0');
  // Without AllDayEvent at all, nothing is inferred either.
  const bare = conv.fromEas(appData(el(C, 'StartTime', '20260310T000000Z'), el(C, 'EndTime', '20260311T060000Z')), c);
  assert.equal(bare['allDayEvent'], undefined);
  assert.equal(bare['endTime'], '2026-03-11T06:00:00.000Z');
});

test('kb-1.2: an attendee changing its copy of a meeting changes only its own properties', () => {
  const received: JsonObject = { ...MEETING, meetingStatus: 3, responseType: 3 };
  const c = ctx('14.1', fixed());
  const sent = appData(
    el(C, 'OrganizerName', 'Ann'),
    el(C, 'OrganizerEmail', 'ann@example.com'),
    el(C, 'MeetingStatus', '1'),
    el(C, 'Subject', 'My meeting now'),
    el(C, 'StartTime', '20260302T100000Z'),
    el(C, 'EndTime', '20260302T110000Z'),
    el(C, 'Reminder', '30'),
    el(C, 'BusyStatus', '1'),
    el(C, 'Attendees', el(C, 'Attendee', el(C, 'Email', 'ann@example.com'), el(C, 'Name', 'Ann'))),
    el(C, 'Exceptions', el(C, 'Exception', el(C, 'ExceptionStartTime', '20260323T080000Z'), el(C, 'Reminder', '60'), el(C, 'Subject', 'hijacked'))),
  );
  const after = conv.fromEas(sent, c, received);
  for (const key of ['organizerName', 'organizerEmail', 'meetingStatus', 'subject', 'startTime', 'endTime', 'attendees', 'uid']) assert.deepEqual(after[key], received[key], key);
  assert.equal(after['reminder'], 30);
  assert.equal(after['busyStatus'], 1);
  const ex = (after['exceptions'] as JsonObject[]).find((e) => e['exceptionStartTime'] === '2026-03-23T08:00:00.000Z')!;
  assert.deepEqual(ex, { exceptionStartTime: '2026-03-23T08:00:00.000Z', reminder: 60 });
  // The organizer's own copy (MeetingStatus 1) takes the same change.
  assert.equal(conv.fromEas(sent, c, MEETING)['subject'], 'My meeting now');
  // Without a MeetingStatus, the organizer's address tells: someone else's meeting is guarded and
  // marked received (3); the user's own is not.
  const noStatus = { ...MEETING };
  delete noStatus['meetingStatus'];
  const asAnn = conv.fromEas(sent, ctx('14.1', fixed({ userEmail: 'ann@example.com' })), noStatus);
  assert.equal(asAnn['subject'], 'Weekly');
  assert.equal(asAnn['organizerEmail'], 'olga@example.com');
  assert.equal(asAnn['meetingStatus'], 3);
  assert.equal(asAnn['reminder'], 30);
  const asOlga = conv.fromEas(sent, ctx('14.1', fixed({ userEmail: 'OLGA@example.com' })), noStatus);
  assert.equal(asOlga['subject'], 'My meeting now');
});

test('16.0 InstanceId: a Change of one occurrence becomes its exception; a Delete marks it deleted; the series stays', () => {
  const c = ctx('16.1', fixed({ instanceId: '20260323T080000Z' }));
  const one = conv.fromEas(appData(el(C, 'Subject', 'Only this one'), el(C, 'StartTime', '20260323T100000Z'), el(C, 'EndTime', '20260323T110000Z')), c, MEETING);
  assert.equal(one['subject'], 'Weekly');
  assert.equal(one['startTime'], MEETING['startTime']);
  const ex = (one['exceptions'] as JsonObject[]).find((e) => e['exceptionStartTime'] === '2026-03-23T08:00:00.000Z')!;
  assert.deepEqual(ex, { exceptionStartTime: '2026-03-23T08:00:00.000Z', subject: 'Only this one', startTime: '2026-03-23T10:00:00.000Z', endTime: '2026-03-23T11:00:00.000Z' });
  // Changing it again updates the same exception.
  const again = conv.fromEas(appData(el(C, 'Reminder', '1')), c, one);
  assert.equal((again['exceptions'] as JsonObject[]).filter((e) => e['exceptionStartTime'] === '2026-03-23T08:00:00.000Z').length, 1);
  // March 30th is after the change to summer time: 09:00 CEST is 07:00 UTC.
  const deleted = deleteInstance(again, '20260330T070000Z');
  assert.deepEqual((deleted['exceptions'] as JsonObject[]).at(-1), { exceptionStartTime: '2026-03-30T07:00:00.000Z', deleted: true });
  assert.equal(deleted['subject'], 'Weekly');
  assert.throws(() => deleteInstance({ subject: 'single' }, '20260330T080000Z'), ConversionError);
  // Not an occurrence: a Tuesday, or 08:30 instead of 08:00, or after the 10th occurrence.
  for (const id of ['20260324T080000Z', '20260323T083000Z', '20260511T070000Z', 'soon']) assert.throws(() => deleteInstance(MEETING, id), ConversionError, id);
  assert.throws(() => conv.fromEas(appData(el(C, 'Subject', 'x')), c), ConversionError, 'no series to change');
});

test('16.0: changing the series times drops its exceptions (MS-ASCAL 2.2.2.22); 14.1 keeps them', () => {
  const moved = appData(el(C, 'StartTime', '20260302T090000Z'), el(C, 'EndTime', '20260302T100000Z'));
  assert.equal(conv.fromEas(moved, ctx('16.1', fixed()), MEETING)['exceptions'], undefined);
  assert.deepEqual(conv.fromEas(moved, ctx('14.1', fixed()), MEETING)['exceptions'], MEETING['exceptions']);
  assert.deepEqual(conv.fromEas(appData(el(C, 'Subject', 'renamed')), ctx('16.1', fixed()), MEETING)['exceptions'], MEETING['exceptions']);
});

test('malformed Recurrence, Exceptions and Attendees are ConversionErrors', () => {
  const c = ctx('14.1', fixed());
  const bad = [
    el(C, 'Recurrence', el(C, 'Interval', '1')),
    el(C, 'Recurrence', el(C, 'Type', '4')),
    el(C, 'Recurrence', el(C, 'Type', '1'), el(C, 'DayOfWeek', '128')),
    el(C, 'Recurrence', el(C, 'Type', '2'), el(C, 'DayOfMonth', '32')),
    el(C, 'Recurrence', el(C, 'Type', '3'), el(C, 'WeekOfMonth', '6')),
    el(C, 'Recurrence', el(C, 'Type', '0'), el(C, 'Until', 'tomorrow')),
    el(C, 'Recurrence', el(C, 'Type', '0'), el(C, 'Occurrences', '-1')),
    el(C, 'Exceptions', el(C, 'Exception', el(C, 'Subject', 'no start'))),
    el(C, 'Exceptions', el(C, 'Exception', el(C, 'ExceptionStartTime', '20260309T080000Z'), el(C, 'Deleted', '2'))),
    el(C, 'Exceptions', el(C, 'Exception', el(C, 'ExceptionStartTime', '20260309T080000Z'), el(C, 'StartTime', 'soon'))),
  ];
  for (const e of bad) assert.throws(() => conv.fromEas(appData(e), c, MEETING), ConversionError, JSON.stringify(e));
});

test('an attendee or exception with a malformed optional part is kept without it (issue 14 item 9)', () => {
  const dropped: string[] = [];
  const c = ctx('14.1', { ...fixed(), ...droppedInto(dropped) });
  const attendees = el(
    C,
    'Attendees',
    el(C, 'Attendee', el(C, 'Email', 'x@example.com'), el(C, 'Name', 'X'), el(C, 'AttendeeStatus', '9'), el(C, 'AttendeeType', 'required')),
    el(C, 'Attendee', el(C, 'Email', 'y@example.com'), el(C, 'Name', 'Y'), el(C, 'AttendeeType', '2')),
  );
  const out = conv.fromEas(appData(attendees), c, MEETING);
  assert.deepEqual(out['attendees'], [{ email: 'x@example.com', name: 'X' }, { email: 'y@example.com', name: 'Y', attendeeType: 2 }]);
  const exceptions = el(C, 'Exceptions', el(C, 'Exception', el(C, 'ExceptionStartTime', '20260309T080000Z'), el(C, 'Subject', 'moved'), el(C, 'BusyStatus', '7'), el(C, 'Reminder', 'x')));
  const withException = conv.fromEas(appData(exceptions), c, MEETING);
  assert.deepEqual(withException['exceptions'], [{ exceptionStartTime: '2026-03-09T08:00:00.000Z', subject: 'moved' }]);
  assert.deepEqual(dropped, ['Calendar:AttendeeStatus', 'Calendar:AttendeeType', 'Calendar:BusyStatus', 'Calendar:Reminder']);
});

test('filterTime: the last occurrence of a bounded series; undefined for an endless one', () => {
  // 10 weekly Mondays from March 2nd (Berlin 09:00): the last is May 4th, 07:00-08:00 UTC (CEST).
  assert.equal(conv.filterTime!(MEETING)?.toISOString(), '2026-05-04T08:00:00.000Z');
  const endless = { ...MEETING, recurrence: { type: 1, dayOfWeek: 2 } };
  assert.equal(conv.filterTime!(endless), undefined);
  const until = { ...MEETING, recurrence: { type: 0, until: '2026-03-04T00:00:00.000Z' }, exceptions: [] };
  assert.equal(conv.filterTime!(until)?.toISOString(), '2026-03-04T09:00:00.000Z');
});

test('an item made on the server with an IANA zone is sent with that zone\'s TIME_ZONE_INFORMATION for its year', () => {
  const kids = conv.toEas({ subject: 'x', timeZone: 'America/New_York', startTime: '2026-06-01T13:00:00.000Z', endTime: '2026-06-01T14:00:00.000Z' }, ctx('14.1'));
  const tzi = decodeTimezone(text(find(kids, 'Timezone', C)!)!)!;
  assert.equal(tzi.bias, 300);
  assert.equal(tzi.standardName, 'Eastern Standard Time');
});

test('element trees kept verbatim by the earlier converter are still sent', () => {
  const raw = { ns: C, name: 'Recurrence', children: [{ ns: C, name: 'Type', children: ['0'] }] } as unknown as JsonObject;
  const kids = conv.toEas({ subject: 'old', startTime: '2026-06-01T13:00:00.000Z', endTime: '2026-06-01T14:00:00.000Z', recurrence: raw }, ctx('14.1'));
  assert.equal(text(child(find(kids, 'Recurrence', C)!, 'Type', C)!), '0');
});
