/**
 * Calendar scenarios through the device simulator, on SQLite and PostgreSQL: every field from
 * device A reaches device B (14.1 and 16.1), all-day and long events survive round trips, series
 * changes, occurrence changes by InstanceId, attendee copies, day-31 series and FilterType windows.
 * Expectations are what device A sent (and the MS-ASCAL rules), never the server's own output.
 * Scenario ids (kb-...) are those of ../shared/SCENARIOS.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Folder, JsonObject, User } from '../../src/store/types.ts';
import { child, childText, children, el, isElement, text, type WbxmlElement } from '../../src/wbxml/index.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const BOB = { email: 'bob@example.com', password: 'bob-password-12' };

const C = 'Calendar';
const A = 'AirSyncBase';
const MR = 'MeetingResponse';
const c = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(C, name, kids);
const a = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(A, name, kids);

const BERLIN = berlinBlob();

const body = (s: string) => a('Body', a('Type', '1'), a('Data', s));
const bodyPreference = [el(A, 'BodyPreference', el(A, 'Type', '1'))];

/**
 * A comparable form of an element tree: "Ns:Name" -> text or children; a Body becomes its Data
 * text (the server adds EstimatedDataSize), so what a device sent can be compared with what
 * another device got.
 */
function canon(e: WbxmlElement): unknown {
  if (e.ns === A && e.name === 'Body') return { [`${A}:Body`]: childText(e, 'Data', A) ?? '' };
  const kids = e.children.filter(isElement);
  return { [`${e.ns}:${e.name}`]: kids.length ? kids.map(canon) : (text(e) ?? '') };
}

function addCommand(clientId: string, kids: WbxmlElement[]): WbxmlElement {
  return el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), el('AirSync', 'ApplicationData', kids));
}

function changeCommand(serverId: string, kids: WbxmlElement[], instanceId?: string): WbxmlElement {
  return el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), instanceId ? a('InstanceId', instanceId) : null, el('AirSync', 'ApplicationData', kids));
}

const attendeesEl = (withProposal: boolean) =>
  c(
    'Attendees',
    c('Attendee', c('Email', 'ann@example.com'), c('Name', 'Ann'), c('AttendeeStatus', '3'), c('AttendeeType', '1')),
    c(
      'Attendee',
      c('Email', 'bob@example.com'),
      c('Name', 'Bob'),
      c('AttendeeStatus', '4'),
      c('AttendeeType', '2'),
      withProposal ? el(MR, 'ProposedStartTime', '20260302T100000Z') : null,
      withProposal ? el(MR, 'ProposedEndTime', '20260302T110000Z') : null,
    ),
  );

/** A weekly meeting with every field (schema order of MS-ASCAL 2.2.2), as a 14.1 organizer's device sends it. */
function fullMeeting14(uid: string): WbxmlElement[] {
  return [
    c('Timezone', BERLIN),
    c('AllDayEvent', '0'),
    body('Agenda'),
    c('BusyStatus', '2'),
    c('OrganizerName', 'Alice'),
    c('OrganizerEmail', 'alice@example.com'),
    c('DtStamp', '20260301T090000Z'),
    c('EndTime', '20260302T090000Z'),
    c('Location', 'Room 4'),
    c('Reminder', '10'),
    c('Sensitivity', '0'),
    c('Subject', 'Weekly'),
    c('StartTime', '20260302T080000Z'),
    c('UID', uid),
    c('MeetingStatus', '1'),
    attendeesEl(false),
    c('Categories', c('Category', 'Team'), c('Category', 'Blue')),
    c('Recurrence', c('Type', '1'), c('Occurrences', '10'), c('Interval', '1'), c('DayOfWeek', '2'), c('CalendarType', '0'), c('IsLeapMonth', '0'), c('FirstDayOfWeek', '1')),
    c(
      'Exceptions',
      c('Exception', c('Deleted', '1'), c('ExceptionStartTime', '20260309T080000Z')),
      c(
        'Exception',
        c('ExceptionStartTime', '20260316T080000Z'),
        c('Subject', 'Weekly (moved)'),
        c('StartTime', '20260317T120000Z'),
        c('EndTime', '20260317T130000Z'),
        body('moved to Tuesday'),
        c('Location', 'Room 5'),
        c('Categories', c('Category', 'Moved')),
        c('Sensitivity', '1'),
        c('BusyStatus', '1'),
        c('AllDayEvent', '0'),
        c('Reminder', '5'),
        c('DtStamp', '20260305T090000Z'),
        c('MeetingStatus', '1'),
        c('Attendees', c('Attendee', c('Email', 'ann@example.com'), c('Name', 'Ann'), c('AttendeeStatus', '2'), c('AttendeeType', '1'))),
        c('AppointmentReplyTime', '20260306T090000Z'),
        c('ResponseType', '1'),
        c('OnlineMeetingConfLink', 'https://meet.example.com/c/1'),
        c('OnlineMeetingExternalLink', 'https://meet.example.com/e/1'),
      ),
    ),
    c('ResponseRequested', '1'),
    c('AppointmentReplyTime', '20260301T093000Z'),
    c('ResponseType', '1'),
    c('DisallowNewTimeProposal', '0'),
    c('OnlineMeetingConfLink', 'https://meet.example.com/c/0'),
    c('OnlineMeetingExternalLink', 'https://meet.example.com/e/0'),
  ];
}

/** The same meeting as a 16.1 device sends it: AirSyncBase Location, ClientUid, no UID, no Exceptions. */
function fullMeeting16(clientUid: string): WbxmlElement[] {
  return [
    c('Timezone', BERLIN),
    c('AllDayEvent', '0'),
    body('Agenda'),
    c('BusyStatus', '2'),
    c('OrganizerName', 'Alice'),
    c('OrganizerEmail', 'alice@example.com'),
    c('DtStamp', '20260301T090000Z'),
    c('EndTime', '20260302T090000Z'),
    a('Location', a('DisplayName', 'Room 4'), a('Annotation', 'second floor'), a('Street', '1 Main St'), a('City', 'Berlin'), a('Country', 'DE'), a('Latitude', '52.52'), a('Longitude', '13.40')),
    c('Reminder', '10'),
    c('Sensitivity', '0'),
    c('Subject', 'Weekly'),
    c('StartTime', '20260302T080000Z'),
    c('MeetingStatus', '1'),
    attendeesEl(true),
    c('Categories', c('Category', 'Team'), c('Category', 'Blue')),
    c('Recurrence', c('Type', '1'), c('Occurrences', '10'), c('Interval', '1'), c('DayOfWeek', '2'), c('CalendarType', '0'), c('IsLeapMonth', '0'), c('FirstDayOfWeek', '1')),
    c('ResponseRequested', '1'),
    c('AppointmentReplyTime', '20260301T093000Z'),
    c('ResponseType', '1'),
    c('DisallowNewTimeProposal', '0'),
    c('OnlineMeetingConfLink', 'https://meet.example.com/c/0'),
    c('OnlineMeetingExternalLink', 'https://meet.example.com/e/0'),
    c('ClientUid', clientUid),
  ];
}

/** Each top-level element of `sent` (but the named ones) is in `got`, equal. */
function assertCarries(got: WbxmlElement, sent: WbxmlElement[], except: string[] = []): void {
  const received = new Map(got.children.filter(isElement).map((e) => [`${e.ns}:${e.name}`, e]));
  for (const e of sent) {
    const key = `${e.ns}:${e.name}`;
    if (except.includes(key)) continue;
    const r = received.get(key);
    assert.ok(r, `${key} reached the other device`);
    assert.deepEqual(canon(r), canon(e), key);
  }
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`calendar scenarios (${backend})`, () => {
    let server: TestServer;
    let alice: User;
    let bob: User;
    let n = 0;
    const device = async (who = ALICE, version = '16.1') => {
      const d = new Device({ url: server.url, user: who.email, password: who.password, deviceId: `CAL${backend}${++n}`, deviceType: 'TestPhone', version });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };
    const calendarOf = async (user: User): Promise<Folder> => (await server.store.listFolders(user.id)).find((f) => f.type === 8)!;
    /** Adds on a device; returns the ServerId. */
    const add = async (d: Device, collectionId: string, kids: WbxmlElement[]) => {
      const r = await d.sync(collectionId, { commands: [addCommand(`c${++n}`, kids)] });
      const response = r.responses.find((x) => x.name === 'Add');
      assert.equal(childText(response!, 'Status', 'AirSync'), '1', 'Add accepted');
      return childText(response!, 'ServerId', 'AirSync')!;
    };

    before(async () => {
      // No outbound mail: a meeting added here is not sent, so every field reaches the other
      // device as written (sending stamps DtStamp; the meeting suites cover that).
      server = await startTestServer({ users: [ALICE, BOB], backend, logLevel: 'warn', services: () => ({ outbound: undefined }) });
      alice = server.users.get(ALICE.email)!;
      bob = server.users.get(BOB.email)!;
    });
    after(async () => server.close());

    it('every field goes from device A to device B (14.1)', async () => {
      const [devA, devB] = [await device(ALICE, '14.1'), await device(ALICE, '14.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal, { options: bodyPreference });
      await devB.initialSync(cal, { options: bodyPreference });
      const sent = fullMeeting14(`uid-full-14-${backend}`);
      const serverId = await add(devA, cal, sent);
      const got = await devB.sync(cal, { options: bodyPreference });
      assert.deepEqual(got.adds.map((x) => x.serverId), [serverId]);
      assertCarries(got.adds[0]!.appData, sent);
    });

    it('every field goes from device A to device B (16.1), with occurrence changes and deletes by InstanceId', async () => {
      const [devA, devB] = [await device(ALICE, '16.1'), await device(ALICE, '16.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal, { options: bodyPreference });
      const sent = fullMeeting16(`cuid-16-${backend}`);
      const serverId = await add(devA, cal, sent);
      // MS-ASCMD 2.2.3.24 / 2.2.3.42.2: one occurrence moved and renamed, another deleted.
      const changed = await devA.sync(cal, {
        commands: [
          changeCommand(serverId, [c('Subject', 'Weekly (moved)'), c('StartTime', '20260317T120000Z'), c('EndTime', '20260317T130000Z')], '20260316T080000Z'),
          el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId), a('InstanceId', '20260309T080000Z')),
        ],
      });
      assert.deepEqual(changed.responses, [], 'both accepted (a successful Change or Delete is not answered)');
      const items = await devB.initialSync(cal, { options: bodyPreference });
      const got = items.find((x) => x.serverId === serverId)!.appData;
      assertCarries(got, sent, ['Calendar:ClientUid']);
      assert.equal(child(got, 'ClientUid', C), undefined, 'ClientUid is request-only');
      assert.match(childText(got, 'UID', C) ?? '', /^[0-9A-F]{32}$/, 'the server made the UID (MS-ASCAL 2.2.2.46)');
      const exceptions = children(child(got, 'Exceptions', C)!, 'Exception', C);
      const byInstance = new Map(exceptions.map((e) => [childText(e, 'InstanceId', A), e]));
      assert.equal(childText(byInstance.get('20260309T080000Z')!, 'Deleted', C), '1');
      const moved = byInstance.get('20260316T080000Z')!;
      assert.equal(childText(moved, 'Subject', C), 'Weekly (moved)');
      assert.equal(childText(moved, 'StartTime', C), '20260317T120000Z');
      // The series itself is unchanged.
      assert.equal(childText(got, 'Subject', C), 'Weekly');
      assert.equal(childText(got, 'StartTime', C), '20260302T080000Z');
    });

    it('16.1: an InstanceId on an appointment that does not recur is refused (Status 6, InstanceId echoed) and changes nothing', async () => {
      const devA = await device(ALICE, '16.1');
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal);
      const serverId = await add(devA, cal, [c('Timezone', BERLIN), c('EndTime', '20260402T090000Z'), c('Subject', 'Just once'), c('StartTime', '20260402T080000Z')]);
      const r = await devA.sync(cal, {
        commands: [
          changeCommand(serverId, [c('Subject', 'changed')], '20260402T080000Z'),
          el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId), a('InstanceId', '20260402T080000Z')),
        ],
      });
      assert.deepEqual(
        r.responses.map((x) => [x.name, childText(x, 'ServerId', 'AirSync'), childText(x, 'InstanceId', A), childText(x, 'Status', 'AirSync')]),
        [
          ['Change', serverId, '20260402T080000Z', '6'],
          ['Delete', serverId, '20260402T080000Z', '6'],
        ],
      );
      const stored = (await server.store.getItemByServerId(alice.id, serverId))!;
      assert.equal(stored.data['subject'], 'Just once');
      assert.equal(stored.data['exceptions'], undefined);
    });

    it('kb-1.4: a three-day all-day event stays all-day, midnight to midnight in its zone, through a round trip', async () => {
      const [devA, devB] = [await device(ALICE, '14.1'), await device(ALICE, '16.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal);
      await devB.initialSync(cal);
      // Device A keeps all-day events at UTC midnight of the dates (March 10th-12th).
      const serverId = await add(devA, cal, [c('Timezone', BERLIN), c('AllDayEvent', '1'), c('EndTime', '20260313T000000Z'), c('Subject', 'Conference'), c('StartTime', '20260310T000000Z')]);
      const onB = (await devB.sync(cal)).adds[0]!.appData;
      assert.equal(childText(onB, 'AllDayEvent', C), '1');
      // Midnight in Berlin (CET, UTC+1) is 23:00 UTC the day before.
      assert.equal(childText(onB, 'StartTime', C), '20260309T230000Z');
      assert.equal(childText(onB, 'EndTime', C), '20260312T230000Z');
      // Device B sends the whole item back with a new location.
      const back = onB.children.filter(isElement).filter((e) => !(e.ns === A && e.name === 'Body'));
      await devB.sync(cal, { commands: [changeCommand(serverId, [...back.filter((e) => e.name !== 'Location'), a('Location', a('DisplayName', 'Hall 2'))])] });
      const onA = (await devA.sync(cal)).changes[0]!.appData;
      assert.equal(childText(onA, 'AllDayEvent', C), '1');
      assert.equal(childText(onA, 'StartTime', C), '20260309T230000Z');
      assert.equal(childText(onA, 'EndTime', C), '20260312T230000Z');
      assert.equal(childText(onA, 'Location', C), 'Hall 2');
    });

    it('kb-1.6: a 30-hour timed appointment round-trips down and up unchanged, still timed', async () => {
      const [devA, devB] = [await device(ALICE, '16.1'), await device(ALICE, '14.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal);
      await devB.initialSync(cal);
      const serverId = await add(devA, cal, [c('Timezone', BERLIN), c('AllDayEvent', '0'), c('EndTime', '20260311T120000Z'), c('Subject', 'Night shift'), c('StartTime', '20260310T060000Z')]);
      const onB = (await devB.sync(cal)).adds[0]!.appData;
      assert.deepEqual([childText(onB, 'AllDayEvent', C), childText(onB, 'StartTime', C), childText(onB, 'EndTime', C)], ['0', '20260310T060000Z', '20260311T120000Z']);
      // Device B changes the reminder, sending the item back without AllDayEvent.
      const back = onB.children.filter(isElement).filter((e) => !['AllDayEvent', 'Body', 'Reminder'].includes(e.name));
      await devB.sync(cal, { commands: [changeCommand(serverId, [...back, c('Reminder', '15')])] });
      const onA = (await devA.sync(cal)).changes[0]!.appData;
      assert.deepEqual([childText(onA, 'AllDayEvent', C), childText(onA, 'StartTime', C), childText(onA, 'EndTime', C), childText(onA, 'Reminder', C)], ['0', '20260310T060000Z', '20260311T120000Z', '15']);
    });

    it('kb-1.7: an occurrence moved, then the series moved: the other device sees one Change of the same ServerId with both, UID kept', async () => {
      const [devA, devB] = [await device(ALICE, '14.1'), await device(ALICE, '14.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal);
      await devB.initialSync(cal);
      const uid = `uid-kb17-${backend}`;
      const series = [c('Timezone', BERLIN), c('EndTime', '20260302T090000Z'), c('Subject', 'Standup'), c('StartTime', '20260302T080000Z'), c('UID', uid), c('Recurrence', c('Type', '1'), c('Interval', '1'), c('DayOfWeek', '2'))];
      const serverId = await add(devA, cal, series);
      assert.equal((await devB.sync(cal)).adds.length, 1);
      const movedOccurrence = c('Exceptions', c('Exception', c('ExceptionStartTime', '20260309T080000Z'), c('StartTime', '20260310T080000Z'), c('EndTime', '20260310T090000Z')));
      await devA.sync(cal, { commands: [changeCommand(serverId, [...series, movedOccurrence])] });
      // The series moves an hour later; the moved occurrence stays where it was put.
      const later = series.map((e) => (e.name === 'StartTime' ? c('StartTime', '20260302T090000Z') : e.name === 'EndTime' ? c('EndTime', '20260302T100000Z') : e));
      await devA.sync(cal, { commands: [changeCommand(serverId, [...later, movedOccurrence])] });
      const r = await devB.sync(cal);
      assert.deepEqual(r.adds, []);
      assert.deepEqual(r.deletes, []);
      assert.deepEqual(r.changes.map((x) => x.serverId), [serverId], 'one Change of the same ServerId');
      const got = r.changes[0]!.appData;
      assert.equal(childText(got, 'UID', C), uid);
      assert.equal(childText(got, 'StartTime', C), '20260302T090000Z');
      const ex = child(child(got, 'Exceptions', C)!, 'Exception', C)!;
      assert.equal(childText(ex, 'ExceptionStartTime', C), '20260309T080000Z');
      assert.equal(childText(ex, 'StartTime', C), '20260310T080000Z');
    });

    it('kb-1.5: a series deleted on a device is in Deleted Items with every exception intact, and gone from the other device', async () => {
      const [devA, devB] = [await device(ALICE, '14.1'), await device(ALICE, '14.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal);
      await devB.initialSync(cal);
      const exceptions = c(
        'Exceptions',
        c('Exception', c('Deleted', '1'), c('ExceptionStartTime', '20260309T080000Z')),
        c('Exception', c('ExceptionStartTime', '20260316T080000Z'), c('Subject', 'Moved'), c('StartTime', '20260317T080000Z'), c('EndTime', '20260317T090000Z')),
      );
      const serverId = await add(devA, cal, [c('Timezone', BERLIN), c('EndTime', '20260302T090000Z'), c('Subject', 'Series to delete'), c('StartTime', '20260302T080000Z'), c('Recurrence', c('Type', '1'), c('DayOfWeek', '2')), exceptions]);
      assert.equal((await devB.sync(cal)).adds.length, 1);
      await devA.sync(cal, { deletesAsMoves: true, commands: [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId))] });
      assert.deepEqual((await devB.sync(cal)).deletes, [serverId]);
      const trash = (await server.store.listFolders(alice.id)).find((f) => f.type === 4)!;
      const moved = (await server.store.listChangesSince(alice.id, trash.id, 0, 1000)).find((i) => !i.deleted && i.data['subject'] === 'Series to delete')!;
      assert.ok(moved, 'recoverable in Deleted Items');
      assert.deepEqual(moved.data['recurrence'], { type: 1, dayOfWeek: 2 });
      assert.deepEqual(moved.data['exceptions'], [
        { exceptionStartTime: '2026-03-09T08:00:00.000Z', deleted: true },
        { exceptionStartTime: '2026-03-16T08:00:00.000Z', subject: 'Moved', startTime: '2026-03-17T08:00:00.000Z', endTime: '2026-03-17T09:00:00.000Z' },
      ]);
    });

    it('kb-1.10: a monthly series on day 31 reaches other devices as "the last day of every month"', async () => {
      const [devA, devB] = [await device(ALICE, '14.1'), await device(ALICE, '16.1')];
      const cal = devA.folderByType(8).serverId;
      await devA.initialSync(cal);
      await devB.initialSync(cal);
      await add(devA, cal, [c('Timezone', BERLIN), c('EndTime', '20260131T100000Z'), c('Subject', 'Month end'), c('StartTime', '20260131T090000Z'), c('Recurrence', c('Type', '2'), c('Interval', '1'), c('DayOfMonth', '31'))]);
      const rec = child((await devB.sync(cal)).adds[0]!.appData, 'Recurrence', C)!;
      assert.deepEqual(
        rec.children.filter(isElement).map((e) => `${e.name}=${text(e)}`),
        ['Type=3', 'Interval=1', 'WeekOfMonth=5', 'DayOfWeek=127'],
      );
      // The stored pattern is the device's (Outlook's day 31), expanded to Feb 28th, Apr 30th...
      const stored = (await server.store.listChangesSince(alice.id, (await calendarOf(alice)).id, 0, 1000)).find((i) => i.data['subject'] === 'Month end')!;
      assert.deepEqual(stored.data['recurrence'], { type: 2, interval: 1, dayOfMonth: 31 });
    });

    it('kb-1.2: an attendee edits its copy of a meeting: only its own properties change, on the server and on its second device', async () => {
      const [phone, tablet] = [await device(BOB, '14.1'), await device(BOB, '14.1')];
      const cal = await calendarOf(bob);
      const attendees: JsonObject[] = [
        { email: 'carol@example.org', name: 'Carol', attendeeType: 1 },
        { email: 'bob@example.com', name: 'Bob', attendeeType: 1, attendeeStatus: 3 },
      ];
      const meeting: JsonObject = {
        subject: 'Carol\'s review',
        startTime: '2026-04-01T12:00:00.000Z',
        endTime: '2026-04-01T13:00:00.000Z',
        organizerName: 'Carol',
        organizerEmail: 'carol@example.org',
        meetingStatus: 3,
        responseType: 3,
        uid: `uid-kb12-${backend}`,
        attendees,
        reminder: 15,
      };
      const item = await server.store.putItem({ userId: bob.id, folderId: cal.id, class: 'Calendar', data: meeting, uid: meeting['uid'] as string });
      const id = phone.folderByType(8).serverId;
      await phone.initialSync(id);
      await tablet.initialSync(id);
      // The phone sends the item back as if Bob organised it, with a new reminder.
      await phone.sync(id, {
        commands: [
          changeCommand(item.serverId, [
            c('OrganizerName', 'Bob'),
            c('OrganizerEmail', 'bob@example.com'),
            c('Reminder', '5'),
            c('Subject', 'Bob\'s review'),
            c('MeetingStatus', '1'),
            c('Attendees', c('Attendee', c('Email', 'bob@example.com'), c('Name', 'Bob'))),
          ]),
        ],
      });
      const stored = (await server.store.getItem(bob.id, item.id))!.data;
      assert.equal(stored['reminder'], 5);
      for (const key of ['organizerName', 'organizerEmail', 'meetingStatus', 'subject', 'attendees']) assert.deepEqual(stored[key], meeting[key], key);
      const got = (await tablet.sync(id)).changes[0]!.appData;
      assert.equal(childText(got, 'Reminder', C), '5');
      assert.equal(childText(got, 'OrganizerEmail', C), 'carol@example.org');
      assert.equal(childText(got, 'MeetingStatus', C), '3');
      assert.deepEqual(children(child(got, 'Attendees', C)!, 'Attendee', C).map((x) => childText(x, 'Email', C)), ['carol@example.org', 'bob@example.com']);

      // A copy without MeetingStatus (made elsewhere): the organizer's address is what tells.
      const unmarked: JsonObject = { ...meeting, uid: `uid-kb12b-${backend}`, subject: 'Carol\'s sync' };
      delete unmarked['meetingStatus'];
      const second = await server.store.putItem({ userId: bob.id, folderId: cal.id, class: 'Calendar', data: unmarked });
      await phone.sync(id);
      await phone.sync(id, { commands: [changeCommand(second.serverId, [c('OrganizerEmail', 'bob@example.com'), c('Subject', 'Mine now'), c('Reminder', '1')])] });
      const after2 = (await server.store.getItem(bob.id, second.id))!.data;
      assert.deepEqual([after2['organizerEmail'], after2['subject'], after2['reminder'], after2['meetingStatus']], ['carol@example.org', 'Carol\'s sync', 1, 3]);
    });

    it('a FilterType window includes a series with one occurrence inside it, not one that ended before', async () => {
      const d = await device(BOB, '16.1');
      const cal = await calendarOf(bob);
      const day = 86_400_000;
      const iso = (ms: number) => new Date(ms).toISOString();
      const now = Date.now();
      const at9 = (ms: number) => Math.floor(ms / day) * day + 9 * 3_600_000;
      // Monthly since about a year ago, 13 occurrences: the last one is about a week from now.
      const start = at9(now - 358 * day);
      const putCal = (data: JsonObject) => server.store.putItem({ userId: bob.id, folderId: cal.id, class: 'Calendar', data });
      await putCal({ subject: 'Monthly, last one ahead', startTime: iso(start), endTime: iso(start + 3_600_000), recurrence: { type: 0, interval: 30, occurrences: 13 } });
      // The same series with its last occurrence deleted: its last one was three weeks ago.
      await putCal({
        subject: 'Monthly, last one deleted',
        startTime: iso(start),
        endTime: iso(start + 3_600_000),
        recurrence: { type: 0, interval: 30, occurrences: 13 },
        exceptions: [{ exceptionStartTime: iso(start + 12 * 30 * day), deleted: true }],
      });
      await putCal({ subject: 'Endless yearly since 2010', startTime: '2010-01-01T09:00:00.000Z', endTime: '2010-01-01T10:00:00.000Z', recurrence: { type: 5, monthOfYear: 1, dayOfMonth: 1 } });
      await putCal({ subject: 'Single, a year ago', startTime: iso(start), endTime: iso(start + 3_600_000) });
      const items = await d.initialSync(d.folderByType(8).serverId, { options: [el('AirSync', 'FilterType', '4')] });
      const subjects = items.map((x) => childText(x.appData, 'Subject', C)).sort();
      assert.ok(subjects.includes('Monthly, last one ahead'));
      assert.ok(subjects.includes('Endless yearly since 2010'));
      assert.ok(!subjects.includes('Monthly, last one deleted'));
      assert.ok(!subjects.includes('Single, a year ago'));
    });
  });
}
