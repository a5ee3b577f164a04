/**
 * Meetings end to end, on SQLite, PostgreSQL and the in-memory mailbox: invitations, updates and
 * cancellations arrive by mail (deliverMessage with the meeting hook, as LMTP delivers them) in
 * the formats Outlook, Google Calendar and Thunderbird write (test/fixtures/calendar/itip/);
 * devices see them through Sync and answer with MeetingResponse; replies leave through the
 * outbound service (a capturing SMTP sink as the relay, local delivery for local organizers); a
 * 16.1 organizer's device makes the server invite, update and cancel. Scenario ids are those of
 * ../shared/SCENARIOS.md.
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
import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { liveItems } from '../helpers/store-items.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { pgSkipped } from '../helpers/db.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';
import { Device } from './device.ts';
import { invitation } from './itip-mail.ts';

const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const OLIVIA = { email: 'olivia@example.com', password: 'olivia-password-1', displayName: 'Olivia Organiser' };
const C = 'Calendar';
const E = 'Email';
const MR = 'MeetingResponse';
const ASB = 'AirSyncBase';
const c = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(C, name, kids);

const DIR = new URL('../fixtures/calendar/itip/', import.meta.url);
function fixture(name: string, replace: Record<string, string> = {}): string {
  let text = readFileSync(new URL(name, DIR), 'utf8');
  for (const [k, v] of Object.entries(replace)) text = text.split(k).join(v);
  return text;
}
const OUTLOOK_UID = '040000008200E00074C5B7101A82E00800000000D0F3C3F1A03DDC01000000000000000010000000A3E6C51A8B4D2B4CA5B0E1F0D4A1B2C3';
/** The Outlook series under another UID (same GlobalObjId layout, another id at the end). */
const outlookUid = (tag: string) => OUTLOOK_UID.slice(0, -8) + tag.padStart(8, '0').slice(-8).toUpperCase();


const inboxOptions = [el('AirSync', 'FilterType', '0'), el(ASB, 'BodyPreference', el(ASB, 'Type', '1'))];

function meetingResponse(reqs: Array<{ response: number | string; collectionId?: string; requestId?: string; instanceId?: string; send?: boolean | string }>): WbxmlElement {
  return el(
    MR,
    'MeetingResponse',
    reqs.map((r) =>
      el(
        MR,
        'Request',
        el(MR, 'UserResponse', String(r.response)),
        r.collectionId !== undefined ? el(MR, 'CollectionId', r.collectionId) : null,
        r.requestId !== undefined ? el(MR, 'RequestId', r.requestId) : null,
        r.instanceId !== undefined ? el(MR, 'InstanceId', r.instanceId) : null,
        r.send === undefined || r.send === false ? null : el(MR, 'SendResponse', typeof r.send === 'string' ? el(ASB, 'Body', el(ASB, 'Type', '1'), el(ASB, 'Data', r.send)) : null),
      ),
    ),
  );
}

function results(res: { wbxml?: WbxmlElement }): Array<{ requestId?: string; status: number; calendarId?: string }> {
  return children(res.wbxml!, 'Result', MR).map((r) => ({
    ...(childText(r, 'RequestId', MR) !== undefined ? { requestId: childText(r, 'RequestId', MR) } : {}),
    status: Number(childText(r, 'Status', MR)),
    ...(childText(r, 'CalendarId', MR) !== undefined ? { calendarId: childText(r, 'CalendarId', MR) } : {}),
  }));
}

const calendarItems = (store: Store, userId: string) => liveItems(store, userId, 8);
const inboxItems = (store: Store, userId: string) => liveItems(store, userId, 2);

/** The message an Email item keeps, from the owner's mailbox (whichever backend keeps it). */
async function rawOf(server: TestServer, item: Item): Promise<Buffer> {
  const sha = (item.data['mime'] as JsonObject)['sha256'] as string;
  return (await server.runtime.services.mailboxes.open(item.userId).getBlob(sha))!;
}

/** The text/calendar of a message, parsed. */
async function itipOf(raw: Buffer) {
  const mail = await simpleParser(raw);
  const part = mail.attachments.find((a) => a.contentType === 'text/calendar');
  assert.ok(part, 'the message has a text/calendar part');
  return { mail, cal: parseICalendar(part.content.toString('utf8')) };
}

const byName = <T extends { appData: WbxmlElement }>(items: T[], subject: string, ns = E): T | undefined => items.find((i) => childText(i.appData, 'Subject', ns) === subject);

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`meetings through mail (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let outbound: OutboundMail | undefined;
    const logs: LogLine[] = [];
    let deliver: (to: string[], raw: Buffer, from?: string) => Promise<void>;
    const phone = (u: { email: string; password: string }, id: string, version = '16.1') => new Device({ url: server.url, user: u.email, password: u.password, deviceId: `${id}${backend}`, version });
    const userId = (u: { email: string }) => server.users.get(u.email)!.id;

    before(async () => {
      sink = await startSmtpSink();
      server = await startTestServer({
        users: [ANN, BOB, OLIVIA],
        backend,
        logLevel: 'warn',
        services: (store, _, mailboxes) => {
          const log = collectingLogger(logs, 'info');
          const hooks = [meetingHook({ accounts: store, mailboxes, log })];
          const deliverLocal = (m: { envelopeFrom: string; recipients: string[]; raw: Buffer }) => deliverMessage({ accounts: store, mailboxes }, m, { afterDelivery: hooks, log });
          outbound = createOutboundMail({ accounts: store, log, deliverLocal, relay: { url: sink.url, starttls: 'off' } });
          deliver = async (to, raw, from = 'organizer@outside.example') => {
            const r = await deliverLocal({ envelopeFrom: from, recipients: to, raw });
            for (const x of r) assert.equal(x.outcome, 'delivered');
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

    it('kb-1.1: a CANCEL of one occurrence leaves the series with a deleted exception; the device gets a Change, and the mail names the occurrence', async () => {
      const ann = phone(ANN, 'K11', '14.1');
      await ann.folderSync();
      const calId = ann.folderByType(8).serverId;
      const inboxId = ann.folderByType(2).serverId;
      await ann.initialSync(calId);
      await ann.initialSync(inboxId, { options: inboxOptions });
      await deliver([ANN.email], invitation({ from: 'Olivia Organiser <olivia@example.com>', to: 'ann@example.com', subject: 'Weekly status', ics: fixture('outlook-series-request.ics'), id: 'k11-req@example.com' }));
      const cal = await ann.sync(calId);
      assert.equal(cal.adds.length, 1);
      const series = cal.adds[0]!;
      assert.equal(childText(series.appData, 'UID', C), OUTLOOK_UID);
      assert.equal(childText(series.appData, 'MeetingStatus', C), '3');
      assert.equal(childText(series.appData, 'BusyStatus', C), '1');
      assert.equal(childText(series.appData, 'ResponseType', C), '5');
      assert.equal(childText(series.appData, 'OrganizerEmail', C), 'olivia@example.com');
      const inbox = await ann.sync(inboxId, { options: inboxOptions });
      const request = [...inbox.adds, ...inbox.changes].find((i) => childText(i.appData, 'Subject', E) === 'Weekly status')!;
      assert.equal(childText(request.appData, 'MessageClass', E), 'IPM.Schedule.Meeting.Request');
      const mr = child(request.appData, 'MeetingRequest', E)!;
      assert.equal(childText(mr, 'InstanceType', E), '1');
      assert.equal(childText(mr, 'StartTime', E), '2026-03-03T09:00:00.000Z');
      assert.equal(childText(mr, 'BusyStatus', E), '2', 'the intended status (X-MICROSOFT-CDO-INTENDEDSTATUS)');
      assert.equal(childText(mr, 'Organizer', E), '"Olivia Organiser" <olivia@example.com>');
      assert.equal(childText(mr, 'GlobalObjId', E), Buffer.from(OUTLOOK_UID, 'hex').toString('base64'));
      assert.equal(childText(mr, 'MeetingMessageType', 'Email2'), '1');
      assert.equal(childText(child(child(mr, 'Recurrences', E)!, 'Recurrence', E)!, 'Type', E), '1');

      await deliver([ANN.email], invitation({ from: 'olivia@example.com', to: 'ann@example.com', subject: 'Canceled: Weekly status', ics: fixture('outlook-occurrence-cancel.ics'), id: 'k11-cancel@example.com' }));
      const after = await ann.sync(calId);
      assert.deepEqual(after.deletes, [], 'never a Delete of the series');
      assert.deepEqual(after.softDeletes, []);
      assert.deepEqual(after.adds, []);
      assert.deepEqual(after.changes.map((x) => x.serverId), [series.serverId], 'one Change of the series');
      const exceptions = children(child(after.changes[0]!.appData, 'Exceptions', C)!, 'Exception', C);
      assert.deepEqual(exceptions.map((x) => [childText(x, 'ExceptionStartTime', C), childText(x, 'Deleted', C)]), [['20260317T090000Z', '1']]);
      assert.ok(child(after.changes[0]!.appData, 'Recurrence', C), 'still a series');
      const mails = await ann.sync(inboxId, { options: inboxOptions });
      const cancel = [...mails.adds, ...mails.changes].find((i) => childText(i.appData, 'Subject', E) === 'Canceled: Weekly status')!;
      assert.equal(childText(cancel.appData, 'MessageClass', E), 'IPM.Schedule.Meeting.Canceled');
      const cmr = child(cancel.appData, 'MeetingRequest', E)!;
      assert.equal(childText(cmr, 'InstanceType', E), '3');
      assert.equal(childText(cmr, 'RecurrenceId', E), '2026-03-17T09:00:00.000Z');
    });

    it('kb-1.4: a 3-day all-day request by mail is all-day on the calendar item and on the MeetingRequest', async () => {
      const ann = phone(ANN, 'K14', '14.1');
      await ann.folderSync();
      const calId = ann.folderByType(8).serverId;
      const inboxId = ann.folderByType(2).serverId;
      await deliver([ANN.email], invitation({ from: 'olivia@example.com', to: 'ann@example.com', subject: 'Off-site planning', ics: fixture('outlook-allday-request.ics'), id: 'k14@example.com' }));
      const item = byName(await ann.initialSync(calId), 'Off-site planning', C)!;
      assert.equal(childText(item.appData, 'AllDayEvent', C), '1');
      assert.equal(childText(item.appData, 'StartTime', C), '20260405T220000Z');
      assert.equal(childText(item.appData, 'EndTime', C), '20260408T220000Z');
      const mail = byName(await ann.initialSync(inboxId, { options: inboxOptions }), 'Off-site planning')!;
      const mr = child(mail.appData, 'MeetingRequest', E)!;
      assert.equal(childText(mr, 'AllDayEvent', E), '1');
      assert.equal(childText(mr, 'StartTime', E), '2026-04-05T22:00:00.000Z');
      assert.equal(childText(mr, 'BusyStatus', E), '3', 'OOF as Outlook intended');
      // 12.1: the same element without the 14.x children.
      const old = phone(ANN, 'K14OLD', '12.1');
      await old.folderSync();
      const oldMail = byName(await old.initialSync(old.folderByType(2).serverId, { options: inboxOptions }), 'Off-site planning')!;
      const oldMr = child(oldMail.appData, 'MeetingRequest', E)!;
      assert.equal(childText(oldMr, 'AllDayEvent', E), '1');
      assert.equal(childText(oldMr, 'Location', E), 'Lakeside Lodge');
      assert.equal(child(oldMr, 'MeetingMessageType', 'Email2'), undefined);
      assert.equal(child(oldMr, 'DisallowNewTimeProposal', E), undefined);
    });

    it('kb-1.9: two REQUESTs for one exception delivered out of order: the newer wins, the late one is marked outdated', async () => {
      const ann = phone(ANN, 'K19', '14.1');
      await ann.folderSync();
      const calId = ann.folderByType(8).serverId;
      const inboxId = ann.folderByType(2).serverId;
      await deliver([ANN.email], invitation({ from: 'organizer@example.org', to: 'ann@example.com', subject: 'AppArmor Meeting', ics: fixture('google-series-request.ics'), id: 'k19-1@google.com' }), 'organizer@example.org');
      const newer = fixture('google-occurrence-request.ics', {
        'SEQUENCE:10': 'SEQUENCE:11',
        'DTSTAMP:20250130T231909Z': 'DTSTAMP:20250129T080000Z',
        'DTSTART:20250218T181500Z': 'DTSTART:20250218T190000Z',
        'DTEND:20250218T191500Z': 'DTEND:20250218T200000Z',
        'SUMMARY:AppArmor Meeting': 'SUMMARY:AppArmor Meeting (newer)',
      });
      await deliver([ANN.email], invitation({ from: 'organizer@example.org', to: 'ann@example.com', subject: 'Updated (newer)', ics: newer, id: 'k19-3@google.com' }), 'organizer@example.org');
      await deliver([ANN.email], invitation({ from: 'organizer@example.org', to: 'ann@example.com', subject: 'Updated (older)', ics: fixture('google-occurrence-request.ics'), id: 'k19-2@google.com' }), 'organizer@example.org');
      const item = byName(await ann.initialSync(calId), 'AppArmor Meeting', C)!;
      const ex = children(child(item.appData, 'Exceptions', C)!, 'Exception', C);
      assert.equal(ex.length, 1);
      assert.equal(childText(ex[0]!, 'ExceptionStartTime', C), '20250211T180000Z');
      assert.equal(childText(ex[0]!, 'StartTime', C), '20250218T190000Z');
      assert.equal(childText(ex[0]!, 'Subject', C), 'AppArmor Meeting (newer)');
      assert.equal(childText(ex[0]!, 'DtStamp', C), '20250129T080000Z');
      const mails = await ann.initialSync(inboxId, { options: inboxOptions });
      assert.equal(childText(child(byName(mails, 'Updated (newer)')!.appData, 'MeetingRequest', E)!, 'MeetingMessageType', 'Email2'), '2');
      assert.equal(childText(child(byName(mails, 'Updated (older)')!.appData, 'MeetingRequest', E)!, 'MeetingMessageType', 'Email2'), '4', 'outdated');
    });

    it('kb-1.3, kb-1.8: two users respond, each REPLY carries its own sender and ATTENDEE; repeated identical responses are answered but not re-sent', async () => {
      const uid = outlookUid(`13${backend === 'sqlite' ? 'a' : 'b'}`);
      const ics = fixture('outlook-series-request.ics', { [OUTLOOK_UID]: uid, 'olivia@example.com': 'olivia@outside.example' });
      await deliver([ANN.email, BOB.email], invitation({ from: 'olivia@outside.example', to: 'ann@example.com, bob@example.com', subject: 'Outside status', ics, id: 'k13@outside.example' }));
      const sent = sink.messages.length;
      const answers: Record<string, { calendarId: string; device: Device }> = {};
      for (const [u, response] of [[ANN, 1], [BOB, 2]] as const) {
        const device = phone(u, 'K13');
        await device.folderSync();
        const inboxId = device.folderByType(2).serverId;
        const req = byName(await device.initialSync(inboxId, { options: inboxOptions }), 'Outside status')!;
        assert.equal(childText(child(req.appData, 'MeetingRequest', E)!, 'UID', C), uid, '16.x: calendar:UID, no GlobalObjId');
        const res = await device.client.post('MeetingResponse', meetingResponse([{ response, collectionId: inboxId, requestId: req.serverId, send: `answer from ${u.email}` }]));
        assert.equal(res.status, 200);
        const [r] = results(res);
        assert.equal(r!.status, 1);
        assert.equal(r!.requestId, req.serverId);
        assert.ok(r!.calendarId);
        answers[u.email] = { calendarId: r!.calendarId!, device };
        // kb-1.8: the same answer 100 times more: answered the same way, nothing re-sent or re-stored.
        const answered = (await server.store.getItemByServerId(userId(u), r!.calendarId!))!;
        for (let i = 0; i < 100; i++) {
          const again = results(await device.client.post('MeetingResponse', meetingResponse([{ response, collectionId: inboxId, requestId: req.serverId, send: true }])));
          assert.deepEqual(again, [{ requestId: req.serverId, status: 1, calendarId: r!.calendarId }]);
        }
        assert.equal((await server.store.getItemByServerId(userId(u), r!.calendarId!))!.modseq, answered.modseq, 'no store growth');
      }
      assert.equal(sink.messages.length, sent + 2, 'one REPLY per user, none for the repeats');
      const replies = sink.messages.slice(sent);
      for (const [u, partstat] of [[ANN, 3], [BOB, 2]] as const) {
        const m = replies.find((x) => x.from === u.email)!;
        assert.ok(m, `a reply with envelope sender ${u.email}`);
        assert.deepEqual(m.to, ['olivia@outside.example']);
        const { mail, cal } = await itipOf(m.raw);
        assert.equal(mail.from?.value[0]?.address, u.email, 'From is the responder');
        assert.equal(cal.method, 'REPLY');
        const att = cal.events[0]!.data['attendees'] as JsonObject[];
        assert.deepEqual(att.map((a) => [a['email'], a['attendeeStatus']]), [[u.email, partstat]], 'the responder is the only ATTENDEE');
        assert.equal(cal.events[0]!.data['uid'], uid);
        assert.match(mail.text ?? '', new RegExp(`answer from ${u.email}`));
      }
      const annItem = (await server.store.getItemByServerId(userId(ANN), answers[ANN.email]!.calendarId))!;
      assert.equal(annItem.data['responseType'], 3);
      assert.equal(annItem.data['busyStatus'], 2);
      const bobItem = (await server.store.getItemByServerId(userId(BOB), answers[BOB.email]!.calendarId))!;
      assert.equal(bobItem.data['responseType'], 2);
      assert.equal(bobItem.data['busyStatus'], 1);

      // Ann declines one occurrence from her calendar (14.1+ InstanceId): a REPLY with RECURRENCE-ID, the series stays.
      const ann = answers[ANN.email]!.device;
      const calId = ann.folderByType(8).serverId;
      const before1 = sink.messages.length;
      const dec = results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 3, collectionId: calId, requestId: annItem.serverId, instanceId: '2026-03-10T09:00:00.000Z', send: true }])));
      assert.deepEqual(dec, [{ requestId: annItem.serverId, status: 1 }], 'no CalendarId for a decline');
      assert.equal(sink.messages.length, before1 + 1);
      const { cal: declined } = await itipOf(sink.messages.at(-1)!.raw);
      assert.deepEqual(declined.events[0]!.recurrenceIds, ['2026-03-10T09:00:00.000Z']);
      assert.equal((declined.events[0]!.data['attendees'] as JsonObject[])[0]!['attendeeStatus'], 4);
      const stored = (await server.store.getItem(userId(ANN), annItem.id))!;
      assert.deepEqual((stored.data['exceptions'] as JsonObject[]).map((e) => [e['exceptionStartTime'], e['deleted']]), [['2026-03-10T09:00:00.000Z', true]]);

      // Bob declines the whole meeting: it leaves his calendar (to Deleted Items), no CalendarId.
      const bob = answers[BOB.email]!.device;
      const bobInbox = bob.folderByType(2).serverId;
      const bobReq = byName([...bob.view(bobInbox).items.values()], 'Outside status')!;
      const d2 = results(await bob.client.post('MeetingResponse', meetingResponse([{ response: 3, collectionId: bobInbox, requestId: bobReq.serverId, send: true }])));
      assert.deepEqual(d2, [{ requestId: bobReq.serverId, status: 1 }]);
      assert.equal((await calendarItems(server.store, userId(BOB))).filter((i) => i.uid === uid).length, 0);
      const count = sink.messages.length;
      const d3 = results(await bob.client.post('MeetingResponse', meetingResponse([{ response: 3, collectionId: bobInbox, requestId: bobReq.serverId, send: true }])));
      assert.deepEqual(d3, [{ requestId: bobReq.serverId, status: 1 }], 'kb-1.8: a repeated decline is answered');
      assert.equal(sink.messages.length, count, 'and not re-sent');
    });

    it('MeetingResponse statuses: invalid requests get 2, a 14.1 response sends nothing, another user\'s item is unreachable', async () => {
      const uid = outlookUid(`ms${backend === 'sqlite' ? 'a' : 'b'}`);
      const ics = fixture('outlook-series-request.ics', { [OUTLOOK_UID]: uid, 'olivia@example.com': 'olivia@outside.example' });
      await deliver([BOB.email], invitation({ from: 'olivia@outside.example', to: 'bob@example.com', subject: 'Status check', ics, id: 'ms@outside.example' }));
      await deliver([BOB.email], Buffer.from('From: x@outside.example\r\nTo: bob@example.com\r\nSubject: Plain note\r\nMessage-ID: <plain@outside.example>\r\n\r\nJust a note.\r\n'));
      const cancelIcs = fixture('outlook-occurrence-cancel.ics', { [OUTLOOK_UID]: uid, 'olivia@example.com': 'olivia@outside.example' });
      await deliver([BOB.email], invitation({ from: 'olivia@outside.example', to: 'bob@example.com', subject: 'Status check cancelled', ics: cancelIcs, id: 'msc@outside.example' }));
      const bob = phone(BOB, 'MS', '14.1');
      await bob.folderSync();
      const inboxId = bob.folderByType(2).serverId;
      const mails = await bob.initialSync(inboxId, { options: inboxOptions });
      const req = byName(mails, 'Status check')!;
      const plain = byName(mails, 'Plain note')!;
      const cancel = byName(mails, 'Status check cancelled')!;
      const sent = sink.messages.length;
      const res = results(
        await bob.client.post(
          'MeetingResponse',
          meetingResponse([
            { response: 4, collectionId: inboxId, requestId: req.serverId },
            { response: 1, collectionId: inboxId, requestId: 'no-such-item' },
            { response: 1, collectionId: 'no-such-folder', requestId: req.serverId },
            { response: 1, collectionId: inboxId, requestId: plain.serverId },
            { response: 1, collectionId: inboxId, requestId: cancel.serverId },
            { response: 1, collectionId: inboxId, requestId: req.serverId, instanceId: '2026-03-11T09:00:00.000Z' },
            { response: 1, collectionId: inboxId, requestId: req.serverId, instanceId: 'not a date' },
            { response: 1, collectionId: inboxId, requestId: req.serverId, send: true },
          ]),
        ),
      );
      assert.deepEqual(
        res.map((r) => r.status),
        [2, 2, 2, 2, 2, 2, 2, 1],
      );
      assert.ok(res[7]!.calendarId);
      assert.equal(sink.messages.length, sent, 'before 16.0 the device sends the reply itself (SendMail)');
      // Ann naming Bob's request: as if it did not exist.
      const ann = phone(ANN, 'MS', '14.1');
      await ann.folderSync();
      const other = results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: ann.folderByType(2).serverId, requestId: req.serverId }])));
      assert.deepEqual(other.map((r) => r.status), [2]);
      const bobCal = (await calendarItems(server.store, userId(BOB))).find((i) => i.uid === uid)!;
      assert.equal(bobCal.data['responseType'], 3);
      assert.equal(results(await bob.client.post('MeetingResponse', el(MR, 'MeetingResponse'))).length, 0);
    });

    it('MeetingResponse 16.1: no SendResponse sends nothing, a proposal is a COUNTER, a refused reply is Status 4 and stores nothing, repeats write nothing', async () => {
      const uid = outlookUid(`16${backend === 'sqlite' ? 'a' : 'b'}`);
      const ics = fixture('outlook-series-request.ics', { [OUTLOOK_UID]: uid, 'olivia@example.com': 'olivia@outside.example' });
      await deliver([ANN.email], invitation({ from: 'olivia@outside.example', to: 'ann@example.com', subject: 'Sixteen', ics, id: 'k16@outside.example' }));
      const ann = phone(ANN, 'S16');
      await ann.folderSync();
      const inboxId = ann.folderByType(2).serverId;
      const req = byName(await ann.initialSync(inboxId, { options: inboxOptions }), 'Sixteen')!;
      const item = () => calendarItems(server.store, userId(ANN)).then((l) => l.find((i) => i.uid === uid)!);
      const sent = sink.messages.length;

      // Without SendResponse: the calendar takes the answer, no mail (MS-ASCMD 2.2.3.163).
      assert.deepEqual(results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 2, collectionId: inboxId, requestId: req.serverId }]))).map((r) => r.status), [1]);
      assert.equal(sink.messages.length, sent);
      assert.equal((await item()).data['responseType'], 2);
      // The same answer again, now asking for the reply: it is sent (once).
      for (let i = 0; i < 2; i++) assert.deepEqual(results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 2, collectionId: inboxId, requestId: req.serverId, send: true }]))).map((r) => r.status), [1]);
      assert.equal(sink.messages.length, sent + 1);
      assert.equal(((await itipOf(sink.messages.at(-1)!.raw)).cal.events[0]!.data['attendees'] as JsonObject[])[0]!['attendeeStatus'], 2);

      // The relay refuses the organizer: Status 4, the answer is not stored, so the retry goes out.
      sink.refuse.add('olivia@outside.example');
      assert.deepEqual(results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: inboxId, requestId: req.serverId, send: true }]))).map((r) => r.status), [4]);
      assert.equal((await item()).data['responseType'], 2);
      sink.refuse.delete('olivia@outside.example');
      const ok = results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: inboxId, requestId: req.serverId, send: true }])));
      assert.deepEqual(ok.map((r) => r.status), [1]);
      assert.equal(sink.messages.length, sent + 2);
      const stored = await item();
      assert.equal(stored.data['responseType'], 3);
      // kb-1.8: repeats neither write nor send.
      for (let i = 0; i < 3; i++) await ann.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: inboxId, requestId: req.serverId, send: true }]));
      assert.equal((await item()).modseq, stored.modseq, 'no store growth');
      assert.equal(sink.messages.length, sent + 2);

      // 16.1 ProposedStartTime/EndTime with a tentative answer: a COUNTER to the organizer.
      const counter = el(
        MR,
        'MeetingResponse',
        el(MR, 'Request', el(MR, 'UserResponse', '2'), el(MR, 'CollectionId', inboxId), el(MR, 'RequestId', req.serverId), el(MR, 'SendResponse', el(MR, 'ProposedStartTime', '20260303T130000Z'), el(MR, 'ProposedEndTime', '20260303T140000Z'))),
      );
      assert.deepEqual(results(await ann.client.post('MeetingResponse', counter)).map((r) => r.status), [1]);
      const { cal, mail } = await itipOf(sink.messages.at(-1)!.raw);
      assert.equal(cal.method, 'COUNTER');
      assert.equal(cal.events[0]!.data['startTime'], '2026-03-03T13:00:00.000Z');
      assert.equal(cal.events[0]!.data['endTime'], '2026-03-03T14:00:00.000Z');
      assert.match(mail.subject ?? '', /^New Time Proposed: /);

      // By LongId (as Search returns it), without CollectionId and RequestId.
      const byLong = await ann.client.post('MeetingResponse', el(MR, 'MeetingResponse', el(MR, 'Request', el(MR, 'UserResponse', '1'), el('Search', 'LongId', req.serverId))));
      assert.deepEqual(results(byLong), [{ status: 1, calendarId: stored.serverId }]);
      assert.equal((await item()).data['responseType'], 3);

      // The tentative item deleted from the calendar, then the request accepted: the meeting is back.
      const uid2 = outlookUid(`re${backend === 'sqlite' ? 'a' : 'b'}`);
      await deliver([ANN.email], invitation({ from: 'olivia@outside.example', to: 'ann@example.com', subject: 'Again', ics: fixture('outlook-series-request.ics', { [OUTLOOK_UID]: uid2, 'olivia@example.com': 'olivia@outside.example' }), id: 're@outside.example' }));
      const again = byName((await ann.sync(inboxId, { options: inboxOptions })).adds, 'Again')!;
      const tentative = (await calendarItems(server.store, userId(ANN))).find((i) => i.uid === uid2)!;
      await server.store.deleteItem(userId(ANN), tentative.id);
      const back = results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: inboxId, requestId: again.serverId }])));
      assert.equal(back[0]!.status, 1);
      const remade = (await calendarItems(server.store, userId(ANN))).find((i) => i.uid === uid2)!;
      assert.equal(remade.serverId, back[0]!.calendarId);
      assert.equal(remade.data['responseType'], 3);
      // Declined without a reply, then again asking for one: the reply goes once, the meeting stays in Deleted Items.
      const declineReq = () => ann.client.post('MeetingResponse', meetingResponse([{ response: 3, collectionId: inboxId, requestId: again.serverId }]));
      const declineMail = () => ann.client.post('MeetingResponse', meetingResponse([{ response: 3, collectionId: inboxId, requestId: again.serverId, send: true }]));
      const n = sink.messages.length;
      assert.deepEqual(results(await declineReq()).map((x) => x.status), [1]);
      assert.equal(sink.messages.length, n);
      assert.deepEqual(results(await declineMail()).map((x) => x.status), [1]);
      assert.deepEqual(results(await declineMail()).map((x) => x.status), [1]);
      assert.equal(sink.messages.length, n + 1);
      const trash = (await ensureDefaultFolders(server.store, userId(ANN))).find((f) => f.type === 4)!;
      const inTrash = (await server.store.getItemsByUid(userId(ANN), uid2)).filter((i) => i.folderId === trash.id);
      assert.equal(inTrash.length, 1, 'recoverable in Deleted Items');

      // Answering one's own meeting (the organizer's calendar item) is not a meeting request.
      const olivia = phone(OLIVIA, 'S16');
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      const own = await server.store.putItem({ userId: userId(OLIVIA), folderId: (await server.store.getFolderByServerId(userId(OLIVIA), ocal))!.id, class: 'Calendar', data: { uid: 'own-1', subject: 'Mine', startTime: '2026-03-03T13:00:00.000Z', endTime: '2026-03-03T14:00:00.000Z', organizerEmail: OLIVIA.email, meetingStatus: 1, attendees: [{ email: ANN.email, name: 'Ann' }] }, uid: 'own-1' });
      assert.deepEqual(results(await olivia.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: ocal, requestId: own.serverId }]))).map((r) => r.status), [2]);
      const plain = await server.store.putItem({ userId: userId(OLIVIA), folderId: own.folderId, class: 'Calendar', data: { uid: 'plain-1', subject: 'Dentist', startTime: '2026-03-03T13:00:00.000Z', endTime: '2026-03-03T14:00:00.000Z' }, uid: 'plain-1' });
      assert.deepEqual(results(await olivia.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: ocal, requestId: plain.serverId }]))).map((r) => r.status), [2], 'an appointment is no meeting request');
    });

    it('invited to one occurrence only (Google): the occurrence is a meeting of its own, answered with a REPLY naming the occurrence', async () => {
      const uid = `single-${backend}@google.com`;
      await deliver([BOB.email], invitation({ from: 'organizer@example.org', to: BOB.email, subject: 'Just this once', ics: fixture('google-occurrence-request.ics', { 'c9q5i0m7g590n47b82t8jjh82d@google.com': uid, 'ann@example.com': BOB.email }), id: `once-${backend}@google.com` }), 'organizer@example.org');
      const bob = phone(BOB, 'ONCE');
      await bob.folderSync();
      const inboxId = bob.folderByType(2).serverId;
      const req = byName(await bob.initialSync(inboxId, { options: inboxOptions }), 'Just this once')!;
      const mr = child(req.appData, 'MeetingRequest', E)!;
      assert.equal(childText(mr, 'InstanceType', E), '3');
      assert.equal(childText(mr, 'RecurrenceId', E), '2025-02-11T18:00:00.000Z');
      const sent = sink.messages.length;
      const [r] = results(await bob.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: inboxId, requestId: req.serverId, send: true }])));
      assert.equal(r!.status, 1);
      const item = (await server.store.getItemByServerId(userId(BOB), r!.calendarId!))!;
      assert.equal(item.data['startTime'], '2025-02-18T18:15:00.000Z');
      assert.equal(item.data['responseType'], 3);
      assert.equal(sink.messages.length, sent + 1);
      const { cal } = await itipOf(sink.messages.at(-1)!.raw);
      assert.deepEqual(sink.messages.at(-1)!.to, ['organizer@example.org']);
      assert.deepEqual(cal.events[0]!.recurrenceIds, ['2025-02-11T18:00:00.000Z']);
      assert.deepEqual((cal.events[0]!.data['attendees'] as JsonObject[]).map((a) => [a['email'], a['attendeeStatus']]), [[BOB.email, 3]]);
    });

    it('MeetingResponse without an outbound mail service: Status 3 when a reply is asked for, the answer not stored; not a MeetingResponse: HTTP 400', async () => {
      const bare = await startTestServer({ users: [ANN], backend, logLevel: 'warn', services: () => ({ outbound: undefined }) });
      try {
        const annId = bare.users.get(ANN.email)!.id;
        const r = await deliverMessage(bare.runtime.deliveryTargets, { envelopeFrom: 'olivia@outside.example', recipients: [ANN.email], raw: invitation({ from: 'olivia@outside.example', to: ANN.email, subject: 'No relay', ics: fixture('outlook-series-request.ics', { 'olivia@example.com': 'olivia@outside.example' }), id: 'norelay@outside.example' }) }, { afterDelivery: meetingHook({ accounts: bare.store, mailboxes: bare.runtime.services.mailboxes }) });
        assert.equal(r[0]!.outcome, 'delivered');
        const ann = new Device({ url: bare.url, user: ANN.email, password: ANN.password, deviceId: 'NORELAY', version: '16.1' });
        await ann.folderSync();
        const inboxId = ann.folderByType(2).serverId;
        const req = byName(await ann.initialSync(inboxId, { options: inboxOptions }), 'No relay')!;
        assert.deepEqual(results(await ann.client.post('MeetingResponse', meetingResponse([{ response: 1, collectionId: inboxId, requestId: req.serverId, send: true }]))).map((x) => x.status), [3]);
        assert.equal((await calendarItems(bare.store, annId))[0]!.data['responseType'], 5);
        assert.equal((await ann.client.post('MeetingResponse', el('AirSync', 'Sync'))).status, 400);
      } finally {
        await bare.close();
      }
    });

    it('a 16.1 organizer: the server invites, REPLYs update the organizer calendar, a COUNTER shows as a proposal; kb-1.2: an attendee edit notifies nobody', async () => {
      const olivia = phone(OLIVIA, 'ORG');
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      await olivia.initialSync(ocal);
      const sent = sink.messages.length;
      const add = await olivia.sync(ocal, {
        commands: [
          el(
            'AirSync',
            'Add',
            el('AirSync', 'ClientId', 'm1'),
            el(
              'AirSync',
              'ApplicationData',
              c('AllDayEvent', '0'),
              c('BusyStatus', '2'),
              c('EndTime', '20260310T140000Z'),
              c('Subject', 'Project kick-off'),
              c('StartTime', '20260310T130000Z'),
              c('MeetingStatus', '1'),
              c(
                'Attendees',
                c('Attendee', c('Email', 'ann@example.com'), c('Name', 'Ann Smith'), c('AttendeeType', '1')),
                c('Attendee', c('Email', 'bob@example.com'), c('Name', 'Bob Jones'), c('AttendeeType', '1')),
                c('Attendee', c('Email', 'carol@outside.example'), c('Name', 'Carol Outside'), c('AttendeeType', '1')),
              ),
            ),
          ),
        ],
      });
      const serverId = childText(add.responses[0]!, 'ServerId', 'AirSync')!;
      const orgItem = (await server.store.getItemByServerId(userId(OLIVIA), serverId))!;
      const uid = orgItem.uid!;
      assert.ok(uid);
      // Carol (outside) through the relay; Ann and Bob by local delivery, into their calendars.
      assert.equal(sink.messages.length, sent + 1);
      const toCarol = sink.messages.at(-1)!;
      assert.deepEqual(toCarol.to, ['carol@outside.example']);
      assert.equal(toCarol.from, OLIVIA.email);
      const { cal: inv } = await itipOf(toCarol.raw);
      assert.equal(inv.method, 'REQUEST');
      assert.equal(inv.events[0]!.data['organizerEmail'], OLIVIA.email);
      assert.equal(inv.events[0]!.data['sequence'], 0);
      for (const u of [ANN, BOB]) {
        const item = (await calendarItems(server.store, userId(u))).find((i) => i.uid === uid);
        assert.ok(item, `${u.email} has the meeting`);
        assert.equal(item.data['responseType'], 5);
        assert.equal(item.data['organizerEmail'], OLIVIA.email);
      }
      assert.equal(orgItem.data['sequence'], 0);

      // Ann accepts, Bob is tentative (16.1, SendResponse): the REPLYs reach Olivia's calendar.
      for (const [u, response] of [[ANN, 1], [BOB, 2]] as const) {
        const d = phone(u, 'ORG');
        await d.folderSync();
        const inboxId = d.folderByType(2).serverId;
        const req = byName(await d.initialSync(inboxId, { options: inboxOptions }), 'Project kick-off')!;
        assert.deepEqual(results(await d.client.post('MeetingResponse', meetingResponse([{ response, collectionId: inboxId, requestId: req.serverId, send: true }]))).map((r) => r.status), [1]);
      }
      const statuses = async () =>
        Object.fromEntries(((await server.store.getItem(userId(OLIVIA), orgItem.id))!.data['attendees'] as JsonObject[]).map((a) => [a['email'], a['attendeeStatus'] ?? null]));
      assert.deepEqual(await statuses(), { 'ann@example.com': 3, 'bob@example.com': 2, 'carol@outside.example': null });
      const oliviaInbox = await inboxItems(server.store, userId(OLIVIA));
      assert.deepEqual(oliviaInbox.map((i) => i.data['messageClass']).sort(), ['IPM.Schedule.Meeting.Resp.Pos', 'IPM.Schedule.Meeting.Resp.Tent']);

      // Thunderbird: Carol's REPLY, then a forged one (From Bob, ATTENDEE Carol), then her COUNTER.
      await deliver([OLIVIA.email], invitation({ from: 'Carol Outside <carol@outside.example>', to: OLIVIA.email, subject: 'Accepted: Project kick-off', ics: fixture('thunderbird-reply.ics', { '@@UID@@': uid }), id: 'tb-reply@outside.example' }), 'carol@outside.example');
      assert.equal((await statuses())['carol@outside.example'], 3);
      const forged = fixture('thunderbird-reply.ics', { '@@UID@@': uid, 'PARTSTAT=ACCEPTED': 'PARTSTAT=DECLINED', 'DTSTAMP:20260302T081500Z': 'DTSTAMP:20260303T081500Z' });
      await deliver([OLIVIA.email], invitation({ from: 'bob@example.com', to: OLIVIA.email, subject: 'Declined: Project kick-off', ics: forged, id: 'forged@example.com' }), 'bob@example.com');
      assert.equal((await statuses())['carol@outside.example'], 3, 'kb-1.3: a reply cannot speak for another attendee');
      await deliver([OLIVIA.email], invitation({ from: 'carol@outside.example', to: OLIVIA.email, subject: 'New time proposed', ics: fixture('thunderbird-counter.ics', { '@@UID@@': uid }), id: 'tb-counter@outside.example' }), 'carol@outside.example');
      const changes = await olivia.sync(ocal);
      const seen = changes.changes.find((x) => x.serverId === serverId)!;
      const carol = children(child(seen.appData, 'Attendees', C)!, 'Attendee', C).find((a) => childText(a, 'Email', C) === 'carol@outside.example')!;
      assert.equal(childText(carol, 'AttendeeStatus', C), '2');
      assert.equal(childText(carol, 'ProposedStartTime', MR), '20260311T080000Z');
      assert.equal(childText(carol, 'ProposedEndTime', MR), '20260311T090000Z');
      assert.equal(childText(seen.appData, 'StartTime', C), '20260310T130000Z', 'the meeting keeps its time');

      // kb-1.2: Ann changes the reminder of her copy (and tries to take it over): stored as hers only, nobody is told.
      const annDev = phone(ANN, 'K12');
      await annDev.folderSync();
      const acal = annDev.folderByType(8).serverId;
      const annCopy = byName(await annDev.initialSync(acal), 'Project kick-off', C)!;
      const beforeSink = sink.messages.length;
      const beforeInbox = (await inboxItems(server.store, userId(OLIVIA))).length;
      await annDev.sync(acal, {
        commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', annCopy.serverId), el('AirSync', 'ApplicationData', c('Reminder', '5'), c('Subject', 'Mine now'), c('OrganizerEmail', 'ann@example.com'), c('MeetingStatus', '1'), c('Attendees', c('Attendee', c('Email', 'bob@example.com'), c('Name', 'Bob')))))],
      });
      assert.equal(sink.messages.length, beforeSink, 'nothing relayed');
      assert.equal((await inboxItems(server.store, userId(OLIVIA))).length, beforeInbox, 'nothing delivered to the organizer');
      const annStored = (await server.store.getItemByServerId(userId(ANN), annCopy.serverId))!.data;
      assert.equal(annStored['reminder'], 5);
      assert.equal(annStored['organizerEmail'], OLIVIA.email);
      assert.equal(annStored['subject'], 'Project kick-off');
      assert.equal((annStored['attendees'] as JsonObject[]).length, 3);

      // Olivia moves the meeting: an update with the next SEQUENCE; Ann must answer again.
      await olivia.sync(ocal, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), el('AirSync', 'ApplicationData', c('StartTime', '20260310T150000Z'), c('EndTime', '20260310T160000Z')))] });
      const upd = await itipOf(sink.messages.at(-1)!.raw);
      assert.equal(upd.cal.method, 'REQUEST');
      assert.equal(upd.cal.events[0]!.data['sequence'], 1);
      const annAfter = (await calendarItems(server.store, userId(ANN))).find((i) => i.uid === uid)!;
      assert.equal(annAfter.data['startTime'], '2026-03-10T15:00:00.000Z');
      assert.equal(annAfter.data['responseType'], 5);
      assert.equal(annAfter.data['reminder'], 5, 'her own reminder stays');

      // Olivia deletes it: a CANCEL to everyone; the attendees' copies go.
      await olivia.sync(ocal);
      await olivia.sync(ocal, { commands: [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId))] });
      const cancel = await itipOf(sink.messages.at(-1)!.raw);
      assert.equal(cancel.cal.method, 'CANCEL');
      assert.equal(cancel.cal.events[0]!.data['sequence'], 2);
      for (const u of [ANN, BOB]) assert.equal((await calendarItems(server.store, userId(u))).filter((i) => i.uid === uid).length, 0, u.email);
    });

    it('kb-1.1: a 16.1 organizer deletes one occurrence: the attendee keeps the series, its device gets a Change with the occurrence deleted', async () => {
      const olivia = phone(OLIVIA, 'OCC');
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      await olivia.initialSync(ocal);
      const ann = phone(ANN, 'OCC');
      await ann.folderSync();
      const acal = ann.folderByType(8).serverId;
      await ann.initialSync(acal);
      const add = await olivia.sync(ocal, {
        commands: [
          el(
            'AirSync',
            'Add',
            el('AirSync', 'ClientId', 'occ1'),
            el(
              'AirSync',
              'ApplicationData',
              c('Timezone', berlinBlob()),
              c('EndTime', '20260302T100000Z'),
              c('Subject', 'Daily stand-up'),
              c('StartTime', '20260302T093000Z'),
              c('MeetingStatus', '1'),
              c('Attendees', c('Attendee', c('Email', 'ann@example.com'), c('Name', 'Ann Smith'), c('AttendeeType', '1'))),
              c('Recurrence', c('Type', '0'), c('Occurrences', '5'), c('Interval', '1')),
            ),
          ),
        ],
      });
      const serverId = childText(add.responses[0]!, 'ServerId', 'AirSync')!;
      const copy = byName((await ann.sync(acal)).adds, 'Daily stand-up', C)!;
      assert.equal(childText(copy.appData, 'StartTime', C), '20260302T093000Z');
      assert.equal(childText(child(copy.appData, 'Recurrence', C)!, 'Occurrences', C), '5');
      const annCopy = (await calendarItems(server.store, userId(ANN))).find((i) => i.data['subject'] === 'Daily stand-up')!;
      assert.equal(annCopy.data['timeZone'], 'Europe/Berlin', 'the invitation carried the zone');
      await olivia.sync(ocal);
      await olivia.sync(ocal, { commands: [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId), el(ASB, 'InstanceId', '2026-03-04T09:30:00.000Z'))] });
      const cancelMail = (await inboxItems(server.store, userId(ANN))).find((i) => i.data['subject'] === 'Canceled: Daily stand-up');
      assert.ok(cancelMail, 'the cancellation reached Ann by local delivery');
      assert.equal(cancelMail.data['messageClass'], 'IPM.Schedule.Meeting.Canceled');
      const { cal } = await itipOf(await rawOf(server, cancelMail));
      assert.equal(cal.method, 'CANCEL');
      assert.deepEqual(cal.events[0]!.recurrenceIds, ['2026-03-04T09:30:00.000Z']);
      const seen = await ann.sync(acal);
      assert.deepEqual(seen.deletes, []);
      assert.deepEqual(seen.changes.map((x) => x.serverId), [copy.serverId]);
      const ex = children(child(seen.changes[0]!.appData, 'Exceptions', C)!, 'Exception', C);
      // (InstanceId in whichever date form the Calendar class writes it.)
      assert.deepEqual(ex.map((x) => [childText(x, 'InstanceId', ASB)?.replace(/[-:]|\.000/g, ''), childText(x, 'Deleted', C)]), [['20260304T093000Z', '1']]);
    });

    it('a 14.1 organizer device: the server sends nothing (the device uses SendMail)', async () => {
      const olivia = phone(OLIVIA, 'ORG14', '14.1');
      await olivia.folderSync();
      const ocal = olivia.folderByType(8).serverId;
      await olivia.initialSync(ocal);
      const sent = sink.messages.length;
      const annBefore = (await calendarItems(server.store, userId(ANN))).length;
      await olivia.sync(ocal, {
        commands: [
          el('AirSync', 'Add', el('AirSync', 'ClientId', 'm14'), el('AirSync', 'ApplicationData', c('Timezone', Buffer.alloc(172).toString('base64')), c('EndTime', '20260312T140000Z'), c('Subject', 'Old phone meeting'), c('StartTime', '20260312T130000Z'), c('UID', 'old-phone-1'), c('MeetingStatus', '1'), c('Attendees', c('Attendee', c('Email', 'ann@example.com'), c('Name', 'Ann'))))),
        ],
      });
      assert.equal(sink.messages.length, sent);
      assert.equal((await calendarItems(server.store, userId(ANN))).length, annBefore);
    });

    it('an invitation with a broken VCALENDAR is delivered as mail, logged, and changes no calendar item', async () => {
      const before1 = (await calendarItems(server.store, userId(ANN))).length;
      await deliver([ANN.email], invitation({ from: 'olivia@example.com', to: 'ann@example.com', subject: 'Broken invite', ics: fixture('broken-request.ics'), id: 'broken@example.com' }));
      const mail = (await inboxItems(server.store, userId(ANN))).find((i) => i.data['subject'] === 'Broken invite')!;
      assert.ok(mail);
      assert.equal(mail.data['messageClass'], 'IPM.Note');
      assert.equal(mail.data['meetingRequest'], undefined);
      assert.equal((await calendarItems(server.store, userId(ANN))).length, before1);
      assert.ok(logs.some((l) => l.msg === 'meeting: unreadable text/calendar part, delivered as plain mail'));
    });
  });
}
