/**
 * Forwarding a meeting with SmartForward (MS-ASCMD 2.2.1.19, 3.1.5.7; MS-OXOCAL 2.2.9, 3.1.4.7),
 * end to end over the real server: the 16.x form (Source + airsyncbase:Body + Forwardees, no Mime,
 * MS-ASCMD 2.2.3.169 and 2.2.3.79) and the MIME form Exchange's own conformance suite uses for
 * calendar items and meeting requests (OfficeDev/Interop-TestSuites,
 * ExchangeActiveSync/Source/MS-ASCMD/TestSuite/S17_SmartForward.cs TC03-TC06 and
 * TestSuiteBase.CreateSmartForwardRequest: Source FolderId+ItemId, a plain-text MIME with To;
 * the organizer then finds "Meeting Forward Notification: " + subject). Local forwardees and
 * organizers get mail by local delivery with the meeting hook, outside ones through a capturing
 * SMTP relay. Invitations from outside come in Outlook's format (test/fixtures/calendar/itip/).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';

import { parseICalendar } from '../../src/calendar/icalendar.ts';
import { meetingHook } from '../../src/meetings/meeting-hook.ts';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { createOutboundMail, type OutboundMail } from '../../src/mail/relay.ts';
import type { Item, JsonObject, Store } from '../../src/store/types.ts';
import { childText, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { liveItems } from '../helpers/store-items.ts';
import { pgSkipped } from '../helpers/db.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';
import { Device } from './device.ts';
import { invitation } from './itip-mail.ts';

const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const OLIVIA = { email: 'olivia@example.com', password: 'olivia-password-1', displayName: 'Olivia Organiser' };
const CARL = { email: 'carl@example.com', password: 'carl-password-12', displayName: 'Carl Local' };
const CM = 'ComposeMail';
const C = 'Calendar';
const ASB = 'AirSyncBase';
const MR = 'MeetingResponse';
const c = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(C, name, kids);
const inboxOptions = [el('AirSync', 'FilterType', '0'), el(ASB, 'BodyPreference', el(ASB, 'Type', '1'))];

const fixture = (name: string, replace: Record<string, string> = {}) => {
  let text = readFileSync(new URL(`../fixtures/calendar/itip/${name}`, import.meta.url), 'utf8');
  for (const [k, v] of Object.entries(replace)) text = text.split(k).join(v);
  return text;
};

/** The 16.x meeting forward: no Mime, SaveInSentItems or ReplaceMime (MS-ASCMD 2.2.3.169). */
function forward16(o: { clientId: string; folderId?: string; itemId?: string; instanceId?: string; body?: string; forwardees: Array<{ email?: string; name?: string }>; extra?: WbxmlElement[] }): WbxmlElement {
  return el(
    CM,
    'SmartForward',
    el(CM, 'ClientId', o.clientId),
    el(CM, 'Source', o.folderId ? el(CM, 'FolderId', o.folderId) : null, o.itemId ? el(CM, 'ItemId', o.itemId) : null, o.instanceId ? el(CM, 'InstanceId', o.instanceId) : null),
    ...(o.extra ?? []),
    o.body !== undefined ? el(ASB, 'Body', el(ASB, 'Type', '1'), el(ASB, 'Data', o.body)) : null,
    el(CM, 'Forwardees', o.forwardees.map((f) => el(CM, 'Forwardee', f.name ? el(CM, 'Name', f.name) : null, f.email !== undefined ? el(CM, 'Email', f.email) : null))),
  );
}

/** The MIME form, as the conformance suite's CreateSmartForwardRequest writes it. */
function forwardMime(o: { clientId: string; folderId: string; itemId: string; to: string; subject: string; text: string; instanceId?: string }): WbxmlElement {
  const mime = Buffer.from([`From: ann@example.com`, `To: ${o.to}`, `Subject: ${o.subject}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', o.text, ''].join('\r\n'));
  return el(CM, 'SmartForward', el(CM, 'ClientId', o.clientId), el(CM, 'Source', el(CM, 'FolderId', o.folderId), el(CM, 'ItemId', o.itemId), o.instanceId ? el(CM, 'InstanceId', o.instanceId) : null), el(CM, 'Mime', new Uint8Array(mime)));
}

const statusOf = (res: { wbxml?: WbxmlElement }) => (res.wbxml ? Number(childText(res.wbxml, 'Status', CM)) : 1);

async function itipOf(raw: Buffer) {
  const mail = await simpleParser(raw);
  const part = mail.attachments.find((a) => a.contentType === 'text/calendar');
  return { mail, cal: part ? parseICalendar(part.content.toString('utf8')) : undefined };
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`forwarding a meeting (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let outbound: OutboundMail | undefined;
    const logs: LogLine[] = [];
    let deliver: (to: string[], raw: Buffer, from: string) => Promise<void>;
    const phone = (u: { email: string; password: string }, id: string, version = '16.1') => new Device({ url: server.url, user: u.email, password: u.password, deviceId: `${id}${backend}`, version });
    const userId = (u: { email: string }) => server.users.get(u.email)!.id;
    const items = (u: { email: string }, type: number): Promise<Item[]> => liveItems(server.store as Store, userId(u), type);

    before(async () => {
      sink = await startSmtpSink();
      server = await startTestServer({
        users: [ANN, BOB, OLIVIA, CARL],
        backend,
        logLevel: 'warn',
        services: (store, _, mailboxes) => {
          const log = collectingLogger(logs, 'info');
          const hooks = [meetingHook({ accounts: store, mailboxes, log })];
          const deliverLocal = (m: { envelopeFrom: string; recipients: string[]; raw: Buffer }) => deliverMessage({ accounts: store, mailboxes }, m, { afterDelivery: hooks, log });
          outbound = createOutboundMail({ accounts: store, log, deliverLocal, relay: { url: sink.url, starttls: 'off' } });
          deliver = async (to, raw, from) => {
            for (const x of await deliverLocal({ envelopeFrom: from, recipients: to, raw })) assert.equal(x.outcome, 'delivered');
          };
          return { outbound };
        },
      });
    });
    after(async () => {
      outbound?.close();
      await server.close();
      await sink.close();
    });

    it('16.x Forwardees of a local organizer\'s meeting: the local forwardee can accept, the outside one gets a REQUEST, the organizer is told and has both as optional attendees', async () => {
      // Olivia (16.1) organises; the server invites Ann.
      const olivia = phone(OLIVIA, 'FWO');
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      await olivia.initialSync(ocal);
      const add = await olivia.sync(ocal, {
        commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'f1'), el('AirSync', 'ApplicationData', c('BusyStatus', '2'), c('EndTime', '20260410T140000Z'), c('Subject', 'Budget review'), c('StartTime', '20260410T130000Z'), c('MeetingStatus', '1'), c('Attendees', c('Attendee', c('Email', ANN.email), c('Name', ANN.displayName), c('AttendeeType', '1')))))],
      });
      const orgServerId = childText(add.responses[0]!, 'ServerId', 'AirSync')!;
      const orgItem = (await server.store.getItemByServerId(userId(OLIVIA), orgServerId))!;
      const uid = orgItem.uid!;

      // Ann forwards her copy from her calendar to Bob (local) and Dave (outside).
      const ann = phone(ANN, 'FWA');
      await ann.folderSync();
      const acal = ann.folderByType(8).serverId;
      const annCopy = (await ann.initialSync(acal)).find((i) => childText(i.appData, 'Subject', C) === 'Budget review')!;
      const relayed = sink.messages.length;
      const res = await ann.client.post('SmartForward', forward16({ clientId: 'fw-1', folderId: acal, itemId: annCopy.serverId, body: 'Bob, Dave: please join.', forwardees: [{ email: BOB.email, name: BOB.displayName }, { email: 'Dave@Outside.example', name: 'Dave Outside' }] }));
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 0, 'success is an empty response');

      // Dave: a REQUEST from Ann with Olivia still the organizer and Dave an optional attendee.
      const toDave = sink.messages.slice(relayed).find((m) => m.to.includes('dave@outside.example'))!;
      assert.ok(toDave, 'relayed to the outside forwardee');
      assert.equal(toDave.from, ANN.email);
      const inv = await itipOf(toDave.raw);
      assert.equal(inv.mail.subject, 'FW: Budget review');
      assert.match(inv.mail.text ?? '', /please join/);
      assert.equal(inv.cal!.method, 'REQUEST');
      const ev = inv.cal!.events[0]!.data;
      assert.equal(ev['organizerEmail'], OLIVIA.email);
      assert.equal(ev['uid'], uid);
      const dave = (ev['attendees'] as JsonObject[]).find((a) => a['email'] === 'dave@outside.example')!;
      assert.equal(dave['attendeeType'], 2);
      assert.equal(ev['reminder'], undefined, 'Ann\'s own reminder stays hers');

      // Bob: a tentative meeting and an invitation he can accept; his REPLY counts at Olivia's.
      const bobCopy = (await items(BOB, 8)).find((i) => i.uid === uid)!;
      assert.ok(bobCopy, 'the local forwardee has the meeting');
      assert.equal(bobCopy.data['responseType'], 5);
      assert.equal(bobCopy.data['organizerEmail'], OLIVIA.email);
      const bob = phone(BOB, 'FWB');
      await bob.folderSync();
      const binbox = bob.folderByType(2).serverId;
      const req = (await bob.initialSync(binbox, { options: inboxOptions })).find((i) => childText(i.appData, 'Subject', 'Email') === 'FW: Budget review')!;
      assert.equal(childText(req.appData, 'MessageClass', 'Email'), 'IPM.Schedule.Meeting.Request');
      const answer = await bob.client.post('MeetingResponse', el(MR, 'MeetingResponse', el(MR, 'Request', el(MR, 'UserResponse', '1'), el(MR, 'CollectionId', binbox), el(MR, 'RequestId', req.serverId), el(MR, 'SendResponse'))));
      assert.equal(childText(answer.wbxml!.children[0] as WbxmlElement, 'Status', MR), '1');

      // Olivia: the notification in her Inbox, Bob (accepted) and Dave as optional attendees.
      const attendees = (await server.store.getItem(userId(OLIVIA), orgItem.id))!.data['attendees'] as JsonObject[];
      const byEmail = Object.fromEntries(attendees.map((a) => [a['email'], a]));
      assert.deepEqual(Object.keys(byEmail).sort(), [ANN.email, BOB.email, 'dave@outside.example']);
      assert.equal(byEmail[BOB.email]!['attendeeType'], 2);
      assert.equal(byEmail[BOB.email]!['attendeeStatus'], 3, 'the forwardee\'s acceptance reached the organizer');
      assert.equal(byEmail['dave@outside.example']!['attendeeType'], 2);
      const notice = (await items(OLIVIA, 2)).find((i) => i.data['subject'] === 'Meeting Forward Notification: Budget review');
      assert.ok(notice, 'the organizer is told');
      // Ann keeps a copy in Sent Items; the forward used her ClientId once.
      assert.ok((await items(ANN, 5)).some((i) => i.data['subject'] === 'FW: Budget review'));
      assert.equal(statusOf(await ann.client.post('SmartForward', forward16({ clientId: 'fw-1', folderId: acal, itemId: annCopy.serverId, forwardees: [{ email: CARL.email }] }))), 118);
    });

    it('MIME form of an outside organizer\'s recurring invitation from the Inbox: the series goes to a local and an outside address, the organizer gets the notification mail', async () => {
      const organizer = 'oscar@outside.example';
      const uid = '040000008200E00074C5B7101A82E00800000000D0F3C3F1A03DDC0100000000000000001000000000F0F0F1';
      const ics = fixture('outlook-series-request.ics', { 'olivia@example.com': organizer, 'Olivia Organiser': 'Oscar Outside', '040000008200E00074C5B7101A82E00800000000D0F3C3F1A03DDC01000000000000000010000000A3E6C51A8B4D2B4CA5B0E1F0D4A1B2C3': uid });
      await deliver([ANN.email], invitation({ from: `Oscar Outside <${organizer}>`, to: ANN.email, subject: 'Weekly status', ics, id: `fw-series-${backend}@outside.example` }), organizer);
      const ann = phone(ANN, 'FWM', '14.1');
      await ann.folderSync();
      const inbox = ann.folderByType(2).serverId;
      const mail = (await ann.initialSync(inbox, { options: inboxOptions })).find((i) => childText(i.appData, 'Subject', 'Email') === 'Weekly status')!;
      const relayed = sink.messages.length;
      const res = await ann.client.post('SmartForward', forwardMime({ clientId: 'fw-m1', folderId: inbox, itemId: mail.serverId, to: `Carl Local <${CARL.email}>, dave@outside.example`, subject: 'FW: Weekly status', text: 'Join us' }));
      assert.equal(statusOf(res), 1);
      const out = sink.messages.slice(relayed);
      const toDave = out.find((m) => m.to.includes('dave@outside.example'))!;
      const inv = await itipOf(toDave.raw);
      assert.equal(inv.cal!.method, 'REQUEST');
      assert.equal(inv.cal!.events[0]!.data['organizerEmail'], organizer);
      assert.ok(inv.cal!.events[0]!.data['recurrence'], 'the whole series');
      const notice = out.find((m) => m.to.includes(organizer))!;
      assert.ok(notice, 'the outside organizer gets the notification through the relay');
      const n = await simpleParser(notice.raw);
      assert.equal(n.subject, 'Meeting Forward Notification: Weekly status');
      assert.equal(n.headers.get('auto-submitted'), 'auto-generated');
      assert.match(n.text ?? '', /carl@example\.com/);
      assert.match(n.text ?? '', /dave@outside\.example/);
      const carl = (await items(CARL, 8)).find((i) => i.uid === uid)!;
      assert.ok(carl?.data['recurrence'], 'the local forwardee has the series');
      assert.equal(carl.data['responseType'], 5);
      const forwarded = (await items(ANN, 2)).find((i) => i.serverId === mail.serverId)!;
      assert.equal(forwarded.data['lastVerbExecuted'], 3);
    });

    it('one occurrence (InstanceId) goes as that occurrence only; a plain message with Forwardees is still forwarded', async () => {
      const uid = '040000008200E00074C5B7101A82E00800000000D0F3C3F1A03DDC0100000000000000001000000000F0F0F2';
      const ics = fixture('outlook-series-request.ics', { '040000008200E00074C5B7101A82E00800000000D0F3C3F1A03DDC01000000000000000010000000A3E6C51A8B4D2B4CA5B0E1F0D4A1B2C3': uid, 'olivia@example.com': 'oscar@outside.example' });
      await deliver([BOB.email], invitation({ from: 'oscar@outside.example', to: BOB.email, subject: 'Weekly status', ics, id: `fw-occ-${backend}@outside.example` }), 'oscar@outside.example');
      const bob = phone(BOB, 'FWI');
      await bob.folderSync();
      const bcal = bob.folderByType(8).serverId;
      const series = (await bob.initialSync(bcal)).find((i) => childText(i.appData, 'Subject', C) === 'Weekly status')!;
      const relayed = sink.messages.length;
      // The second Tuesday, 2026-03-10 10:00 Berlin (09:00Z).
      assert.equal(statusOf(await bob.client.post('SmartForward', forward16({ clientId: 'fw-i1', folderId: bcal, itemId: series.serverId, instanceId: '2026-03-10T09:00:00.000Z', forwardees: [{ email: 'erin@outside.example' }] }))), 1);
      const inv = await itipOf(sink.messages.slice(relayed).find((m) => m.to.includes('erin@outside.example'))!.raw);
      assert.equal(inv.cal!.events.length, 1);
      assert.deepEqual(inv.cal!.events[0]!.recurrenceIds, ['2026-03-10T09:00:00.000Z']);

      // A plain message, 16.x form: sent as an ordinary forward to the forwardees.
      await deliver([BOB.email], Buffer.from('From: someone@outside.example\r\nTo: bob@example.com\r\nSubject: Minutes\r\nMessage-ID: <min-' + backend + '@outside.example>\r\n\r\nThe minutes.\r\n'), 'someone@outside.example');
      const inbox = bob.folderByType(2).serverId;
      const minutes = (await bob.initialSync(inbox, { options: inboxOptions })).find((i) => childText(i.appData, 'Subject', 'Email') === 'Minutes')!;
      assert.equal(statusOf(await bob.client.post('SmartForward', forward16({ clientId: 'fw-p1', folderId: inbox, itemId: minutes.serverId, body: 'FYI', forwardees: [{ email: CARL.email, name: 'Carl' }] }))), 1);
      const got = (await items(CARL, 2)).find((i) => i.data['subject'] === 'FW: Minutes')!;
      assert.ok(got, 'the forwardee received the forward');
      const body = got.data['body'] as JsonObject;
      assert.match(String(body['text']), /FYI[\s\S]*The minutes\./);
    });

    it('bad requests get their documented statuses and send nothing; another user\'s item is unreachable', async () => {
      const olivia = phone(OLIVIA, 'FWX');
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      await olivia.initialSync(ocal);
      const add = await olivia.sync(ocal, { commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'x1'), el('AirSync', 'ApplicationData', c('EndTime', '20260420T140000Z'), c('Subject', 'Private'), c('StartTime', '20260420T130000Z')))] });
      const oliviaItem = childText(add.responses[0]!, 'ServerId', 'AirSync')!;
      const ann = phone(ANN, 'FWX');
      await ann.folderSync();
      const acal = ann.folderByType(8).serverId;
      const mine = (await ann.initialSync(acal)).find((i) => childText(i.appData, 'Subject', C) === 'Budget review')!;
      const relayed = sink.messages.length;
      const delivered = (await items(CARL, 2)).length;
      const post = (b: WbxmlElement) => ann.client.post('SmartForward', b).then(statusOf);
      assert.equal(await post(forward16({ clientId: 'b1', folderId: acal, itemId: mine.serverId, forwardees: [{ name: 'No address' }] })), 179, 'a Forwardee without Email');
      assert.equal(await post(forward16({ clientId: 'b2', folderId: acal, itemId: mine.serverId, forwardees: [{ email: 'not an address' }] })), 179);
      assert.equal(await post(forward16({ clientId: 'b3', folderId: acal, itemId: mine.serverId, forwardees: [{ email: CARL.email }], extra: [el(CM, 'SaveInSentItems')] })), 178, 'SaveInSentItems with Forwardees');
      assert.equal(await post(forward16({ clientId: 'b4', folderId: acal, itemId: oliviaItem, forwardees: [{ email: CARL.email }] })), 150, 'another user\'s item id');
      assert.equal(await post(forward16({ clientId: 'b5', itemId: oliviaItem, forwardees: [{ email: CARL.email }] })), 150);
      assert.equal(await post(forward16({ clientId: 'b6', folderId: acal, itemId: mine.serverId, instanceId: 'next tuesday', forwardees: [{ email: CARL.email }] })), 104);
      assert.equal(await post(forward16({ clientId: 'b7', folderId: acal, itemId: mine.serverId, instanceId: '2026-04-17T13:00:00.000Z', forwardees: [{ email: CARL.email }] })), 146, 'an occurrence of a meeting that does not recur');
      assert.equal(sink.messages.length, relayed, 'nothing relayed');
      assert.equal((await items(CARL, 2)).length, delivered, 'nothing delivered');
      assert.ok(server.logs.some((l) => l.msg === 'SmartForward refused'), 'refusals are logged at warn');

      // Carl was not invited: a copy he makes up (14.1 lets a device set UID) and forwards adds nobody to Olivia's meeting.
      const budget = (await items(OLIVIA, 8)).find((i) => i.data['subject'] === 'Budget review')!;
      const attendeesBefore = JSON.stringify(budget.data['attendees']);
      const carl = phone(CARL, 'FWX', '14.1');
      await carl.folderSync();
      const ccal = carl.folderByType(8).serverId;
      await carl.initialSync(ccal);
      const made = await carl.sync(ccal, {
        commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'x2'), el('AirSync', 'ApplicationData', c('EndTime', '20260410T140000Z'), c('Subject', 'Budget review'), c('StartTime', '20260410T130000Z'), c('UID', budget.uid!), c('OrganizerEmail', OLIVIA.email), c('MeetingStatus', '3')))],
      });
      const fake = childText(made.responses[0]!, 'ServerId', 'AirSync')!;
      assert.equal(statusOf(await carl.client.post('SmartForward', forwardMime({ clientId: 'x3', folderId: ccal, itemId: fake, to: 'mallory@outside.example', subject: 'FW: Budget review', text: 'come' }))), 1);
      assert.equal(JSON.stringify((await server.store.getItem(userId(OLIVIA), budget.id))!.data['attendees']), attendeesBefore, 'the organizer\'s attendees stay as they are');
    });
  });
}
