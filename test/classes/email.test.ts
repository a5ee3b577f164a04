import { test } from 'node:test';
import assert from 'node:assert/strict';

import { emailConverter as conv } from '../../src/classes/email.ts';
import { ConversionError } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { child, el, text } from '../../src/wbxml/tree.ts';
import { appData, childNames, ctx, find, names, roundTrip, textOf } from './helpers.ts';

const E = 'Email';
const T = 'Tasks';
const A = 'AirSyncBase';

const FULL: JsonObject = {
  to: '"Device User" <someone@example.com>',
  cc: '"Other" <other@example.com>',
  from: '"Sender" <sender@example.com>',
  subject: 'Quarterly report',
  replyTo: 'replies@example.com',
  dateReceived: '2007-11-06T23:42:16.829Z',
  displayTo: 'Device User',
  threadTopic: 'Quarterly report',
  importance: 2,
  read: true,
  messageClass: 'IPM.Note',
  categories: ['Work', 'Finance'],
  flag: {
    status: 2,
    flagType: 'for Follow Up',
    startDate: '2009-11-12T00:00:00.000Z',
    dueDate: '2009-11-13T00:00:00.000Z',
    utcStartDate: '2009-11-12T08:00:00.000Z',
    utcDueDate: '2009-11-13T08:00:00.000Z',
    reminderSet: true,
    reminderTime: '2009-11-12T16:00:00.000Z',
  },
  body: { text: 'Numbers attached.', html: '<p>Numbers attached.</p>' },
};

test('full round trip: data -> toEas -> WBXML -> fromEas', () => {
  const c = ctx('14.1', { bodyPreferences: [{ type: 2 }] });
  const back = roundTrip(conv, FULL, c);
  // The device gets the HTML body; what comes back is what the client sent: the HTML.
  assert.deepEqual(back, { ...FULL, body: { html: '<p>Numbers attached.</p>' } });
  // With plain text on the wire, the plain text comes back.
  const plain = roundTrip(conv, FULL, ctx('14.1', { bodyPreferences: [{ type: 1 }] }));
  assert.deepEqual(plain, { ...FULL, body: { text: 'Numbers attached.' } });
});

test('element names and order (Email.xsd AllProps, Exchange placement of AirSyncBase elements)', () => {
  const kids = conv.toEas(FULL, ctx('14.1'));
  assert.deepEqual(names(kids), [
    'Email:To',
    'Email:Cc',
    'Email:From',
    'Email:Subject',
    'Email:ReplyTo',
    'Email:DateReceived',
    'Email:DisplayTo',
    'Email:ThreadTopic',
    'Email:Importance',
    'Email:Read',
    'AirSyncBase:Body',
    'Email:MessageClass',
    'Email:InternetCPID',
    'Email:Flag',
    'AirSyncBase:NativeBodyType',
    'Email:Categories',
  ]);
  assert.deepEqual(childNames(find(kids, 'Flag', E)), [
    'Email:Status',
    'Email:FlagType',
    'Tasks:StartDate',
    'Tasks:DueDate',
    'Tasks:UtcStartDate',
    'Tasks:UtcDueDate',
    'Tasks:ReminderSet',
    'Tasks:ReminderTime',
  ]);
});

test('values on the wire: dateTime (MS-ASDTYPE 2.3), booleans 0/1, InternetCPID 65001', () => {
  const kids = conv.toEas(FULL, ctx('14.1'));
  assert.equal(textOf(kids, 'DateReceived'), '2007-11-06T23:42:16.829Z');
  assert.equal(textOf(kids, 'Read'), '1');
  assert.equal(textOf(kids, 'Importance'), '2');
  assert.equal(textOf(kids, 'InternetCPID'), '65001');
  assert.equal(textOf(kids, 'NativeBodyType', A), '2');
  const flag = find(kids, 'Flag', E)!;
  assert.equal(text(child(flag, 'UtcDueDate', T)), '2009-11-13T08:00:00.000Z');
  assert.equal(text(child(flag, 'ReminderSet', T)), '1');
});

test('12.x clients get no Categories (Email:Categories is 14.0+, MS-ASEMAIL 2.2.2.16)', () => {
  const kids = conv.toEas(FULL, ctx('12.1'));
  assert.equal(find(kids, 'Categories', E), undefined);
});

test('defaults for a bare message; Flag sent empty when not flagged', () => {
  const kids = conv.toEas({ subject: 'x' }, ctx('16.1'));
  assert.equal(textOf(kids, 'Importance'), '1');
  assert.equal(textOf(kids, 'Read'), '0');
  assert.equal(textOf(kids, 'MessageClass'), 'IPM.Note');
  assert.deepEqual(find(kids, 'Flag', E), { ns: E, name: 'Flag', children: [] });
});

test('a Change keeps the fields it does not carry', () => {
  const c = ctx('14.1');
  const changed = conv.fromEas(appData(el(E, 'Read', '0')), c, FULL);
  assert.deepEqual(changed, { ...FULL, read: false });
  const recat = conv.fromEas(appData(el(E, 'Categories')), c, FULL);
  assert.deepEqual(recat, { ...FULL, categories: [] }, 'an empty Categories removes all (MS-ASEMAIL 2.2.2.16)');
});

test('an empty Flag or Status 0 clears the flag', () => {
  const c = ctx('14.1');
  assert.equal(conv.fromEas(appData(el(E, 'Flag')), c, FULL)['flag'], undefined);
  assert.equal(conv.fromEas(appData(el(E, 'Flag', el(E, 'Status', '0'))), c, FULL)['flag'], undefined);
});

test('marking a flag complete needs DateCompleted and CompleteTime (MS-ASEMAIL 2.2.2.23)', () => {
  const c = ctx('14.1');
  const done = conv.fromEas(
    appData(el(E, 'Flag', el(E, 'Status', '1'), el(T, 'DateCompleted', '2009-11-14T10:00:00.000Z'), el(E, 'CompleteTime', '2009-11-14T10:00:00.000Z'))),
    c,
    FULL,
  );
  assert.deepEqual(done['flag'], { status: 1, dateCompleted: '2009-11-14T10:00:00.000Z', completeTime: '2009-11-14T10:00:00.000Z' });
  assert.throws(() => conv.fromEas(appData(el(E, 'Flag', el(E, 'Status', '1'))), c, FULL), ConversionError);
  assert.throws(
    () => conv.fromEas(appData(el(E, 'Flag', el(E, 'Status', '1'), el(T, 'DateCompleted', '2009-11-14T10:00:00.000Z'))), c, FULL),
    ConversionError,
  );
});

test('malformed values are ConversionErrors', () => {
  const c = ctx('14.1');
  const bad = [
    el(E, 'DateReceived', 'yesterday'),
    el(E, 'DateReceived', '2009-02-30T00:00:00.000Z'),
    el(E, 'Read', '2'),
    el(E, 'Read', 'yes'),
    el(E, 'Importance', '3'),
    el(E, 'Importance', '-1'),
    // The four flag dates all set or none (MS-ASEMAIL 2.2.2.72).
    el(E, 'Flag', el(E, 'Status', '2'), el(T, 'StartDate', '2009-11-12T00:00:00.000Z')),
    // DueDate before StartDate (MS-ASEMAIL 2.2.2.31).
    el(
      E,
      'Flag',
      el(E, 'Status', '2'),
      el(T, 'StartDate', '2009-11-13T00:00:00.000Z'),
      el(T, 'DueDate', '2009-11-12T00:00:00.000Z'),
      el(T, 'UtcStartDate', '2009-11-13T00:00:00.000Z'),
      el(T, 'UtcDueDate', '2009-11-14T00:00:00.000Z'),
    ),
    el(E, 'Flag', el(E, 'Status', '5')),
  ];
  for (const e of bad) assert.throws(() => conv.fromEas(appData(e), c, FULL), ConversionError, JSON.stringify(e));
});

test('dates are accepted in either MS-ASDTYPE form and stored as ISO strings', () => {
  const c = ctx('14.1');
  assert.equal(conv.fromEas(appData(el(E, 'DateReceived', '20091112T081500Z')), c)['dateReceived'], '2009-11-12T08:15:00.000Z');
  assert.equal(conv.fromEas(appData(el(E, 'DateReceived', '2009-11-12T08:15:00Z')), c)['dateReceived'], '2009-11-12T08:15:00.000Z');
});

test('matchKey: same message with different whitespace and case matches; another does not', () => {
  const a = conv.matchKey({ subject: 'Quarterly  Report ', from: '"Sender" <Sender@Example.com>', dateReceived: '2007-11-06T23:42:16.829Z' });
  const b = conv.matchKey({ subject: 'quarterly report', from: 'sender@example.com', dateReceived: '2007-11-06T23:42:16.829Z' });
  const other = conv.matchKey({ subject: 'quarterly report', from: 'sender@example.com', dateReceived: '2007-11-07T23:42:16.829Z' });
  const otherSubject = conv.matchKey({ subject: 'Annual report', from: 'sender@example.com', dateReceived: '2007-11-06T23:42:16.829Z' });
  assert.ok(a);
  assert.equal(a, b);
  assert.notEqual(a, other);
  assert.notEqual(a, otherSubject);
  assert.equal(conv.matchKey({}), undefined);
});

test('filterTime is DateReceived', () => {
  assert.deepEqual(conv.filterTime!(FULL), new Date('2007-11-06T23:42:16.829Z'));
  assert.equal(conv.filterTime!({}), undefined);
});
