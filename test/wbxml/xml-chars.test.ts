/**
 * Strings easd sends carry no character that XML forbids (XML 1.0 section 2.2, production [2]
 * Char): clients such as libwbxml-based ones turn the WBXML back into XML, and one NUL or U+0001
 * from garbage mail makes that XML unparseable (issue 15 item 5).
 *
 * Checked against independent parties: libwbxml's wbxml2xml (test/helpers/libwbxml.ts) converts
 * what encodeWbxml writes, and saxes, a conformant XML 1.0 parser, must accept the result; the
 * allowed set is written out here from the spec's production, not taken from src/.
 * Opaque data (a MIME message sent byte-exact) is not text and must come out untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { decodeWbxml, el, encodeWbxml, text, type WbxmlElement } from '../../src/wbxml/index.ts';
import { hasLibwbxml, wbxml2xml } from '../helpers/libwbxml.ts';
import { XML_CHAR } from './xml-char-rule.ts';


/** Every code unit / code point XML 1.0 forbids, as the single-unit strings a JS string can hold. */
const FORBIDDEN: Array<[string, string]> = [
  ...Array.from({ length: 0x20 }, (_, c) => c)
    .filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d)
    .map((c): [string, string] => [String.fromCharCode(c), '']),
  ['\uFFFE', ''],
  ['\uFFFF', ''],
  // Lone surrogates: a broken character, replaced by U+FFFD.
  ['\uD800', '\uFFFD'],
  ['\uDBFF', '\uFFFD'],
  ['\uDC00', '\uFFFD'],
  ['\uDFFF', '\uFFFD'],
];

/** Allowed characters that must pass unchanged, the edges of the Char production included. */
const ALLOWED = ['\t', '\n', '\r', ' ', '\u007F', '\u0080', '\u009F', '\uD7FF', '\uE000', '\uFDD0', '\uFFFD', '\u{10000}', '\u{1F600}', '\u{10FFFF}'];

function subjectDoc(values: string[]): WbxmlElement {
  return el(
    'AirSync',
    'Sync',
    el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'Commands', ...values.map((v) => el('AirSync', 'Add', el('AirSync', 'ApplicationData', el('Email', 'Subject', v))))))),
  );
}

function subjects(doc: WbxmlElement): string[] {
  const out: string[] = [];
  const walk = (e: WbxmlElement) => {
    if (e.name === 'Subject') out.push(text(e) ?? '');
    for (const c of e.children) if (typeof c === 'object' && !(c instanceof Uint8Array)) walk(c);
  };
  walk(doc);
  return out;
}

/** libwbxml's XML for the bytes must be UTF-8 that a conformant XML parser accepts. */
function assertLibwbxmlXmlParses(wbxml: Buffer): string {
  const xml = wbxml2xml(wbxml);
  // wbxml2xml returns a JS string decoded leniently; re-check the bytes it wrote are real UTF-8.
  new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(xml, 'utf8'));
  const parser = new SaxesParser({ xmlns: false });
  const texts: string[] = [];
  parser.on('text', (t) => texts.push(t));
  parser.write(xml).close(); // throws on any character outside Char, or on malformed markup
  for (const t of texts) assert.match(t, XML_CHAR);
  return xml;
}

describe('XML-forbidden characters in WBXML strings (XML 1.0 2.2)', () => {
  it('libwbxml tools are installed (run scripts/ensure-test-deps.sh)', () => {
    assert.equal(hasLibwbxml(), true);
  });

  it('every forbidden character in a string is dropped (controls, U+FFFE, U+FFFF) or replaced by U+FFFD (lone surrogates)', () => {
    const values = FORBIDDEN.map(([c]) => `a${c}b`);
    const decoded = subjects(decodeWbxml(encodeWbxml(subjectDoc(values))));
    assert.deepEqual(
      decoded,
      FORBIDDEN.map(([, r]) => `a${r}b`),
    );
    // All of them at once, and NUL at the very start and end (STR_I is NUL-terminated).
    const all = FORBIDDEN.map(([c]) => c).join('');
    // Joined, U+DBFF U+DC00 form a valid pair (U+10FC00) and stay; U+D800 and U+DFFF stay lone.
    assert.deepEqual(subjects(decodeWbxml(encodeWbxml(subjectDoc([`\0x${all}y\0`])))), ['x\uFFFD\uDBFF\uDC00\uFFFDy']);
  });

  it('allowed characters, astral ones and well-formed surrogate pairs pass unchanged', () => {
    const s = ALLOWED.join('x');
    assert.deepEqual(subjects(decodeWbxml(encodeWbxml(subjectDoc([s])))), [s]);
  });

  it('opaque data keeps every byte, NUL and controls included', () => {
    const bytes = new Uint8Array(Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0xed, 0xa0, 0x80, 0xef, 0xbf, 0xbf, 0])]));
    const doc = el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 4), el('AirSyncBase', 'Data', bytes));
    const out = decodeWbxml(encodeWbxml(doc));
    const data = (out.children[1] as WbxmlElement).children[0];
    assert.ok(data instanceof Uint8Array);
    assert.deepEqual(Buffer.from(data), Buffer.from(bytes));
  });

  it('libwbxml turns a document full of forbidden characters into XML that parses', () => {
    const values = [...FORBIDDEN.map(([c]) => `a${c}b`), FORBIDDEN.map(([c]) => c).join(''), `Invoice\0\u0001\u001b[31m <&> ${ALLOWED.join('')}`];
    const xml = assertLibwbxmlXmlParses(encodeWbxml(subjectDoc(values)));
    assert.match(xml, /Invoice\[31m &lt;&amp;&gt;/);
  });

  it('the check is real: without cleaning, libwbxml writes XML that does not parse', () => {
    // The same Subject, written as raw STR_I bytes by hand: 03 01 6A 00, SWITCH_PAGE 2 (Email),
    // Subject 0x14|0x40, STR_I "a\x01b" 00, END (MS-ASWBXML 2.1.2.1.3 Email code page).
    const raw = Buffer.from([0x03, 0x01, 0x6a, 0x00, 0x00, 0x02, 0x54, 0x03, 0x61, 0x01, 0x62, 0x00, 0x01]);
    assert.match(wbxml2xml(raw), /a\u0001b/);
    assert.throws(() => assertLibwbxmlXmlParses(raw), /disallowed character/i);
  });

  it('property: any string, lone surrogates included, encodes to WBXML whose libwbxml XML parses', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: codeUnit, maxLength: 40 }), fc.string({ unit: fc.constantFrom(...FORBIDDEN.map(([c]) => c), 'a', '\t'), maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(str, { minLength: 1, maxLength: 12 }), (values) => {
        const wbxml = encodeWbxml(subjectDoc(values));
        assertLibwbxmlXmlParses(wbxml);
        // And our own decoder sees only XML characters, in the same number of Subjects.
        const decoded = subjects(decodeWbxml(wbxml));
        assert.equal(decoded.length, values.length);
        for (const d of decoded) assert.match(d, XML_CHAR);
      }),
      { numRuns: 60 },
    );
  });
});
