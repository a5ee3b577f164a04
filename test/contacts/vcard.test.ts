import { test } from 'node:test';
import assert from 'node:assert/strict';
import ICAL from 'ical.js';

import { contactToVCard, decodeVCardFile, foldLine, parseVCards, vcardDate, VCardError } from '../../src/contacts/vcard.ts';
import type { JsonObject } from '../../src/store/types.ts';
import { FULL_CONTACT } from '../classes/contacts-fixture.ts';

const card = (...lines: string[]) => ['BEGIN:VCARD', ...lines, 'END:VCARD', ''].join('\r\n');

// ---------------------------------------------------------------------------------------------
// What vcard.ts relies on from ical.js (if an upgrade changes one, this says which)

test('ical.js: groups, multi-valued TYPE, structured values, several cards, folded base64', () => {
  const jcal = ICAL.parse(
    card('VERSION:3.0', 'item1.EMAIL;type=INTERNET;type=pref:a@example.com', 'item1.X-ABLabel:_$!<Other>!$_', 'TEL;TYPE=WORK,VOICE:1', 'ORG:Only Company', 'N:Gump;Forrest;Mr.', 'PHOTO;ENCODING=b;TYPE=JPEG:AAAA', ' BBBB') +
      card('VERSION:4.0', 'FN:Second'),
  ) as unknown[][];
  assert.equal(jcal.length, 2, 'several cards: an array of jCal');
  const props = jcal[0]![1] as unknown[][];
  const byName = (n: string) => props.filter((p) => p[0] === n);
  assert.deepEqual(byName('email')[0]![1], { type: ['INTERNET', 'pref'], group: 'item1' });
  assert.deepEqual(byName('x-ablabel')[0]![1], { group: 'item1' });
  assert.deepEqual((byName('tel')[0]![1] as { type: string[] }).type, ['WORK', 'VOICE'], 'TYPE=A,B is split');
  assert.equal(byName('org')[0]![3], 'Only Company', 'a one-component ORG is a string');
  assert.deepEqual(byName('n')[0]![3], ['Gump', 'Forrest', 'Mr.'], 'a short N keeps its length');
  assert.equal(byName('photo')[0]![3], 'AAAABBBB', 'folded lines are joined');
  // A single card is one jCal array, not a list.
  assert.equal((ICAL.parse(card('VERSION:4.0', 'FN:x')) as unknown[])[0], 'vcard');
});

test('ical.js: escapes; single text values keep "\\;" (undone by vcard.ts)', () => {
  const v3 = ICAL.parse(card('VERSION:3.0', 'NOTE:a\\;b\\,c\\nd\\\\e', 'CATEGORIES:x\\,y,z')) as unknown[];
  const p3 = v3[1] as unknown[][];
  assert.equal(p3.find((p) => p[0] === 'note')![3], 'a\\;b,c\nd\\e');
  assert.deepEqual(p3.find((p) => p[0] === 'categories')!.slice(3), ['x,y', 'z']);
  const [parsed] = parseVCards(card('VERSION:3.0', 'FN:x', 'NOTE:a\\;b\\,c\\nd'));
  assert.deepEqual(parsed!.data['body'], { text: 'a;b,c\nd' });
  const [parsed4] = parseVCards(card('VERSION:4.0', 'FN:x', 'NOTE:a\\;b\\,c\\nd'));
  assert.deepEqual(parsed4!.data['body'], { text: 'a;b,c\nd' });
});

test('ical.js: unterminated cards and garbage throw (vcard.ts turns them into VCardError)', () => {
  assert.throws(() => ICAL.parse('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n'));
  assert.throws(() => parseVCards('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n'), /begins on line 1 has no END:VCARD/);
  assert.throws(() => parseVCards('BEGIN:VCARD\r\nthis is not a line\r\nEND:VCARD\r\n'), VCardError);
  assert.throws(() => parseVCards('hello'), /no vCard/);
  assert.throws(() => parseVCards(card('VERSION:2.1', 'FN:x')), /2\.1/);
  assert.throws(() => parseVCards(card('VERSION:3.0', 'X-FOO:bar')), /nothing a contact can carry/);
});

// ---------------------------------------------------------------------------------------------
// Encoding, dates, folding

test('the file must be UTF-8: the line of the first bad byte is named', () => {
  const latin1 = Buffer.concat([Buffer.from('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ren'), Buffer.from([0xe9]), Buffer.from('e\r\nEND:VCARD\r\n')]);
  assert.throws(() => decodeVCardFile(latin1), /not UTF-8: byte 0xe9 on line 3/);
  assert.equal(decodeVCardFile(Buffer.from('\uFEFFBEGIN:VCARD', 'utf8')), 'BEGIN:VCARD');
});

test('dates: extended, basic, with time, without a year (1604), impossible ones', () => {
  assert.equal(vcardDate('1980-05-12'), '1980-05-12');
  assert.equal(vcardDate('19800512'), '1980-05-12');
  assert.equal(vcardDate('1980-05-12T00:00:00Z'), '1980-05-12');
  assert.equal(vcardDate('--0512'), '1604-05-12');
  assert.equal(vcardDate('--05-12'), '1604-05-12');
  assert.equal(vcardDate('1980-02-30'), undefined);
  assert.equal(vcardDate('soon'), undefined);
});

test('lines are folded at 75 octets without splitting a character', () => {
  const line = 'NOTE:' + 'é'.repeat(100);
  const folded = foldLine(line);
  for (const l of folded.split('\r\n')) assert.ok(Buffer.byteLength(l) <= 75);
  assert.equal(folded.split('\r\n').map((l, i) => (i === 0 ? l : l.slice(1))).join(''), line);
  assert.ok(!folded.includes('\uFFFD'));
});

// ---------------------------------------------------------------------------------------------
// Round trips

const EXPORTABLE: JsonObject = { ...FULL_CONTACT, uid: 'urn:uuid:0c8b6c9e-6a43-4d1b-9b6e-6f0b7e4e9d11', fileAs: 'Doe, Jane' };

for (const version of ['3.0', '4.0'] as const) {
  test(`every field of the Contacts class goes through a vCard ${version} and back unchanged`, () => {
    const text = contactToVCard(EXPORTABLE, version);
    assert.match(text, new RegExp(`^BEGIN:VCARD\\r\\nVERSION:${version.replace('.', '\\.')}\\r\\n`));
    for (const l of text.split('\r\n')) assert.ok(Buffer.byteLength(l) <= 75, l);
    const [back] = parseVCards(text);
    assert.deepEqual(back!.warnings, []);
    assert.deepEqual(back!.data, EXPORTABLE);
  });

  test(`a birthday without a year survives a vCard ${version}`, () => {
    const [back] = parseVCards(contactToVCard({ firstName: 'A', birthday: '1604-05-12' }, version));
    assert.equal(back!.data['birthday'], '1604-05-12');
  });
}

test('slots: a fourth e-mail, a second work address and a large photo are left out with warnings', () => {
  const big = 'A'.repeat(60_000);
  const [c] = parseVCards(
    card(
      'VERSION:3.0',
      'N:Doe;Jane;;;',
      'EMAIL:1@example.com',
      'EMAIL:2@example.com',
      'EMAIL;TYPE=pref:0@example.com',
      'EMAIL:3@example.com',
      'ADR;TYPE=WORK:;;A;B;C;D;E',
      'ADR;TYPE=WORK:;;F;G;H;I;J',
      `PHOTO;ENCODING=b;TYPE=JPEG:${big}`,
    ),
  );
  assert.deepEqual([c!.data['email1Address'], c!.data['email2Address'], c!.data['email3Address']], ['0@example.com', '1@example.com', '2@example.com']);
  assert.equal(c!.data['businessAddressStreet'], 'A');
  assert.equal(c!.data['picture'], undefined);
  assert.equal(c!.warnings.length, 3);
  const all = c!.warnings.join('\n');
  for (const w of [/3@example\.com/, /second work address/, /PHOTO is 60000/]) assert.match(all, w);
});

test('an HTML body is exported as text', () => {
  const text = contactToVCard({ firstName: 'A', body: { html: '<p>Line <b>one</b></p><p>two</p>' } }, '4.0');
  assert.match(text, /\r\nNOTE:Line one\\ntwo\r\n/);
});
