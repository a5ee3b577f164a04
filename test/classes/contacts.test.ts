import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CONTACT_FIELDS, PICTURE_MAX_BASE64, contactsConverter as conv, dayFromEas } from '../../src/classes/contacts.ts';
import { ConversionError } from '../../src/classes/types.ts';
import { el } from '../../src/wbxml/tree.ts';
import { FULL_CONTACT, PICTURE } from './contacts-fixture.ts';
import { appData, ctx, droppedInto, find, names, roundTrip, textOf } from './helpers.ts';

const N = 'Contacts';
const N2 = 'Contacts2';

test('every field of Contacts and Contacts2 round-trips in every version (12.0-16.1)', () => {
  for (const v of ['12.0', '12.1', '14.0', '14.1', '16.0', '16.1'] as const) {
    assert.deepEqual(roundTrip(conv, FULL_CONTACT, ctx(v, { bodyPreferences: [{ type: 1 }] })), FULL_CONTACT, v);
  }
});

test('the full set covers every client-writable element of both code pages', () => {
  const writable = CONTACT_FIELDS.filter((f) => f.key !== 'alias' && f.key !== 'weightedRank').map((f) => f.key);
  assert.deepEqual(writable.filter((k) => !(k in FULL_CONTACT)), []);
  // Code page 1: 50 elements (without Body/BodySize/BodyTruncated of 2.5, the container children
  // Category and Child, and server-side Alias and WeightedRank); code page 12: 10.
  assert.equal(writable.length, 60);
});

test('element order: Contacts.xsd (Body after Birthday), then Contacts2.xsd (MS-ASCNTC section 6)', () => {
  const got = names(conv.toEas({ ...FULL_CONTACT, alias: 'jdoe', weightedRank: 3 }, ctx('16.1')));
  assert.deepEqual(got.slice(0, 6), ['Contacts:Anniversary', 'Contacts:AssistantName', 'Contacts:AssistantPhoneNumber', 'Contacts:Birthday', 'AirSyncBase:Body', 'Contacts:Business2PhoneNumber']);
  assert.deepEqual(got.slice(-13), [
    'Contacts:Picture',
    'Contacts:Alias',
    'Contacts:WeightedRank',
    'Contacts2:CustomerId',
    'Contacts2:GovernmentId',
    'Contacts2:IMAddress',
    'Contacts2:IMAddress2',
    'Contacts2:IMAddress3',
    'Contacts2:ManagerName',
    'Contacts2:CompanyMainPhone',
    'Contacts2:AccountName',
    'Contacts2:NickName',
    'Contacts2:MMS',
  ]);
  // Alias and WeightedRank exist from 14.0 (MS-ASWBXML code page 1).
  const old = names(conv.toEas({ ...FULL_CONTACT, alias: 'jdoe', weightedRank: 3 }, ctx('12.1')));
  assert.equal(old.includes('Contacts:Alias'), false);
  assert.equal(old.includes('Contacts:WeightedRank'), false);
});

test('Children and Categories are containers', () => {
  const kids = conv.toEas(FULL_CONTACT, ctx('14.1'));
  assert.deepEqual(find(kids, 'Children', N)!.children.map((c) => typeof c === 'object' && 'name' in c && c.name), ['Child', 'Child']);
});

test('Birthday: the day a device meant, whatever its time zone (no drift)', () => {
  // Local midnight of 12 May 1980 in UTC+10, UTC-8, UTC+5:30, UTC-11, UTC; and UTC noon.
  for (const sent of ['1980-05-11T14:00:00.000Z', '1980-05-12T08:00:00.000Z', '1980-05-11T18:30:00.000Z', '1980-05-12T11:00:00.000Z', '1980-05-12T00:00:00.000Z', '19800511T140000Z']) {
    assert.equal(dayFromEas(sent), '1980-05-12', sent);
    const stored = conv.fromEas(appData(el(N, 'Birthday', sent)), ctx('14.1'));
    assert.equal(stored['birthday'], '1980-05-12');
    // Answered as Exchange answers a mailbox in UTC: midnight of the day.
    assert.equal(textOf(conv.toEas(stored, ctx('16.1')), 'Birthday', N), '1980-05-12T00:00:00.000Z');
  }
  // A value stored as an instant by an older version is read as its day.
  assert.equal(textOf(conv.toEas({ birthday: '1980-05-11T14:00:00.000Z' }, ctx('14.1')), 'Birthday', N), '1980-05-12T00:00:00.000Z');
});

test('an invalid Birthday or Anniversary is left out and the contact kept (issue 14 item 9)', () => {
  for (const e of [el(N, 'Birthday', '11/05/1980'), el(N, 'Birthday', '1980-13-01T00:00:00.000Z'), el(N, 'Anniversary', '2001-02-30T00:00:00.000Z')]) {
    const dropped: string[] = [];
    const supported = CONTACT_FIELDS.filter((f) => !f.serverOnly).map((f) => `${f.ns}:${f.name}`);
    // A Change that names every field (Supported) and sends only this one: the stored day stays.
    const changed = conv.fromEas(appData(e), ctx('14.1', { ...droppedInto(dropped), supported: [] }), FULL_CONTACT);
    assert.deepEqual(changed, FULL_CONTACT, JSON.stringify(e));
    const added = conv.fromEas(appData(el(N, 'FirstName', 'Ann'), e), ctx('14.1', { ...droppedInto(dropped), supported }));
    assert.deepEqual(added, { firstName: 'Ann' });
    assert.deepEqual(dropped, [`${N}:${e.name}`, `${N}:${e.name}`]);
  }
  // The body's Type is the body's own format: still Status 6.
  assert.throws(() => conv.fromEas(appData(el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', '9'))), ctx('14.1')), ConversionError);
});

test('Picture: kept up to the configured size; larger or not base64 is left out, the contact kept', () => {
  const big = Buffer.alloc(300 * 1024, 7).toString('base64'); // a 300 KB photo, as phones send
  assert.equal(conv.fromEas(appData(el(N, 'Picture', big)), ctx('14.1'))['picture'], big, 'default limit 5 MB');
  const dropped: string[] = [];
  const c = ctx('14.1', { pictureMaxBytes: 200 * 1024, ...droppedInto(dropped) });
  assert.deepEqual(conv.fromEas(appData(el(N, 'FirstName', 'Ann'), el(N, 'Picture', big)), c), { firstName: 'Ann' });
  assert.deepEqual(conv.fromEas(appData(el(N, 'FirstName', 'Ann'), el(N, 'Picture', 'not*base64!')), c), { firstName: 'Ann' });
  assert.deepEqual(conv.fromEas(appData(el(N, 'FirstName', 'Ann'), el(N, 'Picture', 'AAA')), c), { firstName: 'Ann' });
  assert.deepEqual(dropped, ['Contacts:Picture', 'Contacts:Picture', 'Contacts:Picture']);
  // Exactly at the limit is kept; on a Change a dropped picture leaves the stored one.
  const atLimit = Buffer.alloc(200 * 1024, 1).toString('base64');
  assert.equal(conv.fromEas(appData(el(N, 'Picture', atLimit)), c)['picture'], atLimit);
  assert.equal(conv.fromEas(appData(el(N, 'Picture', big)), { ...c, supported: [] }, FULL_CONTACT)['picture'], PICTURE);
  // Line-wrapped base64 is accepted and stored unwrapped.
  assert.equal(conv.fromEas(appData(el(N, 'Picture', 'QUJD\r\nREVG')), ctx('14.1'))['picture'], 'QUJDREVG');
});

test('Picture to devices: at most 48 KB of base64 (MS-ASCNTC 2.2.2.58); a larger one is not sent and not lost', () => {
  const max = 'A'.repeat(PICTURE_MAX_BASE64);
  assert.equal(textOf(conv.toEas({ picture: max }, ctx('16.1')), 'Picture', N), max);
  const big = Buffer.alloc(300 * 1024, 7).toString('base64');
  const stored = { firstName: 'Ann', picture: big };
  assert.equal(find(conv.toEas(stored, ctx('16.1')), 'Picture', N), undefined);
  // The device never had it: a Change without Picture keeps it, even without Supported...
  assert.equal(conv.fromEas(appData(el(N, 'FirstName', 'Anne')), ctx('14.1'), stored)['picture'], big);
  // ...and an empty Picture still removes it.
  assert.equal('picture' in conv.fromEas(appData(el(N, 'FirstName', 'Anne'), el(N, 'Picture')), ctx('14.1'), stored), false);
});

test('ghosting without Supported: a Change is the whole contact (omitted elements are cleared)', () => {
  const out = conv.fromEas(appData(el(N, 'FirstName', 'Jane'), el(N, 'JobTitle', 'Manager')), ctx('14.1'), FULL_CONTACT);
  assert.equal(out['jobTitle'], 'Manager');
  assert.equal(out['firstName'], 'Jane');
  assert.equal('lastName' in out, false);
  assert.equal('picture' in out, false);
  assert.equal('birthday' in out, false);
  // Body and Categories are not ghostable elements: kept when omitted.
  assert.deepEqual(out['body'], FULL_CONTACT['body']);
  assert.deepEqual(out['categories'], FULL_CONTACT['categories']);
});

test('ghosting with Supported: omitted elements outside the list are kept, those in it are cleared', () => {
  const c = ctx('14.1', { supported: ['Contacts:FirstName', 'Contacts:LastName', 'Contacts:JobTitle', 'Contacts2:NickName'] });
  const out = conv.fromEas(appData(el(N, 'FirstName', 'Janet'), el(N, 'LastName', 'Doe')), c, FULL_CONTACT);
  assert.equal(out['firstName'], 'Janet');
  assert.equal('jobTitle' in out, false, 'supported and omitted: cleared');
  assert.equal('nickName' in out, false, 'supported and omitted: cleared');
  assert.equal(out['picture'], PICTURE, 'ghosted: kept');
  assert.equal(out['birthday'], '1980-05-12', 'ghosted: kept');
  assert.equal(out['managerName'], 'Skinner', 'ghosted: kept');
  assert.deepEqual(out['categories'], FULL_CONTACT['categories'], 'Categories not named: kept');
  const managed = conv.fromEas(appData(el(N, 'FirstName', 'Janet')), ctx('14.1', { supported: ['Contacts:FirstName', 'Contacts:Categories'] }), FULL_CONTACT);
  assert.equal('categories' in managed, false, 'Categories named in Supported and omitted: cleared');
  // An empty Supported ghosts everything: only what is sent changes.
  const all = conv.fromEas(appData(el(N, 'JobTitle', 'Boss')), ctx('14.1', { supported: [] }), FULL_CONTACT);
  assert.deepEqual(all, { ...FULL_CONTACT, jobTitle: 'Boss' });
  // An empty element clears a field whatever its ghosting.
  const cleared = conv.fromEas(appData(el(N, 'MiddleName'), el(N2, 'NickName'), el(N, 'Categories')), ctx('14.1', { supported: [] }), FULL_CONTACT);
  assert.equal('middleName' in cleared, false);
  assert.equal('nickName' in cleared, false);
  assert.equal('categories' in cleared, false);
});

test('server-side Alias and WeightedRank are neither taken from a client nor cleared by one', () => {
  const stored = { ...FULL_CONTACT, alias: 'jdoe', weightedRank: 7 };
  const out = conv.fromEas(appData(el(N, 'FirstName', 'Jane'), el(N, 'Alias', 'evil')), ctx('16.1'), stored);
  assert.equal(out['alias'], 'jdoe');
  assert.equal(out['weightedRank'], 7);
});

test('matchKey: same contact with different whitespace, case and phone formatting matches', () => {
  const a = conv.matchKey({ firstName: 'Jane', lastName: 'Doe', email1Address: '"Jane Doe" <Jane@Example.com>', mobilePhoneNumber: '+1 (555) 010-0102' });
  const b = conv.matchKey({ firstName: ' jane', lastName: 'DOE ', email1Address: 'jane@example.com', mobilePhoneNumber: '+15550100102' });
  assert.ok(a);
  assert.equal(a, b);
  assert.notEqual(a, conv.matchKey({ firstName: 'John', lastName: 'Doe', email1Address: 'jane@example.com', mobilePhoneNumber: '+15550100102' }));
  assert.notEqual(a, conv.matchKey({ firstName: 'Jane', lastName: 'Doe', email1Address: 'jane@example.org', mobilePhoneNumber: '+15550100102' }));
  assert.notEqual(a, conv.matchKey({ firstName: 'Jane', lastName: 'Doe', email1Address: 'jane@example.com', mobilePhoneNumber: '+15550100103' }));
  // Without a mobile number, the home or business number identifies.
  assert.notEqual(conv.matchKey({ firstName: 'Jane', homePhoneNumber: '1' }), conv.matchKey({ firstName: 'Jane', homePhoneNumber: '2' }));
  assert.equal(conv.matchKey({}), undefined);
});

test('contacts have no FilterType window', () => {
  assert.equal(conv.filterTime, undefined);
});

test('text that was not UTF-8 on the wire (U+FFFD from the decoder) is a ConversionError', () => {
  assert.throws(() => conv.fromEas(appData(el(N, 'FirstName', 'J\uFFFDne')), ctx('14.1')), /UTF-8/);
});
