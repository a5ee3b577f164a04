import { test } from 'node:test';
import assert from 'node:assert/strict';

import { emailConverter as conv } from '../../src/classes/email.ts';
import { ConversionError } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { child, el, text } from '../../src/wbxml/tree.ts';
import { appData, childNames, ctx, droppedInto, find, names, overTheWire, roundTrip, textOf } from './helpers.ts';

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
    'Email:ContentClass',
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

test('a malformed Read, Importance or date is left out, the rest of the Change applied (issue 14 item 9)', () => {
  for (const bad of [el(E, 'DateReceived', 'yesterday'), el(E, 'DateReceived', '2009-02-30T00:00:00.000Z'), el(E, 'Read', '2'), el(E, 'Read', 'yes'), el(E, 'Importance', '3'), el(E, 'Importance', '-1')]) {
    const dropped: string[] = [];
    const out = conv.fromEas(appData(bad, el(E, 'Categories', el(E, 'Category', 'Later'))), ctx('14.1', droppedInto(dropped)), FULL);
    assert.deepEqual(out, { ...FULL, categories: ['Later'] }, JSON.stringify(bad));
    assert.deepEqual(dropped, [`${E}:${bad.name}`]);
  }
  // A malformed flag date: the flag is kept without its dates (they go together, MS-ASEMAIL 2.2.2.72).
  const dropped: string[] = [];
  const flagged = conv.fromEas(
    appData(el(E, 'Flag', el(E, 'Status', '2'), el(E, 'FlagType', 'Follow up'), el(T, 'StartDate', '2009-11-12T00:00:00.000Z'), el(T, 'DueDate', 'friday'), el(T, 'UtcStartDate', '2009-11-12T00:00:00.000Z'), el(T, 'UtcDueDate', '2009-11-13T00:00:00.000Z'))),
    ctx('14.1', droppedInto(dropped)),
    FULL,
  );
  assert.deepEqual(flagged['flag'], { status: 2, flagType: 'Follow up' });
  assert.deepEqual(dropped, ['Tasks:DueDate']);
});

test('malformed flags are ConversionErrors', () => {
  const c = ctx('14.1');
  const bad = [
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

const DELIVERED: JsonObject = {
  to: '"Alice" <alice@example.com>',
  from: '"Bob" <bob@example.com>',
  sender: 'secretary@example.com',
  subject: 'Report',
  dateReceived: '2024-06-01T10:00:00.000Z',
  importance: 1,
  read: false,
  messageClass: 'IPM.Note',
  contentClass: 'urn:content-classes:message',
  internetCPID: 1252,
  conversationId: '00112233445566778899aabbccddeeff',
  conversationIndex: '01da3c45761e00112233445566778899aabbccddeeff',
  receivedAsBcc: true,
  lastVerbExecuted: 2,
  lastVerbExecutionTime: '2024-06-02T08:00:00.000Z',
  bcc: 'hidden@example.com',
  mailId: 'm0123456789abcdef01234567',
  mime: { sha256: 'a'.repeat(64), size: 1234 },
  attachments: [
    { index: 0, name: 'image001.png', contentType: 'image/png', size: 69, sha256: 'b'.repeat(64), contentId: 'image001.png@x', isInline: true, method: 1 },
    { index: 1, name: 'forwarded.eml', contentType: 'message/rfc822', size: 900, sha256: 'c'.repeat(64), isInline: false, method: 5 },
  ],
  body: { text: 'hello', html: '<p>hello</p>' },
};

test('Email2 fields by version: ConversationId/Index binary, LastVerb, ReceivedAsBcc, Sender from 14.0; Bcc, IsDraft from 16.0 (MS-ASEMAIL 2.2.2)', () => {
  const k12 = conv.toEas(DELIVERED, ctx('12.1'));
  assert.equal(k12.filter((k) => k.ns === 'Email2').length, 0, '12.x gets no Email2 elements');
  assert.equal(textOf(k12, 'InternetCPID'), '1252');
  assert.equal(textOf(k12, 'ContentClass'), 'urn:content-classes:message');
  const k14 = conv.toEas(DELIVERED, ctx('14.1'));
  assert.deepEqual(
    names(k14).filter((n) => n.startsWith('Email2:')),
    ['Email2:ConversationId', 'Email2:ConversationIndex', 'Email2:LastVerbExecuted', 'Email2:LastVerbExecutionTime', 'Email2:ReceivedAsBcc', 'Email2:Sender'],
  );
  const convId = find(k14, 'ConversationId', 'Email2')!.children[0];
  assert.ok(convId instanceof Uint8Array);
  assert.equal(Buffer.from(convId).toString('hex'), DELIVERED.conversationId);
  assert.equal(textOf(k14, 'ReceivedAsBcc', 'Email2'), '1');
  const k16 = conv.toEas(DELIVERED, ctx('16.0'));
  assert.equal(textOf(k16, 'Bcc', 'Email2'), 'hidden@example.com');
  assert.equal(textOf(k16, 'IsDraft', 'Email2'), '0');
  // survives the WBXML codec
  const back = overTheWire(k16);
  assert.ok(child(back, 'ConversationIndex', 'Email2'));
});

test('Attachments (AirSyncBase, 12.0+): DisplayName, FileReference, Method, EstimatedDataSize, ContentId, IsInline', () => {
  const kids = conv.toEas(DELIVERED, ctx('12.1'));
  const n = names(kids);
  assert.deepEqual(n.slice(n.indexOf('Email:Read'), n.indexOf('Email:Read') + 3), ['Email:Read', 'AirSyncBase:Attachments', 'AirSyncBase:Body']);
  const atts = find(kids, 'Attachments', A)!.children as ReturnType<typeof el>[];
  assert.equal(atts.length, 2);
  assert.deepEqual(childNames(atts[0]!), [
    'AirSyncBase:DisplayName',
    'AirSyncBase:FileReference',
    'AirSyncBase:Method',
    'AirSyncBase:EstimatedDataSize',
    'AirSyncBase:ContentId',
    'AirSyncBase:IsInline',
  ]);
  assert.equal(text(child(atts[0]!, 'FileReference', A)), 'm0123456789abcdef01234567:0');
  assert.equal(text(child(atts[1]!, 'Method', A)), '5');
  assert.equal(text(child(atts[1]!, 'EstimatedDataSize', A)), '900');
  assert.equal(child(atts[1]!, 'IsInline', A), undefined);
});

test('a device changes Read, Flag and Categories of delivered mail; everything else is kept', () => {
  const c = ctx('14.1');
  const changed = conv.fromEas(
    appData(el(E, 'Read', '1'), el(E, 'Flag', el(E, 'Status', '2'), el(E, 'FlagType', 'Follow up')), el(E, 'Categories', el(E, 'Category', 'Red'))),
    c,
    DELIVERED,
  );
  assert.deepEqual(changed, { ...DELIVERED, read: true, flag: { status: 2, flagType: 'Follow up' }, categories: ['Red'] });
});
