import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  bodyFromEas,
  bodyToEas,
  htmlToText,
  isSmime,
  previewText,
  textToHtml,
  truncateUtf8,
  type StoredBody,
} from '../../src/classes/body.ts';
import { ConversionError, type BodyPreference } from '../../src/classes/types.ts';
import { child, el, text, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { childNames, ctx, overTheWire } from './helpers.ts';

const A = 'AirSyncBase';

function body(b: StoredBody | undefined, prefs: BodyPreference[], extra: Parameters<typeof ctx>[1] = {}, version: Parameters<typeof ctx>[0] = '14.1') {
  const e = bodyToEas(b, ctx(version, { bodyPreferences: prefs, ...extra }));
  // Through the codec, so what is checked is what a device would read.
  return overTheWire([e]).children[0] as WbxmlElement;
}

const get = (b: WbxmlElement, name: string) => text(child(b, name, A));

// 'a' is 1 byte in UTF-8, 'é' (U+00E9) 2, '€' (U+20AC) 3, '😀' (U+1F600) 4 (RFC 3629 section 3).
const MIXED = 'aé€😀';

test('truncateUtf8 cuts at byte limits without splitting a character', () => {
  assert.equal(Buffer.byteLength(MIXED, 'utf8'), 10);
  assert.equal(truncateUtf8(MIXED, 10), MIXED);
  assert.equal(truncateUtf8(MIXED, 9), 'aé€'); // the 4-byte emoji does not fit in the last 3 bytes
  assert.equal(truncateUtf8(MIXED, 6), 'aé€'); // exactly 1 + 2 + 3
  assert.equal(truncateUtf8(MIXED, 5), 'aé'); // '€' would straddle the limit
  assert.equal(truncateUtf8(MIXED, 2), 'a'); // 'é' needs bytes 2 and 3
  assert.equal(truncateUtf8(MIXED, 1), 'a');
  assert.equal(truncateUtf8(MIXED, 0), '');
});

test('Body children come in MS-ASAIRS 2.2.2.9 order: Type, EstimatedDataSize, Truncated, Data, Preview', () => {
  const b = body({ html: '<p>' + 'x'.repeat(100) + '</p>' }, [{ type: 2, truncationSize: 20, preview: 10 }]);
  assert.equal(b.ns, A);
  assert.equal(b.name, 'Body');
  assert.deepEqual(childNames(b), [`${A}:Type`, `${A}:EstimatedDataSize`, `${A}:Truncated`, `${A}:Data`, `${A}:Preview`]);
});

test('TruncationSize counts UTF-8 bytes; EstimatedDataSize is the full size', () => {
  const b = body({ text: MIXED }, [{ type: 1, truncationSize: 5 }]);
  assert.equal(get(b, 'Type'), '1');
  assert.equal(get(b, 'EstimatedDataSize'), '10');
  assert.equal(get(b, 'Truncated'), '1');
  assert.equal(get(b, 'Data'), 'aé');

  const whole = body({ text: MIXED }, [{ type: 1, truncationSize: 10 }]);
  assert.equal(get(whole, 'Data'), MIXED);
  assert.equal(child(whole, 'Truncated', A), undefined, 'not truncated: no Truncated element');
});

test('AllOrNone with a body over TruncationSize: no Data, Truncated 1, EstimatedDataSize (MS-ASAIRS R376)', () => {
  const b = body({ text: 'Body-text-of-twenty-' }, [{ type: 1, truncationSize: 2, allOrNone: true }]);
  assert.deepEqual(childNames(b), [`${A}:Type`, `${A}:EstimatedDataSize`, `${A}:Truncated`]);
  assert.equal(get(b, 'Type'), '1');
  assert.equal(get(b, 'EstimatedDataSize'), '20');
  assert.equal(get(b, 'Truncated'), '1');
});

test('AllOrNone with a body that fits: all of the content (MS-ASAIRS R373)', () => {
  const b = body({ text: 'short' }, [{ type: 1, truncationSize: 100, allOrNone: true }]);
  assert.equal(get(b, 'Data'), 'short');
  assert.equal(child(b, 'Truncated', A), undefined);
});

test('AllOrNone without TruncationSize is ignored: the entire content (MS-ASAIRS 2.2.2.3.2, R401)', () => {
  const long = 'y'.repeat(5000);
  const b = body({ text: long }, [{ type: 1, allOrNone: true }]);
  assert.equal(get(b, 'Data'), long);
});

test('AllOrNone passes over to the next BodyPreference (MS-ASAIRS 2.2.2.3.2, test suite TC08)', () => {
  // Spec example: HTML with AllOrNone and TruncationSize 8, then plain text with TruncationSize 18.
  const plain = 'Body-0123456789abcdefghij'; // 25 bytes
  const b = body({ text: plain }, [
    { type: 2, truncationSize: 8, allOrNone: true },
    { type: 1, truncationSize: 18 },
  ]);
  assert.equal(get(b, 'Type'), '1');
  assert.equal(get(b, 'Truncated'), '1');
  assert.equal(get(b, 'Data'), plain.slice(0, 18));
  assert.equal(get(b, 'EstimatedDataSize'), '25');
});

test('AllOrNone when no later preference can be served falls back to the withheld one', () => {
  const b = body({ text: 'x'.repeat(50) }, [
    { type: 2, truncationSize: 10, allOrNone: true },
    { type: 1, truncationSize: 10, allOrNone: true },
  ]);
  assert.equal(get(b, 'Type'), '2', 'the first withheld preference answers');
  assert.equal(child(b, 'Data', A), undefined);
  assert.equal(get(b, 'Truncated'), '1');
});

test('HTML is derived from plain text by escaping when type 2 is asked for', () => {
  assert.equal(textToHtml('a < b & "c"\nd'), 'a &lt; b &amp; &quot;c&quot;<br>\nd');
  const b = body({ text: '1 < 2' }, [{ type: 2 }]);
  assert.equal(get(b, 'Type'), '2');
  assert.equal(get(b, 'Data'), '1 &lt; 2');
});

test('plain text is derived from HTML when only type 1 is asked for', () => {
  const html = '<html><head><style>p{color:red}</style></head><body><p>Hello <b>world</b></p><script>alert(1)</script>Caf&eacute; &amp; more&#33;<br>x &lt; y</body></html>';
  const b = body({ html }, [{ type: 1 }]);
  assert.equal(get(b, 'Type'), '1');
  // <p>...</p> ends a line, <br> is a line break, &amp; &#33; &lt; decode, unknown &eacute; stays.
  assert.equal(get(b, 'Data'), 'Hello world\nCaf&eacute; & more!\nx < y');
});

test('htmlToText keeps a lone "<" as text and drops comments and doctype', () => {
  assert.equal(htmlToText('<!DOCTYPE html><!-- hidden -->a < b'), 'a < b');
  assert.equal(htmlToText('unterminated <!-- comment'), 'unterminated');
});

test('htmlToText is linear on hostile input', () => {
  const hostile = '<'.repeat(200_000) + '>' + ' '.repeat(200_000) + 'x' + '<!--'.repeat(50_000);
  const t0 = performance.now();
  htmlToText(hostile);
  assert.ok(performance.now() - t0 < 2000, 'took too long');
});

test('MIME (type 4) only when MIME is stored and asked for', () => {
  const mime = 'From: a@example.com\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\nhello';
  const withMime = body({ mime, text: 'hello' }, [{ type: 4 }, { type: 2 }]);
  assert.equal(get(withMime, 'Type'), '4');
  assert.equal(get(withMime, 'Data'), mime);

  const noMime = body({ text: 'hello' }, [{ type: 4 }, { type: 2 }]);
  assert.equal(get(noMime, 'Type'), '2', 'no MIME stored: the next preference');

  const notAsked = body({ mime, text: 'hello' }, [{ type: 1 }]);
  assert.equal(get(notAsked, 'Type'), '1', 'MIME stored but not asked for');
});

test('MIMESupport 0 never sends MIME; 1 only S/MIME (MS-ASCMD 2.2.3.110)', () => {
  const plainMime = 'Content-Type: text/plain\r\n\r\nhello';
  const signed = 'Content-Type: multipart/signed;\r\n protocol="application/pkcs7-signature"\r\n\r\n--b\r\n';
  assert.equal(isSmime(plainMime), false);
  assert.equal(isSmime(signed), true);
  assert.equal(isSmime('Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nMIIB'), true);

  assert.equal(get(body({ mime: plainMime, text: 'hello' }, [{ type: 4 }, { type: 1 }], { mimeSupport: 0 }), 'Type'), '1');
  assert.equal(get(body({ mime: plainMime, text: 'hello' }, [{ type: 4 }, { type: 1 }], { mimeSupport: 1 }), 'Type'), '1');
  assert.equal(get(body({ mime: signed, text: 'x' }, [{ type: 4 }, { type: 1 }], { mimeSupport: 1 }), 'Type'), '4');
  assert.equal(get(body({ mime: plainMime, text: 'hello' }, [{ type: 4 }], { mimeSupport: 2 }), 'Type'), '4');
});

test('MIMETruncation applies to type 4 when the preference has no TruncationSize', () => {
  const mime = 'Content-Type: text/plain\r\n\r\n' + 'z'.repeat(100);
  const b = body({ mime }, [{ type: 4 }], { mimeSupport: 2, mimeTruncationBytes: 30 });
  assert.equal(get(b, 'Truncated'), '1');
  assert.equal(get(b, 'Data'), mime.slice(0, 30));
});

test('Preview: plain text, at most the asked characters, 14.0 and later only', () => {
  const html = '<p>Hello   preview\n\nworld and more text here</p>';
  const b = body({ html }, [{ type: 2, preview: 18 }]);
  const p = get(b, 'Preview')!;
  assert.ok(p.length <= 18);
  assert.equal(p, 'Hello preview worl');

  const old = body({ html }, [{ type: 2, preview: 18 }], {}, '12.1');
  assert.equal(child(old, 'Preview', A), undefined, 'Preview is 14.0+ (MS-ASAIRS 2.2.2.35.1)');
});

test('no Preview with plain-text Data (MS-ASAIRS 2.2.2.35.1, R1001036)', () => {
  const b = body({ text: 'some plain text body' }, [{ type: 1, preview: 18 }]);
  assert.equal(get(b, 'Data'), 'some plain text body');
  assert.equal(child(b, 'Preview', A), undefined);

  // Plain text withheld by AllOrNone: there is no Data, so the preview is sent.
  const w = body({ text: 'some plain text body' }, [{ type: 1, truncationSize: 4, allOrNone: true, preview: 9 }]);
  assert.equal(get(w, 'Preview'), 'some plai');
});

test('previewText never splits a surrogate pair', () => {
  assert.equal(previewText('ab😀cd', 3), 'ab');
  assert.equal(previewText('ab😀cd', 4), 'ab😀');
});

test('no BodyPreference: the whole plain-text body', () => {
  const b = body({ html: '<b>bold</b> text' }, []);
  assert.equal(get(b, 'Type'), '1');
  assert.equal(get(b, 'Data'), 'bold text');
});

test('only RTF asked for: served as HTML or plain text under its limits', () => {
  const b = body({ text: 'hello world' }, [{ type: 3, truncationSize: 5 }]);
  assert.equal(get(b, 'Type'), '1');
  assert.equal(get(b, 'Data'), 'hello');
  const h = body({ html: '<i>x</i>' }, [{ type: 3 }]);
  assert.equal(get(h, 'Type'), '2');
});

test('an item without a body still gets a Body (MS-ASAIRS 2.2.2.9 "MUST be included")', () => {
  const b = body(undefined, [{ type: 2 }]);
  assert.equal(get(b, 'Type'), '2');
  assert.equal(get(b, 'EstimatedDataSize'), '0');
  assert.equal(get(b, 'Data'), '');
});

test('a client Body is read back into the stored shape', () => {
  const mk = (type: string, data?: string) => el(A, 'Body', el(A, 'Type', type), data === undefined ? null : el(A, 'Data', data));
  assert.deepEqual(bodyFromEas(mk('1', 'plain')), { text: 'plain' });
  assert.deepEqual(bodyFromEas(mk('2', '<p>x</p>')), { html: '<p>x</p>' });
  assert.deepEqual(bodyFromEas(mk('4', 'Subject: x\r\n\r\ny')), { mime: 'Subject: x\r\n\r\ny' });
  assert.deepEqual(bodyFromEas(mk('1')), { text: '' });
  assert.equal(bodyFromEas(mk('3', 'e1xydGYx')), undefined, 'RTF is not kept');
  assert.throws(() => bodyFromEas(mk('7', 'x')), ConversionError);
  assert.throws(() => bodyFromEas(el(A, 'Body', el(A, 'Data', 'x'))), ConversionError);
});
