/**
 * Loop detection scenarios (kb-1.8, src/devices/loop-detector.ts) through a real server: a device
 * that repeats the same MeetingResponse or the same item Change is answered from its first answer,
 * nothing is done again (one reply mail, no store growth) and the device is flagged for the admin.
 * On SQLite and PostgreSQL (the flag is stored).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { meetingHook } from '../../src/meetings/meeting-hook.ts';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { createOutboundMail, type OutboundMail } from '../../src/mail/relay.ts';
import { childText, children, child, el } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';
import { contactData, Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };

function invitation(uid: string): Buffer {
  const ics = [
    'BEGIN:VCALENDAR',
    'PRODID:-//easd test//EN',
    'VERSION:2.0',
    'METHOD:REQUEST',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20261120T090000Z',
    'DTSTART:20261201T100000Z',
    'DTEND:20261201T110000Z',
    'SUMMARY:Loop review',
    'SEQUENCE:0',
    'ORGANIZER;CN=Olga Organizer:mailto:olga@example.org',
    'ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  return Buffer.from(
    [
      'From: Olga Organizer <olga@example.org>',
      'To: alice@example.com',
      'Subject: Invitation: Loop review',
      'Message-ID: <loop-review@example.org>',
      'Date: Fri, 20 Nov 2026 09:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Please come.',
      '--b1',
      'Content-Type: text/calendar; charset=utf-8; method=REQUEST',
      '',
      ics,
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`loop detection (${backend})`, () => {
    it('kb-1.8: 100 identical MeetingResponses give one reply mail and flag the device', async () => {
      const sink: SmtpSink = await startSmtpSink();
      let outbound: OutboundMail | undefined;
      let server: TestServer | undefined;
      try {
        server = await startTestServer({
          users: [ALICE],
          backend,
          logLevel: 'info',
          services: (store, _, mailboxes) => {
            outbound = createOutboundMail({ accounts: store, log: pino({ level: 'silent' }), deliverLocal: (m) => deliverMessage({ accounts: store, mailboxes }, m), relay: { url: sink.url, starttls: 'off' } });
            return { outbound };
          },
        });
        const srv = server;
        const results = await deliverMessage(srv.runtime.deliveryTargets, { envelopeFrom: 'olga@example.org', recipients: [ALICE.email], raw: invitation(`loop-${backend}@example.org`) }, { afterDelivery: [meetingHook({ accounts: srv.store, mailboxes: srv.runtime.services.mailboxes })] });
        assert.equal(results[0]!.outcome, 'delivered');
        const d = new Device({ url: srv.url, user: ALICE.email, password: ALICE.password, deviceId: `MR${backend}` });
        assert.equal((await d.folderSync()).status, 1);
        const inbox = d.folderByType(2).serverId;
        const items = await d.initialSync(inbox);
        assert.equal(items.length, 1);
        const requestId = items[0]!.serverId;
        const M = 'MeetingResponse';
        const body = el(M, 'MeetingResponse', el(M, 'Request', el(M, 'UserResponse', 1), el(M, 'CollectionId', inbox), el(M, 'RequestId', requestId), el(M, 'SendResponse', el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', 'Yes.')))));
        const from = srv.logs.length;
        const answers = new Set<string>();
        for (let i = 0; i < 100; i++) {
          const r = await d.client.post('MeetingResponse', body);
          assert.equal(r.status, 200);
          const result = child(r.wbxml!, 'Result', M)!;
          assert.equal(childText(result, 'Status', M), '1');
          answers.add(childText(result, 'CalendarId', M)!);
        }
        assert.equal(answers.size, 1, 'every answer names the same calendar item');
        const logs = srv.requestLogs(from);
        assert.equal(logs.filter((l) => l.loopReplay !== undefined).length, 99, 'answered from the first answer, not processed again');
        for (let i = 0; i < 50 && sink.messages.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(sink.messages.length, 1, 'one reply mail to the organizer');
        const p = await srv.store.protection.get(srv.users.get(ALICE.email)!.id, `MR${backend}`);
        assert.equal(p?.loops, 1, 'flagged once for the run');
        assert.equal(p?.lastLoopCommand, 'MeetingResponse');
      } finally {
        outbound?.close();
        await server?.close();
        await sink.close();
      }
    });

    it('kb-1.8: 100 identical Syncs carrying the same item Change do not grow the store', async () => {
      // Throttling would also stop this device (identical Syncs): here only loops are looked at.
      const server = await startTestServer({ users: [ALICE], backend, logLevel: 'info', config: { protection: { throttle: { enabled: false } } } });
      try {
        const alice = server.users.get(ALICE.email)!;
        const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `CH${backend}` });
        assert.equal((await d.folderSync()).status, 1);
        const contacts = d.folderByType(9).serverId;
        const folder = (await server.store.listFolders(alice.id)).find((f) => f.serverId === contacts)!;
        await server.store.putItem({ userId: alice.id, folderId: folder.id, class: 'Contacts', data: { firstName: 'Loop', lastName: 'Person' } });
        const items = await d.initialSync(contacts);
        assert.equal(items.length, 1);
        const change = el('AirSync', 'Change', el('AirSync', 'ServerId', items[0]!.serverId), contactData('Loopy', 'Person'));
        const body = el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(contacts, { commands: [change] })));
        const before = (await server.store.getFolder(alice.id, folder.id))!.modseq;
        const from = server.logs.length;
        const statuses = new Set<string>();
        for (let i = 0; i < 100; i++) {
          const r = await d.client.post('Sync', body);
          assert.equal(r.status, 200);
          const coll = children(child(r.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')[0]!;
          statuses.add(childText(coll, 'Status', 'AirSync')!);
        }
        assert.deepEqual([...statuses], ['1']);
        const after = (await server.store.getFolder(alice.id, folder.id))!.modseq;
        assert.ok(after - before <= 1, `the folder's change sequence grew by ${after - before}`);
        assert.equal(server.requestLogs(from).filter((l) => l.loopReplay !== undefined).length, 99, 'processed once, then replayed');
        const p = await server.store.protection.get(alice.id, `CH${backend}`);
        assert.equal(p?.loops, 1);
        assert.equal(p?.lastLoopCommand, 'Sync');
        // The device moves on with the key it was given: a new Sync is worked out again.
        const again = await d.sync(contacts);
        assert.equal(again.status, 1);
      } finally {
        await server.close();
      }
    });
  });
}
