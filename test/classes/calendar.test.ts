import { test } from 'node:test';
import assert from 'node:assert/strict';

import { calendarConverter as conv, UTC_TIMEZONE } from '../../src/classes/calendar.ts';
import { ConversionError, type ConvertContext } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { child, el, text, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { appData, ctx, droppedInto, find, names, overTheWire, roundTrip, textOf } from './helpers.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';

const C = 'Calendar';
const A = 'AirSyncBase';

/** TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6): Bias is the LONG at offset 0; 480 is UTC-8. */
function tzi(bias: number): string {
  const b = Buffer.alloc(172);
  b.writeInt32LE(bias, 0);
  return b.toString('base64');
}

const node = (name: string, ...children: unknown[]) => ({ ns: C, name, children }) as JsonObject;

const FULL: JsonObject = {
  timezone: tzi(480),
  allDayEvent: false,
  busyStatus: 2,
  organizerName: 'Organizer',
  organizerEmail: 'organizer@example.com',
  dtStamp: '2009-11-10T10:00:00.000Z',
  endTime: '2009-11-12T09:00:00.000Z',
  location: 'Room 1',
  reminder: 15,
  sensitivity: 0,
  subject: 'Planning',
  startTime: '2009-11-12T08:00:00.000Z',
  uid: '040000008200E00074C5B7101A82E00800000000',
  meetingStatus: 1,
  attendees: [{ email: 'a@example.com', name: 'A', attendeeStatus: 3, attendeeType: 1 }],
  categories: ['Meetings'],
  // Weekly on Thursdays (2009-11-12 is a Thursday), the next week's occurrence deleted.
  recurrence: { type: 1, interval: 1, dayOfWeek: 16 },
  exceptions: [{ exceptionStartTime: '2009-11-19T08:00:00.000Z', deleted: true }],
  body: { text: 'Agenda' },
};

const fixed = (extra: Partial<ConvertContext> = {}) => ({ now: () => new Date('2009-11-12T18:03:00Z'), newUid: () => 'GENERATED-UID', ...extra });

test('full round trip (14.1): data -> toEas -> WBXML -> fromEas', () => {
  assert.deepEqual(roundTrip(conv, FULL, ctx('14.1', fixed())), FULL);
});

test('full round trip (16.0): AirSyncBase:Location; the client cannot set the UID', () => {
  const c = ctx('16.0', fixed());
  // As an Add, a 16.0 request's UID is ignored and the server generates one (MS-ASCAL 2.2.2.46).
  assert.deepEqual(roundTrip(conv, FULL, c), { ...FULL, uid: 'GENERATED-UID', uidGenerated: true });
  // As a Change of the stored item, everything comes back as it was.
  assert.deepEqual(conv.fromEas(overTheWire(conv.toEas(FULL, c)), c, FULL), FULL);
});

const ORDER_BEFORE_LOCATION = [
  'Calendar:Timezone',
  'Calendar:AllDayEvent',
  'AirSyncBase:Body',
  'Calendar:BusyStatus',
  'Calendar:OrganizerName',
  'Calendar:OrganizerEmail',
  'Calendar:DtStamp',
  'Calendar:EndTime',
];
const ORDER_AFTER_LOCATION = [
  'Calendar:Reminder',
  'Calendar:Sensitivity',
  'Calendar:Subject',
  'Calendar:StartTime',
  'Calendar:UID',
  'Calendar:MeetingStatus',
  'Calendar:Attendees',
  'Calendar:Categories',
  'Calendar:Recurrence',
  'Calendar:Exceptions',
];

test('element names and order (MS-ASCAL 2.2.2), Location before and from 16.0', () => {
  assert.deepEqual(names(conv.toEas(FULL, ctx('14.1'))), [...ORDER_BEFORE_LOCATION, 'Calendar:Location', ...ORDER_AFTER_LOCATION]);
  const v16 = conv.toEas(FULL, ctx('16.0'));
  assert.deepEqual(names(v16), [...ORDER_BEFORE_LOCATION, 'AirSyncBase:Location', ...ORDER_AFTER_LOCATION]);
  const loc = find(v16, 'Location', A)!;
  assert.equal(text(child(loc, 'DisplayName', A)), 'Room 1');
  assert.equal(find(conv.toEas(FULL, ctx('12.0')), 'Location', A), undefined);
});

test('StartTime, EndTime and DtStamp are Compact DateTime (MS-ASDTYPE 2.7.2)', () => {
  const kids = conv.toEas(FULL, ctx('14.1'));
  assert.equal(textOf(kids, 'StartTime'), '20091112T080000Z');
  assert.equal(textOf(kids, 'EndTime'), '20091112T090000Z');
  assert.equal(textOf(kids, 'DtStamp'), '20091110T100000Z');
  assert.equal(textOf(kids, 'AllDayEvent'), '0');
  assert.equal(textOf(kids, 'Reminder'), '15');
});

test('Timezone: kept as sent; a UTC TIME_ZONE_INFORMATION when none is stored', () => {
  const kids = conv.toEas({ subject: 'x', startTime: '2009-11-12T08:00:00.000Z', endTime: '2009-11-12T09:00:00.000Z' }, ctx('14.1'));
  const tz = textOf(kids, 'Timezone')!;
  assert.equal(tz, UTC_TIMEZONE);
  const bytes = Buffer.from(tz, 'base64');
  assert.equal(bytes.length, 172);
  assert.ok(bytes.every((b) => b === 0), 'UTC: bias 0, no names, no transitions');
});

test('a Change keeps the fields it does not carry', () => {
  const c = ctx('14.1', fixed());
  assert.deepEqual(conv.fromEas(appData(el(C, 'Subject', 'Planning v2')), c, FULL), { ...FULL, subject: 'Planning v2' });
  assert.deepEqual(conv.fromEas(appData(el(C, 'Reminder')), c, FULL), (({ reminder: _r, ...rest }) => rest)(FULL), 'empty Reminder removes it');
  const moved = conv.fromEas(appData(el(A, 'Location', el(A, 'DisplayName', 'Room 2'))), ctx('16.0', fixed()), FULL);
  assert.equal(moved['location'], 'Room 2');
  assert.equal(moved['uid'], FULL['uid'], '16.0 Change keeps the UID');
});

test('a malformed StartTime or EndTime is a ConversionError: they place the event', () => {
  const c = ctx('14.1', fixed());
  for (const e of [el(C, 'StartTime', '2009-11-12 08:00'), el(C, 'EndTime', '20091312T080000Z')]) {
    assert.throws(() => conv.fromEas(appData(e), c, FULL), ConversionError, JSON.stringify(e));
    assert.throws(() => conv.fromEas(appData(el(C, 'Subject', 'x'), e), c), ConversionError, JSON.stringify(e));
  }
});

// Informational elements (issue 14 item 9): left out, the event kept and the drop told.
const TOLERATED: Array<[WbxmlElement, string]> = [
  [el(C, 'AllDayEvent', '2'), 'Calendar:AllDayEvent'],
  [el(C, 'AllDayEvent', 'true'), 'Calendar:AllDayEvent'],
  [el(C, 'BusyStatus', '9'), 'Calendar:BusyStatus'],
  [el(C, 'Sensitivity', '4'), 'Calendar:Sensitivity'],
  [el(C, 'MeetingStatus', '2'), 'Calendar:MeetingStatus'],
  [el(C, 'Reminder', 'soon'), 'Calendar:Reminder'],
  [el(C, 'Reminder', '-15'), 'Calendar:Reminder'],
  [el(C, 'DtStamp', 'yesterday'), 'Calendar:DtStamp'],
  [el(C, 'ResponseType', '8'), 'Calendar:ResponseType'],
  [el(C, 'AppointmentReplyTime', '2009-02-30T00:00:00Z'), 'Calendar:AppointmentReplyTime'],
  [el(C, 'Timezone', 'not base64!'), 'Calendar:Timezone'],
  [el(C, 'Timezone', Buffer.alloc(100).toString('base64')), 'Calendar:Timezone'],
  // A Berlin blob cut short by 4 bytes (DaylightBias missing), as iOS has been seen to send
  // (horde/kronolith pull request 68: invalid timezone data from iOS clients).
  [el(C, 'Timezone', Buffer.from(berlinBlob(), 'base64').subarray(0, 168).toString('base64')), 'Calendar:Timezone'],
  [el(C, 'UID', 'x'.repeat(301)), 'Calendar:UID'],
];

test('a Change with a malformed optional element keeps the stored value of that element', () => {
  for (const [e, element] of TOLERATED) {
    const dropped: string[] = [];
    assert.deepEqual(conv.fromEas(appData(e), ctx('14.1', { ...fixed(), ...droppedInto(dropped) }), FULL), FULL, JSON.stringify(e));
    assert.deepEqual(dropped, [element]);
  }
});

test('an Add with a malformed optional element is stored without it', () => {
  for (const [e, element] of TOLERATED) {
    const dropped: string[] = [];
    const out = conv.fromEas(appData(el(C, 'Subject', 'Kept'), el(C, 'StartTime', '20091112T080000Z'), el(C, 'EndTime', '20091112T090000Z'), e), ctx('14.1', { ...fixed(), ...droppedInto(dropped) }));
    assert.equal(out['subject'], 'Kept', JSON.stringify(e));
    assert.deepEqual(dropped, [element]);
  }
});

test('a truncated Timezone on an Add: the UTC times are kept and the event is in the default zone (UTC)', () => {
  const truncated = Buffer.from(berlinBlob(), 'base64').subarray(0, 100).toString('base64');
  const out = conv.fromEas(appData(el(C, 'Timezone', truncated), el(C, 'Subject', 'Standup'), el(C, 'StartTime', '20091112T080000Z'), el(C, 'EndTime', '20091112T083000Z')), ctx('14.1', fixed()));
  assert.equal(out['startTime'], '2009-11-12T08:00:00.000Z');
  assert.equal(out['endTime'], '2009-11-12T08:30:00.000Z');
  assert.equal(out['timezone'], undefined);
  assert.equal(textOf(conv.toEas(out, ctx('14.1')), 'Timezone', C), UTC_TIMEZONE);
});

test('EndTime before StartTime is a ConversionError, also against the stored times', () => {
  const c = ctx('14.1', fixed());
  assert.throws(
    () => conv.fromEas(appData(el(C, 'StartTime', '20091112T100000Z'), el(C, 'EndTime', '20091112T090000Z')), c),
    ConversionError,
  );
  assert.throws(() => conv.fromEas(appData(el(C, 'StartTime', '20091112T100000Z')), c, FULL), ConversionError);
  // Equal start and end is a zero-length event, allowed.
  const zero = conv.fromEas(appData(el(C, 'StartTime', '20091112T090000Z')), c, FULL);
  assert.equal(zero['startTime'], '2009-11-12T09:00:00.000Z');
});

test('UID: kept from 12.x/14.x clients, ignored from 16.0 (server-generated), ClientUid stored', () => {
  const v14 = conv.fromEas(appData(el(C, 'Subject', 's'), el(C, 'UID', 'client-uid-1')), ctx('14.1', fixed()));
  assert.equal(v14['uid'], 'client-uid-1');
  assert.equal(v14['uidGenerated'], undefined);

  const v14NoUid = conv.fromEas(appData(el(C, 'Subject', 's')), ctx('14.1', fixed()));
  assert.equal(v14NoUid['uid'], 'GENERATED-UID');
  assert.equal(v14NoUid['uidGenerated'], true);

  const v16 = conv.fromEas(appData(el(C, 'Subject', 's'), el(C, 'UID', 'sent-anyway'), el(C, 'ClientUid', 'abc-123')), ctx('16.0', fixed()));
  assert.equal(v16['uid'], 'GENERATED-UID');
  assert.equal(v16['clientUid'], 'abc-123');
  assert.equal(find(conv.toEas(v16, ctx('16.0')), 'ClientUid', C), undefined, 'ClientUid is request-only');

  const random = conv.fromEas(appData(el(C, 'Subject', 's')), ctx('16.0'));
  assert.match(random['uid'] as string, /^[0-9A-F]{32}$/);
});

test('missing StartTime/EndTime on an Add (MS-ASCAL 3.2.4.4, "18:03 rounds to 18:30")', () => {
  const c = ctx('14.1', fixed()); // now 2009-11-12 18:03 UTC
  const both = conv.fromEas(appData(el(C, 'Subject', 's')), c);
  assert.equal(both['startTime'], '2009-11-12T18:30:00.000Z');
  assert.equal(both['endTime'], '2009-11-12T19:00:00.000Z');
  assert.equal(both['dtStamp'], '2009-11-12T18:03:00.000Z');

  // StartTime absent, EndTime in the past: Status 6.
  assert.throws(() => conv.fromEas(appData(el(C, 'EndTime', '20091112T100000Z')), c), ConversionError);
  // StartTime absent, EndTime in the future: start at the rounded current time.
  const future = conv.fromEas(appData(el(C, 'EndTime', '20091114T100000Z')), c);
  assert.equal(future['startTime'], '2009-11-12T18:30:00.000Z');
  assert.equal(future['endTime'], '2009-11-14T10:00:00.000Z');
  // ... unless the rounded current time is after the end time: Status 6.
  assert.throws(() => conv.fromEas(appData(el(C, 'EndTime', '20091112T181500Z')), c), ConversionError);
  // StartTime in the past, EndTime absent: end at the rounded current time plus 30 minutes.
  const past = conv.fromEas(appData(el(C, 'StartTime', '20091112T080000Z')), c);
  assert.equal(past['startTime'], '2009-11-12T08:00:00.000Z');
  assert.equal(past['endTime'], '2009-11-12T19:00:00.000Z');
  // StartTime in the future, EndTime absent: Status 6.
  assert.throws(() => conv.fromEas(appData(el(C, 'StartTime', '20091120T080000Z')), c), ConversionError);
  // On a Change, absence keeps the stored times.
  const change = conv.fromEas(appData(el(C, 'Subject', 'x')), c, FULL);
  assert.equal(change['startTime'], FULL['startTime']);
});

test('matchKey: by UID (case-insensitive), by ClientUid, else by subject and start', () => {
  assert.equal(conv.matchKey({ uid: 'ABC-1', subject: 'one' }), conv.matchKey({ uid: 'abc-1', subject: 'other' }));
  assert.notEqual(conv.matchKey({ uid: 'ABC-1' }), conv.matchKey({ uid: 'ABC-2' }));
  assert.equal(conv.matchKey({ clientUid: 'c-1', uid: 'X', uidGenerated: true }), conv.matchKey({ clientUid: 'c-1', uid: 'Y', uidGenerated: true }));

  const a = conv.matchKey({ subject: ' Team   Sync', startTime: '2009-11-12T08:00:00.000Z', uid: 'G1', uidGenerated: true });
  const b = conv.matchKey({ subject: 'team sync', startTime: '2009-11-12T08:00:00.000Z', uid: 'G2', uidGenerated: true });
  const later = conv.matchKey({ subject: 'team sync', startTime: '2009-11-12T09:00:00.000Z' });
  assert.ok(a);
  assert.equal(a, b, 'server-made UIDs do not count; subject and start do');
  assert.notEqual(a, later);
  assert.equal(conv.matchKey({}), undefined);
});

test('filterTime: the end time; undefined for a recurring item', () => {
  const single = { ...FULL, recurrence: undefined } as unknown as JsonObject;
  delete single['recurrence'];
  assert.deepEqual(conv.filterTime!(single), new Date('2009-11-12T09:00:00.000Z'));
  assert.equal(conv.filterTime!(FULL), undefined);
});
