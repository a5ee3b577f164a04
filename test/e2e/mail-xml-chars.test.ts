/**
 * Issue 15 item 5: garbage mail with characters XML forbids (XML 1.0 section 2.2 Char: NUL and
 * other C0 controls) in Subject, From name, body text and attachment name is delivered over LMTP
 * and synced to a device. The Sync answer, converted to XML by libwbxml's wbxml2xml as a
 * libwbxml-based client does, must be well-formed XML (checked with saxes, a conformant parser),
 * while the MIME fetch (Body Type 4) still gives the message exactly as delivered.
 *
 * Real-world shape of the failure: TbSync turns WBXML into XML and stops with "XML Parsing Error:
 * not well-formed" on such data (jobisoft/TbSync issue 24); Tine 2.0's server had to remove
 * control characters found in mail for the same reason (tine20/tine20 issue 1508); grommunio-sync
 * filters at its WBXML encoder's string output (grommunio/grommunio-sync pull request 28).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SaxesParser } from 'saxes';
import { child, childText, children, el, isElement } from '../../src/wbxml/index.ts';
import { wbxml2xml } from '../helpers/libwbxml.ts';
import { XML_CHAR } from '../wbxml/xml-char-rule.ts';
import { Device } from './device.ts';
import { attachmentsOf, bodyOf, lmtpDeliver, mailOptions, startMailServer } from './mail-helpers.ts';

const ALICE = { email: 'alice@example.com', password: 'pw-alice-123456' };
const IO = 'ItemOperations';

/** A message as garbage mail sends it: controls raw in the body, encoded in headers (RFC 2047, RFC 2231). */
const RAW = Buffer.from(
  [
    'From: =?UTF-8?Q?Mal=00lory=01_Sender=1B?= <mallory@outside.example>',
    'To: alice@example.com',
    'Subject: =?UTF-8?Q?Invoice=00=01=02_due=0B_now=1F?=',
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    'Message-ID: <xml-chars-1@outside.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Hello\x00 world\x01\x08\x0b\x0c\x1b[0m, tab\tstays. End\x7f.',
    '--b1',
    "Content-Type: application/pdf; name*=UTF-8''report%01%00%1F.pdf",
    "Content-Disposition: attachment; filename*=UTF-8''report%01%00%1F.pdf",
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.4 not really').toString('base64'),
    '--b1--',
    '',
  ].join('\r\n'),
  'utf8',
);

/** The XML libwbxml writes for the bytes, parsed by saxes; every text node holds only XML characters. */
function libwbxmlXmlParses(wbxml: Buffer): void {
  const xml = wbxml2xml(wbxml);
  const parser = new SaxesParser();
  const texts: string[] = [];
  parser.on('text', (t) => texts.push(t));
  parser.write(xml).close();
  for (const t of texts) assert.match(t, XML_CHAR);
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`XML-forbidden characters in delivered mail (${backend})`, () => {
    test('the Sync answer converts with libwbxml to well-formed XML; the MIME fetch gives the raw bytes', async () => {
      const m = await startMailServer({ users: [ALICE], backend });
      try {
        assert.deepEqual(await lmtpDeliver(m.lmtpPort, 'mallory@outside.example', [ALICE.email], RAW), [250]);
        const dev = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `XMLC${backend}`, version: '14.1' });
        await dev.folderSync();
        const inbox = dev.folderByType(2).serverId;
        const options = mailOptions([{ type: 1 }]);
        assert.equal((await dev.sync(inbox, { options })).status, 1);
        const response = await dev.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', dev.collectionRequest(inbox, { options }))));
        assert.equal(response.status, 200);
        libwbxmlXmlParses(response.body);

        const collection = children(child(response.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')[0]!;
        const [item] = dev.apply(inbox, collection).adds;
        assert.ok(item, 'the message reached the device');
        const subject = childText(item.appData, 'Subject', 'Email')!;
        const from = childText(item.appData, 'From', 'Email')!;
        const body = bodyOf(item.appData).data!;
        const att = attachmentsOf(item.appData)[0]!;
        for (const s of [subject, from, body, att.name!]) assert.match(s, XML_CHAR);
        // What remains readable is kept: only the forbidden characters went.
        assert.equal(subject, 'Invoice due now');
        assert.match(from, /Mallory Sender/);
        assert.match(body, /^Hello world\[0m, tab\tstays\. End\x7f\./);
        assert.equal(att.name, 'report.pdf');

        // The whole message as MIME (MS-ASAIRS Type 4): byte-exact, NUL and controls included.
        const fetch = await dev.client.post(
          'ItemOperations',
          el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('AirSync', 'CollectionId', inbox), el('AirSync', 'ServerId', item.serverId), el(IO, 'Options', mailOptions([{ type: 4 }], 2)))),
        );
        assert.equal(childText(fetch.wbxml!, 'Status', IO), '1');
        const f = child(child(fetch.wbxml!, 'Response', IO)!, 'Fetch', IO)!;
        assert.equal(childText(f, 'Status', IO), '1');
        const b = child(child(f, 'Properties', IO)!, 'Body', 'AirSyncBase')!;
        assert.equal(childText(b, 'Type', 'AirSyncBase'), '4');
        const data = child(b, 'Data', 'AirSyncBase')!;
        const bytes = Buffer.concat(data.children.map((c) => (isElement(c) ? Buffer.alloc(0) : typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c))));
        assert.ok(bytes.equals(RAW), 'the MIME is the delivered message byte for byte');
      } finally {
        await m.close();
      }
    });
  });
}

