import { test } from 'node:test';
import assert from 'node:assert/strict';

import { contactsConverter as conv } from '../../src/classes/contacts.ts';
import { ConversionError } from '../../src/classes/types.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { el } from '../../src/wbxml/tree.ts';
import { appData, ctx, names, roundTrip, textOf } from './helpers.ts';

const N = 'Contacts';

const FULL: JsonObject = {
  fileAs: 'Doe, Jane',
  firstName: 'Jane',
  middleName: 'Q',
  lastName: 'Doe',
  companyName: 'Example Ltd',
  jobTitle: 'Engineer',
  email1Address: '"Jane Doe" <jane@example.com>',
  email2Address: 'jane.doe@example.org',
  email3Address: 'jd@example.net',
  businessPhoneNumber: '+1 555 0100',
  homePhoneNumber: '+1 555 0101',
  mobilePhoneNumber: '+1 (555) 010-0102',
  birthday: '1980-05-11T22:00:00.000Z',
  categories: ['Friends'],
  body: { text: 'Met at the conference.' },
};

test('full round trip: data -> toEas -> WBXML -> fromEas', () => {
  assert.deepEqual(roundTrip(conv, FULL, ctx('14.1')), FULL);
  assert.deepEqual(roundTrip(conv, FULL, ctx('12.0', { bodyPreferences: [{ type: 1 }] })), FULL);
});

test('element names and order (Contacts.xsd AllProps, MS-ASCNTC section 6.1)', () => {
  assert.deepEqual(names(conv.toEas(FULL, ctx('16.1'))), [
    'Contacts:Birthday',
    'AirSyncBase:Body',
    'Contacts:BusinessPhoneNumber',
    'Contacts:Email1Address',
    'Contacts:Email2Address',
    'Contacts:Email3Address',
    'Contacts:FileAs',
    'Contacts:FirstName',
    'Contacts:MiddleName',
    'Contacts:HomePhoneNumber',
    'Contacts:MobilePhoneNumber',
    'Contacts:CompanyName',
    'Contacts:LastName',
    'Contacts:JobTitle',
    'Contacts:Categories',
  ]);
});

test('Birthday is an MS-ASDTYPE dateTime', () => {
  assert.equal(textOf(conv.toEas(FULL, ctx('14.1')), 'Birthday'), '1980-05-11T22:00:00.000Z');
});

test('a Change keeps the fields it does not carry; an empty element clears one', () => {
  const c = ctx('14.1');
  assert.deepEqual(conv.fromEas(appData(el(N, 'JobTitle', 'Manager')), c, FULL), { ...FULL, jobTitle: 'Manager' });
  const cleared = conv.fromEas(appData(el(N, 'MiddleName')), c, FULL);
  assert.equal('middleName' in cleared, false);
  assert.equal(cleared['firstName'], 'Jane');
});

test('malformed values are ConversionErrors', () => {
  const c = ctx('14.1');
  for (const e of [el(N, 'Birthday', '11/05/1980'), el(N, 'Birthday', '1980-13-01T00:00:00.000Z')]) {
    assert.throws(() => conv.fromEas(appData(e), c, FULL), ConversionError);
  }
  assert.throws(() => conv.fromEas(appData(el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', '9'))), c), ConversionError);
});

test('matchKey: same contact with different whitespace, case and phone formatting matches', () => {
  const a = conv.matchKey({ firstName: 'Jane', lastName: 'Doe', email1Address: '"Jane Doe" <Jane@Example.com>', mobilePhoneNumber: '+1 (555) 010-0102' });
  const b = conv.matchKey({ firstName: ' jane', lastName: 'DOE ', email1Address: 'jane@example.com', mobilePhoneNumber: '+15550100102' });
  assert.ok(a);
  assert.equal(a, b);
  assert.notEqual(a, conv.matchKey({ firstName: 'John', lastName: 'Doe', email1Address: 'jane@example.com', mobilePhoneNumber: '+15550100102' }));
  assert.notEqual(a, conv.matchKey({ firstName: 'Jane', lastName: 'Doe', email1Address: 'jane@example.org', mobilePhoneNumber: '+15550100102' }));
  assert.notEqual(a, conv.matchKey({ firstName: 'Jane', lastName: 'Doe', email1Address: 'jane@example.com', mobilePhoneNumber: '+15550100103' }));
  assert.equal(conv.matchKey({}), undefined);
});

test('contacts have no FilterType window', () => {
  assert.equal(conv.filterTime, undefined);
});
