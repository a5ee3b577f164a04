/**
 * Scenarios: mail delivered over LMTP reaches the device: a held Ping wakes, Sync brings the
 * message with its attachments and a truncated body, MIME on request, and Read/Flag/Categories
 * set on one device reach the user's other device. SQLite, PostgreSQL, and the in-memory mailbox
 * (delivery writes only through the Mailbox port).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { childText, el } from '../../src/wbxml/index.ts';
import { Device } from './device.ts';
import { attachmentsOf, bodyOf, lmtpDeliver, mailOptions, startMailServer } from './mail-helpers.ts';

const ALICE = { email: 'alice@example.com', password: 'pw-alice-123456' };
const BOB = { email: 'bob@example.com', password: 'pw-bob-123456' };
const FIX = join(import.meta.dirname, '..', 'fixtures', 'mail');

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`mail delivery to devices (${backend})`, () => {
    test('a message delivered over LMTP wakes a held Ping; Sync brings it with attachments, truncated body, and MIME on request', async () => {
      const m = await startMailServer({ users: [ALICE, BOB], backend });
      try {
        const dev = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `MAILA${backend}`, version: '14.1' });
        await dev.folderSync();
        const inbox = dev.folderByType(2).serverId;
        assert.deepEqual(await dev.initialSync(inbox), []);
        const ping = dev.ping([inbox], 120);
        await new Promise((r) => setTimeout(r, 300));
        const raw = readFileSync(join(FIX, 'outlook-alternative-related.eml'));
        assert.deepEqual(await lmtpDeliver(m.lmtpPort, 'sender@outside.test', [ALICE.email], raw), [250]);
        const pinged = await ping;
        assert.equal(childText(pinged.wbxml!, 'Status', 'Ping'), '2', 'Ping reports changes');

        const r = await dev.sync(inbox, { options: mailOptions([{ type: 2, truncationSize: 20, preview: 50 }]) });
        assert.equal(r.adds.length, 1);
        const add = r.adds[0]!.appData;
        assert.equal(childText(add, 'Subject', 'Email'), 'Outlook style – alternative with inline image');
        assert.equal(childText(add, 'Importance', 'Email'), '2');
        assert.equal(childText(add, 'Read', 'Email'), '0');
        const body = bodyOf(add);
        assert.equal(body.type, '2');
        assert.equal(body.truncated, true);
        assert.ok(Buffer.byteLength(body.data!) <= 20);
        assert.match(body.preview!, /Good evening/);
        const atts = attachmentsOf(add);
        assert.equal(atts.length, 1);
        assert.equal(atts[0]!.name, 'image001.png');
        assert.equal(atts[0]!.isInline, true);
        assert.equal(atts[0]!.contentId, 'image001.png@01CE1F0C.A8A4E5D0');
        assert.match(atts[0]!.fileReference!, /^m[0-9a-f]{24}:0$/);

        // The same message as MIME (BodyPreference 4 with MIMESupport 2): the raw message as delivered.
        const mime = await dev.initialSync(inbox, { options: mailOptions([{ type: 4 }], 2) });
        const mb = bodyOf(mime[0]!.appData);
        assert.equal(mb.type, '4');
        assert.equal(mb.data, raw.toString('utf8').replace(/\r?\n/g, '\r\n'), 'the message as it came over LMTP (CRLF lines)');
        assert.match(mb.data!, /Thread-Index: Ac4fDKiyxdDU5y0WTNyEWqDmCvsSsQ==/);
        // Without MIMESupport the device gets HTML instead (MS-ASCMD 2.2.3.110).
        const noMime = await dev.initialSync(inbox, { options: mailOptions([{ type: 4 }, { type: 2 }]) });
        assert.equal(bodyOf(noMime[0]!.appData).type, '2');
      } finally {
        await m.close();
      }
    });

    test('Read, Flag and Categories changed on one device reach the other device', async () => {
      const m = await startMailServer({ users: [ALICE], backend });
      try {
        assert.deepEqual(await lmtpDeliver(m.lmtpPort, 's@outside.test', [ALICE.email], 'From: s@outside.test\r\nTo: alice@example.com\r\nSubject: flag me\r\n\r\nbody\r\n'), [250]);
        const phone = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `PHONE${backend}`, version: '14.1' });
        const tablet = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `TABLET${backend}`, version: '16.1' });
        for (const d of [phone, tablet]) await d.folderSync();
        const inbox = phone.folderByType(2).serverId;
        const [onPhone] = await phone.initialSync(inbox);
        const [onTablet] = await tablet.initialSync(inbox);
        assert.equal(onPhone!.serverId, onTablet!.serverId);
        const change = el(
          'AirSync',
          'Change',
          el('AirSync', 'ServerId', onPhone!.serverId),
          el(
            'AirSync',
            'ApplicationData',
            el('Email', 'Read', '1'),
            el('Email', 'Flag', el('Email', 'Status', '2'), el('Email', 'FlagType', 'Follow up')),
            el('Email', 'Categories', el('Email', 'Category', 'Red category')),
          ),
        );
        const sent = await phone.sync(inbox, { commands: [change] });
        assert.equal(sent.status, 1);
        assert.equal(sent.changes.length, 0, 'the phone is not sent back its own change');
        const seen = await tablet.sync(inbox);
        assert.equal(seen.changes.length, 1);
        const c = seen.changes[0]!.appData;
        assert.equal(childText(c, 'Read', 'Email'), '1');
        assert.equal(childText(c, 'Subject', 'Email'), 'flag me', 'the rest of the message is kept');
        const flag = c.children.find((k) => typeof k === 'object' && !(k instanceof Uint8Array) && k.name === 'Flag');
        assert.ok(flag && typeof flag === 'object' && !(flag instanceof Uint8Array));
        assert.equal(childText(flag, 'Status', 'Email'), '2');
        assert.equal(childText(flag, 'FlagType', 'Email'), 'Follow up');
        assert.match(JSON.stringify(c), /Red category/);
        // Marked unread and unflagged on the tablet: back on the phone.
        const undo = el('AirSync', 'Change', el('AirSync', 'ServerId', onPhone!.serverId), el('AirSync', 'ApplicationData', el('Email', 'Read', '0'), el('Email', 'Flag')));
        assert.equal((await tablet.sync(inbox, { commands: [undo] })).status, 1);
        const back = await phone.sync(inbox);
        assert.equal(childText(back.changes[0]!.appData, 'Read', 'Email'), '0');
      } finally {
        await m.close();
      }
    });
  });
}
