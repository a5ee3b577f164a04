/**
 * parse.ts over real-world MIME (test/fixtures/mail, origins in its README): every field the
 * Email class needs, non-UTF-8 charsets, encoded words, inline images, nested messages, and bad
 * MIME stored as well as it can be without throwing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseMessage, sha256 } from '../../src/mail/parse.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'mail');
const fixture = (name: string) => readFileSync(join(FIX, name));
const received = new Date('2024-06-01T10:00:00.000Z');
type Att = { name: string; contentType: string; size: number; sha256: string; isInline: boolean; method: number; contentId?: string };

test('ISO-2022-JP body and encoded-word headers decode to Unicode; InternetCPID 50220', async () => {
  const p = await parseMessage(fixture('iso-2022-jp.eml'), { received });
  assert.equal(p.data.subject, '会議のご案内');
  assert.equal(p.data.from, '"山田太郎" <taro@example.jp>');
  assert.equal(p.data.to, '"佐藤花子" <hanako@example.com>');
  assert.equal(p.data.displayTo, '佐藤花子');
  assert.match((p.data.body as { text: string }).text, /来週の会議の件でご連絡いたします/);
  assert.equal(p.data.internetCPID, 50220);
  assert.equal(p.data.dateReceived, received.toISOString());
  assert.equal(p.data.messageClass, 'IPM.Note');
  assert.equal(p.data.contentClass, 'urn:content-classes:message');
});

test('windows-1252 quoted-printable: smart quotes and the euro sign, Cc list, low importance from X-Priority 5, thread from References', async () => {
  const p = await parseMessage(fixture('windows-1252.eml'), { received });
  assert.equal((p.data.body as { text: string }).text.split('\n')[0], 'Café résumé – “quoted” and it’s €5.');
  assert.equal(p.data.subject, 'Re: Café – “menu”');
  assert.equal(p.data.threadTopic, 'Café – “menu”');
  assert.equal(p.data.cc, '"Jürgen" <juergen@example.de>, "Ann" <ann@example.com>');
  assert.equal(p.data.importance, 0);
  assert.equal(p.data.internetCPID, 1252);
  // The thread's root is the first References entry: the root message itself gets the same id.
  const root = await parseMessage('Message-ID: <root-1@example.com>\r\nSubject: Café\r\n\r\nhi\r\n', { received });
  assert.equal(p.data.conversationId, root.data.conversationId);
  assert.equal((p.data.conversationIndex as string).length, (22 + 5) * 2, 'one reply level: a 5-byte child block');
});

test('Outlook multipart/alternative + related: html and text, inline image with ContentId, Thread-Index gives the conversation, Importance High', async () => {
  const p = await parseMessage(fixture('outlook-alternative-related.eml'), { received });
  const body = p.data.body as { text: string; html: string };
  assert.match(body.text, /Good evening/);
  assert.match(body.html, /cid:image001\.png@01CE1F0C\.A8A4E5D0/, 'cid links are kept for the device to resolve');
  const atts = p.data.attachments as Att[];
  assert.equal(atts.length, 1);
  assert.equal(atts[0]!.contentId, 'image001.png@01CE1F0C.A8A4E5D0');
  assert.equal(atts[0]!.isInline, true);
  assert.equal(atts[0]!.method, 1);
  assert.equal(p.data.importance, 2);
  assert.equal(p.data.threadTopic, 'Outlook style alternative with inline image');
  const ti = Buffer.from('Ac4fDKiyxdDU5y0WTNyEWqDmCvsSsQ==', 'base64');
  assert.equal(p.data.conversationIndex, ti.toString('hex'));
  assert.equal(p.data.conversationId, ti.subarray(6, 22).toString('hex'));
  // the attachment bytes are a part stored by content
  assert.ok(p.parts.some((x) => x.sha256 === atts[0]!.sha256 && sha256(x.data) === x.sha256));
  assert.equal(p.parts[0]!.sha256, p.rawSha256);
});

test('Thunderbird multipart/related: inline image (disposition inline with Content-ID)', async () => {
  const p = await parseMessage(fixture('thunderbird-related-inline-image.eml'), { received });
  const atts = p.data.attachments as Att[];
  assert.equal(atts[0]!.name, 'blue_pixel_1x1.png');
  assert.equal(atts[0]!.isInline, true);
  assert.equal(atts[0]!.contentId, 'part1.FxEY2Ivx.xSFtCdX4@gmx.de');
  assert.equal((p.data.body as { html?: string }).html?.includes('Example body'), true);
});

test('nested message/rfc822: the attached message is one attachment with Method 5, its own attachments are not flattened into the outer message', async () => {
  const p = await parseMessage(fixture('thunderbird-nested-rfc822.eml'), { received });
  const atts = p.data.attachments as Att[];
  assert.deepEqual(
    atts.map((a) => [a.name, a.contentType, a.method]),
    [
      ['message1.eml', 'message/rfc822', 5],
      ['yellowPixel.png', 'image/png', 1],
    ],
  );
  const nested = p.parts.find((x) => x.sha256 === atts[0]!.sha256)!;
  assert.match(nested.data.toString('utf8'), /^Message-ID: <sample-attached\.eml@mime\.sample>/);
  assert.equal(p.data.cc, '"Robin" <damian@wayne-enterprises.com>');
});

test('malformed: empty message/rfc822 part and repeated closing boundary -> body kept, no throw', async () => {
  const p = await parseMessage(fixture('malformed-empty-rfc822.eml'), { received });
  assert.match((p.data.body as { text: string }).text, /forwarded message attached/);
  assert.equal(p.data.subject, 'Fwd: fotos');
});

test('malformed: broken addresses, unknown charsets, bad base64, unterminated multipart -> stored as well as it can be', async () => {
  const raw = fixture('malformed-truncated.eml');
  const p = await parseMessage(raw, { received });
  assert.equal(p.data.from, '"broken" <broken@example.net>');
  assert.equal(p.data.dateSent, undefined, 'an unreadable Date is not replaced by the current time');
  assert.match((p.data.body as { text: string }).text, /Hello/);
  assert.deepEqual((p.data.mime as { sha256: string; size: number }).size, raw.length, 'the raw message is kept whole');
  assert.equal(typeof p.data.conversationId, 'string');
  // garbage in any shape never throws
  for (const junk of ['', '\r\n\r\n', 'no headers at all', Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a]), 'Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n']) {
    const j = await parseMessage(junk, { received });
    assert.equal(j.data.dateReceived, received.toISOString());
    assert.ok(j.parts.length >= 1);
  }
});

test('meeting request: a text/calendar METHOD:REQUEST part makes IPM.Schedule.Meeting.Request and the calendar message content class', async () => {
  const raw = [
    'From: Organizer <org@example.com>',
    'To: user@example.com',
    'Subject: Planning',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Planning meeting',
    '--b1',
    'Content-Type: text/calendar; charset=utf-8; method=REQUEST',
    '',
    'BEGIN:VCALENDAR',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    'UID:abc-1',
    'DTSTART:20240601T100000Z',
    'DTEND:20240601T110000Z',
    'SUMMARY:Planning',
    'END:VEVENT',
    'END:VCALENDAR',
    '--b1--',
    '',
  ].join('\r\n');
  const p = await parseMessage(raw, { received });
  assert.equal(p.data.messageClass, 'IPM.Schedule.Meeting.Request');
  assert.equal(p.data.contentClass, 'urn:content-classes:calendarmessage');
  assert.equal(p.calendarParts.length, 1);
  const signed = await parseMessage('Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n', { received });
  assert.equal(signed.data.messageClass, 'IPM.Note.SMIME.MultipartSigned');
  const enc = await parseMessage('Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\nAAAA\r\n', { received });
  assert.equal(enc.data.messageClass, 'IPM.Note.SMIME');
});

test('a part whose Content-Type header has no usable value is kept as opaque bytes (found by the fuzzer: it made delivery fail)', async () => {
  const raw =
    'From: a@example.net\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
    '--b\r\nContent-Type: text/plain\r\n\r\ntext\r\n--b\r\nContent-Type:\\\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n--b--\r\n';
  const m = await parseMessage(raw);
  const atts = m.data['attachments'] as Array<{ contentType: string }>;
  assert.equal(atts.length, 1);
  assert.equal(atts[0]!.contentType, 'application/octet-stream');
  assert.deepEqual(m.calendarParts, []);
});
