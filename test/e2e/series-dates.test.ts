/**
 * kb-1.10 over the real server: a series means the same dates on every device as in its
 * organizer's calendar.
 * - An RFC 5545 organizer's invitation (Thunderbird's layout, RRULE:FREQ=MONTHLY;COUNT=6;
 *   BYMONTHDAY=31, test/fixtures/calendar/itip/thunderbird-monthly-31-request.ics) handed to easd
 *   over LMTP: the attendee's 16.1 and 14.1 devices get Outlook's month-end pattern, the months
 *   without a 31st as Deleted exceptions and COUNT as the right Until, so they show the organizer's
 *   six dates (31 January to 31 October 2026), not month ends.
 * - A device's "day 31, six times" series with an outside attendee: the invitation the server
 *   sends through the relay says month end (BYMONTHDAY=-1), which an RFC 5545 reader (ical.js)
 *   expands to January 31st, February 28th, March 31st, April 30th, ...; the local attendee's
 *   device gets the same dates.
 * Dates in Europe/Berlin (CET, CEST from 29 March to 25 October 2026), read off the calendar.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';

import { deliverMessage } from '../../src/mail/deliver.ts';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import { createOutboundMail, type OutboundMail } from '../../src/mail/relay.ts';
import { meetingHook } from '../../src/meetings/meeting-hook.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { expandAsDevice, expandAsOrganizer } from '../calendar/series-oracles.ts';
import { pgSkipped } from '../helpers/db.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { LineClient } from '../mail/lmtp-client.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';
import { Device } from './device.ts';
import { invitation } from './itip-mail.ts';

const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const OLIVIA = { email: 'olivia@example.com', password: 'olivia-password-1', displayName: 'Olivia Organiser' };
const C = 'Calendar';
const ASB = 'AirSyncBase';
const ZONE = 'Europe/Berlin';
const END_OF_2027 = Date.UTC(2027, 11, 31);
const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());

async function lmtpDeliver(port: number, rcpt: string, message: string): Promise<void> {
  const c = await LineClient.open(port);
  assert.equal((await c.command('LHLO mta.test')).code, 250);
  assert.equal((await c.command('MAIL FROM:<olivia@example.org>')).code, 250);
  assert.equal((await c.command(`RCPT TO:<${rcpt}>`)).code, 250);
  const [reply] = await c.data(message, 1);
  assert.equal(reply!.code, 250, `delivered: ${reply!.text}`);
  await c.command('QUIT');
}

const deletedStarts = (appData: WbxmlElement, key: [string, string]) =>
  children(child(appData, 'Exceptions', C)!, 'Exception', C)
    .filter((e) => childText(e, 'Deleted', C) === '1')
    .map((e) => childText(e, key[0], key[1]))
    .sort();

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`kb-1.10 series dates over the server (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let outbound: OutboundMail | undefined;
    const logs: LogLine[] = [];

    before(async () => {
      sink = await startSmtpSink();
      server = await startTestServer({
        users: [BOB, OLIVIA],
        backend,
        logLevel: 'warn',
        services: (store, _, mailboxes) => {
          const log = collectingLogger(logs, 'info');
          const hooks = [meetingHook({ accounts: store, mailboxes, log })];
          const deliverLocal = (m: { envelopeFrom: string; recipients: string[]; raw: Buffer }) => deliverMessage({ accounts: store, mailboxes }, m, { afterDelivery: hooks, log });
          outbound = createOutboundMail({ accounts: store, log, deliverLocal, relay: { url: sink.url, starttls: 'off' } });
          return { outbound };
        },
      });
    });
    after(async () => {
      outbound?.close();
      await server.close();
      await sink.close();
    });

    it('kb-1.10: an RFC 5545 invitation with BYMONTHDAY=31;COUNT=6 arrives by LMTP; 16.1 and 14.1 devices see its six 31sts, the short months as deleted occurrences', async () => {
      const lmtp = createMailListener({ ...server.runtime.deliveryTargets, log: server.app.log as never, afterDelivery: [meetingHook({ accounts: server.store, mailboxes: server.runtime.services.mailboxes })] });
      try {
        const port = await lmtp.listen('127.0.0.1', 0);
        const phones = [new Device({ url: server.url, user: BOB.email, password: BOB.password, deviceId: `BOB161${backend}`, version: '16.1' }), new Device({ url: server.url, user: BOB.email, password: BOB.password, deviceId: `BOB141${backend}`, version: '14.1' })];
        for (const p of phones) {
          await p.folderSync();
          await p.initialSync(p.folderByType(8).serverId);
        }
        const ics = readFileSync(new URL('../fixtures/calendar/itip/thunderbird-monthly-31-request.ics', import.meta.url), 'utf8').replace(/\r?\n/g, '\r\n');
        await lmtpDeliver(port, BOB.email, invitation({ from: 'Olivia Organiser <olivia@example.org>', to: 'Bob Jones <bob@example.com>', subject: 'Month-end close', ics, id: `m31-${backend}@example.org` }).toString('utf8'));

        // The organizer's dates: the 31sts of January, March, May, July, August and October.
        const organizer = ['2026-01-31T09:00:00.000Z', '2026-03-31T08:00:00.000Z', '2026-05-31T08:00:00.000Z', '2026-07-31T08:00:00.000Z', '2026-08-31T08:00:00.000Z', '2026-10-31T09:00:00.000Z'];
        const rrule = /\r\nRRULE:([^\r]+)/.exec(ics.slice(ics.indexOf('BEGIN:VEVENT')))![1]!;
        assert.equal(rrule, 'FREQ=MONTHLY;COUNT=6;BYMONTHDAY=31');
        assert.deepEqual(iso(expandAsOrganizer(rrule, { year: 2026, month: 1, day: 31, hour: 10, minute: 0 }, ZONE, END_OF_2027)), organizer, 'ical.js reads the invitation so');
        for (const [p, version, key] of [
          [phones[0]!, '16.1', ['InstanceId', ASB]],
          [phones[1]!, '14.1', ['ExceptionStartTime', C]],
        ] as const) {
          const adds = (await p.sync(p.folderByType(8).serverId)).adds;
          assert.equal(adds.length, 1, 'one series');
          const app = adds[0]!.appData;
          const rec = child(app, 'Recurrence', C)!;
          // Outlook's "last day of every month", ending on the sixth real occurrence.
          assert.equal(childText(rec, 'Type', C), '3');
          assert.equal(childText(rec, 'WeekOfMonth', C), '5');
          assert.equal(childText(rec, 'DayOfWeek', C), '127');
          assert.equal(childText(rec, 'Until', C), '20261031T090000Z');
          assert.equal(childText(rec, 'Occurrences', C), undefined, 'Occurrences would count the deleted ones too');
          assert.deepEqual(deletedStarts(app, [key[0], key[1]]), ['20260228T090000Z', '20260430T080000Z', '20260630T080000Z', '20260930T080000Z']);
          assert.deepEqual(iso(expandAsDevice(app, ZONE, END_OF_2027)), organizer, `what the ${version} device shows`);
        }
      } finally {
        await lmtp.close();
      }
    });

    it('kb-1.10: a device-made "day 31" series is sent to an RFC 5545 attendee as month end (BYMONTHDAY=-1); a local attendee\'s device shows the same month ends', async () => {
      const olivia = new Device({ url: server.url, user: OLIVIA.email, password: OLIVIA.password, deviceId: `ORG31${backend}`, version: '16.1' });
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      await olivia.initialSync(ocal);
      const bob = new Device({ url: server.url, user: BOB.email, password: BOB.password, deviceId: `BOBORG${backend}`, version: '16.1' });
      await bob.folderSync();
      const bcal = bob.folderByType(8).serverId;
      await bob.initialSync(bcal);
      const sent = sink.messages.length;
      const c = (name: string, ...kids: Array<WbxmlElement | string>) => el(C, name, kids);
      await olivia.sync(ocal, {
        commands: [
          el(
            'AirSync',
            'Add',
            el('AirSync', 'ClientId', 'm31'),
            el(
              'AirSync',
              'ApplicationData',
              c('Timezone', berlinBlob()),
              c('AllDayEvent', '0'),
              c('BusyStatus', '2'),
              c('EndTime', '20260131T100000Z'),
              c('Subject', 'Pay day review'),
              c('StartTime', '20260131T090000Z'),
              c('MeetingStatus', '1'),
              c('Attendees', c('Attendee', c('Email', 'carol@outside.example'), c('Name', 'Carol Outside'), c('AttendeeType', '1')), c('Attendee', c('Email', BOB.email), c('Name', 'Bob Jones'), c('AttendeeType', '1'))),
              c('Recurrence', c('Type', '2'), c('Occurrences', '6'), c('Interval', '1'), c('DayOfMonth', '31')),
            ),
          ),
        ],
      });
      const monthEnds = ['2026-01-31T09:00:00.000Z', '2026-02-28T09:00:00.000Z', '2026-03-31T08:00:00.000Z', '2026-04-30T08:00:00.000Z', '2026-05-31T08:00:00.000Z', '2026-06-30T08:00:00.000Z'];
      assert.equal(sink.messages.length, sent + 1, 'one REQUEST through the relay');
      const mail = await simpleParser(sink.messages.at(-1)!.raw);
      const part = mail.attachments.find((a) => a.contentType === 'text/calendar');
      assert.ok(part, 'a text/calendar part');
      const text = part.content.toString('utf8').replace(/\r\n[ \t]/g, '');
      const vevent = text.slice(text.indexOf('BEGIN:VEVENT'));
      const rrule = /RRULE:([^\r\n]+)/.exec(vevent)![1]!;
      assert.equal(rrule, 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=6');
      assert.match(vevent, /DTSTART;TZID=Europe\/Berlin:20260131T100000/);
      assert.deepEqual(iso(expandAsOrganizer(rrule, { year: 2026, month: 1, day: 31, hour: 10, minute: 0 }, ZONE, END_OF_2027)), monthEnds, 'an RFC 5545 reader sees month ends');

      const adds = (await bob.sync(bcal)).adds;
      const mine = adds.find((a) => childText(a.appData, 'Subject', C) === 'Pay day review');
      assert.ok(mine, 'Bob has the meeting');
      assert.deepEqual(iso(expandAsDevice(mine.appData, ZONE, END_OF_2027)), monthEnds, "Bob's device shows the same month ends");
    });
  });
}
