/**
 * Rooms and resources end to end, on SQLite, PostgreSQL and the in-memory mailbox: a 16.1
 * organizer's device books a room (the server sends the REQUEST through outbound, local delivery
 * brings it to the room, the meeting hook books it and the room's REPLY comes back by local
 * delivery to the organizer's calendar). Issue 4 item 7; decisions in src/calendar/resource-booking.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { buildItipMail, organizerICalendar } from '../../src/calendar/meeting-mail.ts';
import { meetingHook } from '../../src/meetings/meeting-hook.ts';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { createOutboundMail, type LocalDelivery, type OutboundMail } from '../../src/mail/relay.ts';
import { openStore } from '../../src/store/open.ts';
import type { JsonObject, Store } from '../../src/store/types.ts';
import { childText, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { liveItems } from '../helpers/store-items.ts';
import { easd } from '../logging/cli-helpers.ts';
import { pgSkipped } from '../helpers/db.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const OLIVIA = { email: 'olivia@example.com', password: 'olivia-password-1', displayName: 'Olivia Organiser' };
const ROOM = { email: 'room1@example.com', password: 'room1-password-12', displayName: 'Room 1' };
const C = 'Calendar';
const c = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(C, name, kids);

/** EAS compact UTC time (MS-ASDTYPE 2.3). */
const eas = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const DAY = 86_400_000;
/** A Monday 10:00 UTC two to three weeks from now (the room checks from the real clock on). */
function firstMonday(): Date {
  const d = new Date(Date.now() + 14 * DAY);
  d.setUTCHours(10, 0, 0, 0);
  while (d.getUTCDay() !== 1) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}
const at = (base: Date, days: number, minutes = 0) => new Date(base.getTime() + days * DAY + minutes * 60_000);

const calendarItems = (store: Store, userId: string) => liveItems(store, userId, 8);
const inboxItems = (store: Store, userId: string) => liveItems(store, userId, 2);

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`rooms and resources (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let outbound: OutboundMail | undefined;
    let deliverLocal: LocalDelivery;
    const logs: LogLine[] = [];
    const userId = (u: { email: string }) => server.users.get(u.email)!.id;

    before(async () => {
      server = await startTestServer({
        users: [OLIVIA, ROOM],
        backend,
        logLevel: 'warn',
        services: (store, _, mailboxes) => {
          const log = collectingLogger(logs, 'info');
          const hooks = [meetingHook({ accounts: store, mailboxes, log, outbound: () => outbound })];
          deliverLocal = (m) => deliverMessage({ accounts: store, mailboxes }, m, { afterDelivery: hooks, log });
          outbound = createOutboundMail({ accounts: store, log, deliverLocal });
          return { outbound };
        },
      });
      await server.store.directory.setResource(userId(ROOM), 'room');
    });
    after(async () => {
      outbound?.close();
      await server.close();
    });

    it('a room accepts a free series, declines a meeting on one of its occurrences, accepts the series moved, and after a cancel accepts the slot', async () => {
      const olivia = new Device({ url: server.url, user: OLIVIA.email, password: OLIVIA.password, deviceId: `RES${backend}`, version: '16.1' });
      await olivia.folderSync();
      const cal = olivia.folderByType(8).serverId;
      await olivia.initialSync(cal);
      const roomAttendee = c('Attendees', c('Attendee', c('Email', ROOM.email), c('Name', ROOM.displayName), c('AttendeeType', '3')));
      const add = async (clientId: string, subject: string, start: Date, end: Date, extra: WbxmlElement[] = []) => {
        const r = await olivia.sync(cal, {
          commands: [
            el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), el('AirSync', 'ApplicationData', c('AllDayEvent', '0'), c('BusyStatus', '2'), c('EndTime', eas(end)), c('Subject', subject), c('StartTime', eas(start)), c('MeetingStatus', '1'), roomAttendee, ...extra)),
          ],
        });
        const serverId = childText(r.responses[0]!, 'ServerId', 'AirSync')!;
        assert.ok(serverId, `${subject} added`);
        return serverId;
      };
      const roomStatus = async (serverId: string) => {
        const item = (await server.store.getItemByServerId(userId(OLIVIA), serverId))!;
        return (item.data['attendees'] as JsonObject[]).find((a) => a['email'] === ROOM.email)?.['attendeeStatus'] ?? null;
      };
      const roomItem = async (uid: string) => (await calendarItems(server.store, userId(ROOM))).find((i) => i.uid === uid);

      // 1. A weekly series, 10 Mondays 10:00-11:00 UTC: the room is free and accepts.
      const monday = firstMonday();
      const seriesId = await add('s1', 'Weekly planning', monday, at(monday, 0, 60), [c('Recurrence', c('Type', '1'), c('Interval', '1'), c('DayOfWeek', '2'), c('Occurrences', '10'))]);
      const seriesUid = (await server.store.getItemByServerId(userId(OLIVIA), seriesId))!.uid!;
      const booked = await roomItem(seriesUid);
      assert.ok(booked, 'the series is in the room calendar');
      assert.equal(booked.data['responseType'], 3);
      assert.equal(booked.data['busyStatus'], 2);
      assert.equal(await roomStatus(seriesId), 3, "the organizer's calendar shows the room accepted");
      const olivInbox = await inboxItems(server.store, userId(OLIVIA));
      assert.deepEqual(olivInbox.map((i) => i.data['messageClass']), ['IPM.Schedule.Meeting.Resp.Pos']);

      // 2. A meeting overlapping the third occurrence only: declined, not in the room calendar.
      const clashId = await add('c1', 'Clash', at(monday, 14, 30), at(monday, 14, 90));
      const clashUid = (await server.store.getItemByServerId(userId(OLIVIA), clashId))!.uid!;
      assert.equal(await roomItem(clashUid), undefined, 'a declined meeting is not in the room calendar');
      assert.equal(await roomStatus(clashId), 4, "the organizer's calendar shows the room declined");
      assert.ok((await inboxItems(server.store, userId(OLIVIA))).some((i) => i.data['messageClass'] === 'IPM.Schedule.Meeting.Resp.Neg'), 'the decline reached her Inbox');
      assert.ok(logs.some((l) => l.msg === 'resource: meeting declined, conflict' && l['conflictUid'] === seriesUid));
      // A Tuesday meeting does not touch the series: accepted.
      const tuesdayId = await add('t1', 'Tuesday', at(monday, 15), at(monday, 15, 60));
      assert.equal(await roomStatus(tuesdayId), 3);

      // 3. The series moves by 30 minutes (overlapping its own old times): accepted again, no self-conflict.
      await olivia.sync(cal);
      await olivia.sync(cal, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', seriesId), el('AirSync', 'ApplicationData', c('StartTime', eas(at(monday, 0, 30))), c('EndTime', eas(at(monday, 0, 90)))))] });
      const moved = (await roomItem(seriesUid))!;
      assert.equal(moved.data['startTime'], at(monday, 0, 30).toISOString());
      assert.equal(moved.data['responseType'], 3);
      assert.equal(moved.data['busyStatus'], 2);
      assert.equal(await roomStatus(seriesId), 3);

      // 4. The series is cancelled: the room frees its slots, and the same slot is then accepted.
      await olivia.sync(cal);
      await olivia.sync(cal, { commands: [el('AirSync', 'Delete', el('AirSync', 'ServerId', seriesId))] });
      assert.equal(await roomItem(seriesUid), undefined, 'the cancel frees the slot');
      const againId = await add('c2', 'Clash again', at(monday, 14, 30), at(monday, 14, 90));
      const againUid = (await server.store.getItemByServerId(userId(OLIVIA), againId))!.uid!;
      assert.equal((await roomItem(againUid))?.data['responseType'], 3);
      assert.equal(await roomStatus(againId), 3);
    });

    it('two requests for one slot delivered at the same time: the room accepts one and declines the other', async () => {
      const start = at(firstMonday(), 30, 120);
      const request = (n: number) => {
        const data: JsonObject = {
          uid: `race-${n}-${backend}`,
          subject: `Race ${n}`,
          startTime: start.toISOString(),
          endTime: at(start, 0, 60).toISOString(),
          busyStatus: 2,
          sequence: 0,
          dtStamp: new Date().toISOString(),
          organizerEmail: 'carol@outside.example',
          organizerName: 'Carol',
          attendees: [{ email: ROOM.email, name: ROOM.displayName, attendeeType: 3 }],
        };
        return buildItipMail({ from: { email: 'carol@outside.example', name: 'Carol' }, to: [{ email: ROOM.email }], subject: `Race ${n}`, text: '', method: 'REQUEST', ics: organizerICalendar(data, 'REQUEST'), now: new Date() });
      };
      const mails = await Promise.all([1, 2, 3].map(request));
      await Promise.all(mails.map((raw) => deliverLocal({ envelopeFrom: 'carol@outside.example', recipients: [ROOM.email], raw })));
      const held = (await calendarItems(server.store, userId(ROOM))).filter((i) => String(i.uid).startsWith('race-'));
      assert.equal(held.length, 1, held.map((i) => i.data['subject']).join(', '));
      assert.equal(held[0]!.data['responseType'], 3);
      // The answers to an outside organizer need a relay: none here, so they are logged, not lost silently.
      assert.ok(logs.some((l) => l.msg === 'resource: answer to the organizer failed'));
    });

    it('a person is not a resource: an invitation stays unanswered and tentative', async () => {
      assert.equal(await server.store.directory.getResource(userId(OLIVIA)), null);
      await server.store.directory.setResource(userId(ROOM), null);
      try {
        const olivia = new Device({ url: server.url, user: OLIVIA.email, password: OLIVIA.password, deviceId: `PER${backend}`, version: '16.1' });
        await olivia.folderSync();
        const cal = olivia.folderByType(8).serverId;
        await olivia.initialSync(cal);
        const start = at(firstMonday(), 40);
        const r = await olivia.sync(cal, {
          commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'p1'), el('AirSync', 'ApplicationData', c('EndTime', eas(at(start, 0, 60))), c('Subject', 'Not booked'), c('StartTime', eas(start)), c('MeetingStatus', '1'), c('Attendees', c('Attendee', c('Email', ROOM.email), c('Name', ROOM.displayName), c('AttendeeType', '3')))))],
        });
        const item = (await server.store.getItemByServerId(userId(OLIVIA), childText(r.responses[0]!, 'ServerId', 'AirSync')!))!;
        const copy = (await calendarItems(server.store, userId(ROOM))).find((i) => i.uid === item.uid)!;
        assert.equal(copy.data['responseType'], 5);
        assert.equal(copy.data['busyStatus'], 1);
      } finally {
        await server.store.directory.setResource(userId(ROOM), 'room');
      }
    });
  });
}

describe('easd user set --resource', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easd-resource-'));
    const store = await openStore({ dataDir: dir });
    try {
      await store.createUser({ email: 'room1@example.com', passwordHash: 'h', displayName: 'Room 1' });
    } finally {
      await store.close();
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('marks a user a room, shows it, keeps the GAL entry, and "none" makes it a person again; a bad kind changes nothing', async () => {
    const set = await easd(['user', 'set', 'room1@example.com', '--resource', 'room', '--office', 'Building 2', '--data', dir]);
    assert.equal(set.code, 0, set.stderr);
    const show = await easd(['user', 'show', 'room1@example.com', '--data', dir]);
    assert.match(show.stdout, /^resource: room$/m);
    assert.match(show.stdout, /^office: Building 2$/m);
    assert.equal(JSON.parse((await easd(['user', 'show', 'room1@example.com', '--json', '--data', dir])).stdout).resource, 'room');
    const bad = await easd(['user', 'set', 'room1@example.com', '--resource', 'kitchen', '--data', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /room, equipment, none/);
    const store = await openStore({ dataDir: dir });
    try {
      const u = (await store.getUserByEmail('room1@example.com'))!;
      assert.equal(await store.directory.getResource(u.id), 'room');
      const gal = await store.directory.listEntries({ containing: 'room' });
      assert.deepEqual(gal.map((e) => [e.email, e.displayName, e.office]), [['room1@example.com', 'Room 1', 'Building 2']]);
    } finally {
      await store.close();
    }
    assert.equal((await easd(['user', 'set', 'room1@example.com', '--resource', 'equipment', '--data', dir])).code, 0);
    assert.match((await easd(['user', 'show', 'room1@example.com', '--data', dir])).stdout, /^resource: equipment$/m);
    assert.equal((await easd(['user', 'set', 'room1@example.com', '--resource', 'none', '--data', dir])).code, 0);
    const person = await easd(['user', 'show', 'room1@example.com', '--json', '--data', dir]);
    assert.equal(JSON.parse(person.stdout).resource, null);
  });
});
