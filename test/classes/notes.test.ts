import { test } from 'node:test';
import assert from 'node:assert/strict';

import { notesConverter as conv } from '../../src/classes/notes.ts';
import { ConversionError } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { el } from '../../src/wbxml/tree.ts';
import { appData, ctx, droppedInto, names, roundTrip, textOf } from './helpers.ts';

const N = 'Notes';

const FULL: JsonObject = {
  subject: 'Shopping',
  messageClass: 'IPN.StickyNote',
  lastModifiedDate: '2009-07-02T19:51:42.000Z',
  categories: ['Home', 'Errands'],
  body: { text: 'milk, eggs' },
};

test('full round trip (14.0 and later): data -> toEas -> WBXML -> fromEas', () => {
  for (const v of ['14.0', '14.1', '16.0', '16.1'] as const) assert.deepEqual(roundTrip(conv, FULL, ctx(v)), FULL, v);
});

test('element names and order (Sync schema: airsyncbase:Body, then notes elements)', () => {
  assert.deepEqual(names(conv.toEas(FULL, ctx('14.1'))), [
    'AirSyncBase:Body',
    'Notes:Subject',
    'Notes:MessageClass',
    'Notes:LastModifiedDate',
    'Notes:Categories',
  ]);
});

test('LastModifiedDate is Compact DateTime (MS-ASNOTE 2.2.2.4); MessageClass defaults to IPN.StickyNote', () => {
  assert.equal(textOf(conv.toEas(FULL, ctx('14.1')), 'LastModifiedDate'), '20090702T195142Z');
  assert.equal(textOf(conv.toEas({ subject: 'x' }, ctx('14.1')), 'MessageClass'), 'IPN.StickyNote');
});

test('12.x: the Notes class is refused (14.0+, MS-ASNOTE), and says so', () => {
  assert.equal(conv.minVersion, '14.0');
  for (const v of ['12.0', '12.1'] as const) {
    assert.throws(() => conv.toEas(FULL, ctx(v)), ConversionError);
    assert.throws(() => conv.fromEas(appData(el(N, 'Subject', 'x')), ctx(v)), ConversionError);
  }
});

test('a Change is the whole note: omitted elements are cleared, an omitted body is kept', () => {
  const c = ctx('14.1', { now: () => new Date('2009-07-03T10:11:12.345Z') });
  assert.deepEqual(conv.fromEas(appData(el(N, 'Subject', 'Groceries')), c, FULL), {
    subject: 'Groceries',
    body: FULL['body'],
    // Not sent: the time of the write, to the second (Compact DateTime).
    lastModifiedDate: '2009-07-03T10:11:12.000Z',
  });
  assert.deepEqual(conv.fromEas(appData(el(N, 'Subject', 'x'), el(N, 'Categories')), c, FULL)['categories'] ?? [], []);
  assert.deepEqual(conv.fromEas(appData(el(N, 'Subject', 'x'), el(N, 'LastModifiedDate', '20090702T195142Z')), c, FULL)['lastModifiedDate'], '2009-07-02T19:51:42.000Z');
});

test('a malformed LastModifiedDate is left out: the note is kept with the time of the write (issue 14 item 9)', () => {
  const dropped: string[] = [];
  const c = ctx('14.1', { now: () => new Date('2009-07-03T10:11:12.345Z'), ...droppedInto(dropped) });
  const out = conv.fromEas(appData(el(N, 'Subject', 'Shopping'), el(N, 'LastModifiedDate', '2009/07/02')), c, FULL);
  assert.deepEqual(out, { subject: 'Shopping', body: FULL['body'], lastModifiedDate: '2009-07-03T10:11:12.000Z' });
  assert.deepEqual(dropped, ['Notes:LastModifiedDate']);
  // A 12.x client still cannot write notes (MS-ASNOTE 2.2.2).
  assert.throws(() => conv.fromEas(appData(el(N, 'Subject', 'x')), ctx('12.1')), ConversionError);
});

test('matchKey: subject and body, whitespace and case insensitive', () => {
  const a = conv.matchKey({ subject: 'Shopping', body: { text: 'Milk,  eggs\n' } });
  assert.ok(a);
  assert.equal(a, conv.matchKey({ subject: ' shopping', body: { html: '<p>milk, eggs</p>' } }));
  assert.notEqual(a, conv.matchKey({ subject: 'Shopping', body: { text: 'milk, bread' } }));
  assert.notEqual(a, conv.matchKey({ subject: 'Errands', body: { text: 'milk, eggs' } }));
  assert.equal(conv.matchKey({}), undefined);
});
