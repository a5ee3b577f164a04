/**
 * Issue 14 item 9 through the device simulator: a device's item with a malformed optional field
 * is stored (Sync Status 1) without that field, and the drop is logged (warn); nothing is lost.
 * Requests are built here from MS-ASCAL, MS-ASTASK and MS-ASNOTE, not with server code.
 *
 * The calendar case is the one seen from iOS: a Timezone that is not a 172-byte
 * TIME_ZONE_INFORMATION (horde/kronolith pull request 68, "invalid timezone data from iOS
 * clients"; Horde now falls back instead of failing the import). Here the blob is cut short.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '../../src/store/types.ts';
import { child, childText, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { berlinBlob } from '../helpers/timezone-blobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const C = 'Calendar';
const T = 'Tasks';
const N = 'Notes';
/** UTC as a TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7.6): 172 zero bytes. */
const UTC_TZI = Buffer.alloc(172).toString('base64');

const addCommand = (clientId: string, kids: WbxmlElement[]) => el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), el('AirSync', 'ApplicationData', kids));

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`malformed optional fields are left out, the item kept (${backend})`, () => {
    let server: TestServer;
    let alice: User;
    let n = 0;
    const device = async (version = '16.1') => {
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `TOL${backend}${++n}`, deviceType: 'iPhone', version });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };
    /** Sends one Add; returns the stored data and the warn lines it caused. */
    const addOne = async (d: Device, collectionId: string, kids: WbxmlElement[]) => {
      const from = server.logs.length;
      const r = await d.sync(collectionId, { commands: [addCommand(`c${++n}`, kids)] });
      const response = r.responses.find((x) => x.name === 'Add')!;
      assert.equal(childText(response, 'Status', 'AirSync'), '1', 'Add accepted');
      const serverId = childText(response, 'ServerId', 'AirSync')!;
      const item = (await server.store.getItemByServerId(alice.id, serverId))!;
      const warned = server.logs.slice(from).filter((l) => l.level === 40 && typeof l['element'] === 'string');
      return { serverId, data: item.data, warned: warned.map((l) => l['element']), lines: warned };
    };

    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn', services: () => ({ outbound: undefined }) });
      alice = server.users.get(ALICE.email)!;
    });
    after(async () => server.close());

    it('a calendar Add with a truncated Timezone is stored with its UTC times in the default zone (UTC), logged, Status 1', async () => {
      const [phone, other] = [await device('16.1'), await device('14.1')];
      const cal = phone.folderByType(8).serverId;
      await phone.initialSync(cal);
      await other.initialSync(cal);
      const truncated = Buffer.from(berlinBlob(), 'base64').subarray(0, 120).toString('base64');
      const { serverId, data, warned, lines } = await addOne(phone, cal, [
        el(C, 'Timezone', truncated),
        el(C, 'AllDayEvent', '0'),
        el(C, 'BusyStatus', '2'),
        el(C, 'DtStamp', '20260310T081500Z'),
        el(C, 'EndTime', '20260312T100000Z'),
        el(C, 'Reminder', '15'),
        el(C, 'Sensitivity', '0'),
        el(C, 'Subject', 'Dentist'),
        el(C, 'StartTime', '20260312T090000Z'),
        el(C, 'MeetingStatus', '0'),
      ]);
      assert.equal(data['subject'], 'Dentist');
      assert.equal(data['startTime'], '2026-03-12T09:00:00.000Z');
      assert.equal(data['endTime'], '2026-03-12T10:00:00.000Z');
      assert.equal(data['timezone'], undefined);
      assert.deepEqual(warned, ['Calendar:Timezone']);
      assert.match(String(lines[0]!['reason']), /120 bytes/);
      assert.equal(lines[0]!['folder'], cal);
      // Another device gets the event at the same instants, in UTC.
      const got = await other.sync(cal);
      const appData = got.adds.find((x) => x.serverId === serverId)!.appData;
      assert.equal(childText(appData, 'Timezone', C), UTC_TZI);
      assert.equal(childText(appData, 'StartTime', C), '20260312T090000Z');
      assert.equal(childText(appData, 'EndTime', C), '20260312T100000Z');
    });

    it('unknown enum values and out-of-range numbers on a calendar item, a task and a note: left out, the item kept', async () => {
      const d = await device('16.1');
      const cal = d.folderByType(8).serverId;
      await d.initialSync(cal);
      const event = await addOne(d, cal, [
        el(C, 'Timezone', berlinBlob()),
        el(C, 'BusyStatus', '9'),
        el(C, 'Reminder', '-5'),
        el(C, 'Sensitivity', 'private'),
        el(C, 'Subject', 'Lunch'),
        el(C, 'StartTime', '20260313T110000Z'),
        el(C, 'EndTime', '20260313T120000Z'),
        el(C, 'Attendees', el(C, 'Attendee', el(C, 'Email', 'bob@example.com'), el(C, 'Name', 'Bob'), el(C, 'AttendeeType', '7'))),
      ]);
      assert.equal(event.data['subject'], 'Lunch');
      assert.equal(event.data['timezone'], berlinBlob());
      assert.deepEqual(event.data['attendees'], [{ email: 'bob@example.com', name: 'Bob' }]);
      assert.deepEqual(event.warned, ['Calendar:BusyStatus', 'Calendar:Reminder', 'Calendar:Sensitivity', 'Calendar:AttendeeType']);

      const tasks = d.folderByType(7).serverId;
      await d.initialSync(tasks);
      const task = await addOne(d, tasks, [el(T, 'Subject', 'Taxes'), el(T, 'Importance', '3'), el(T, 'DueDate', '2026-02-30T00:00:00.000Z'), el(T, 'Complete', '0'), el(T, 'ReminderSet', 'yes')]);
      assert.deepEqual(task.data, { subject: 'Taxes', complete: false });
      assert.deepEqual(task.warned, ['Tasks:Importance', 'Tasks:DueDate', 'Tasks:ReminderSet']);

      const notes = d.folderByType(10).serverId;
      await d.initialSync(notes);
      const note = await addOne(d, notes, [el(N, 'Subject', 'Ideas'), el(N, 'LastModifiedDate', 'yesterday')]);
      assert.equal(note.data['subject'], 'Ideas');
      assert.match(String(note.data['lastModifiedDate']), /^\d{4}-\d{2}-\d{2}T/);
      assert.deepEqual(note.warned, ['Notes:LastModifiedDate']);
    });

    it('required and placing fields still get Status 6: a malformed StartTime, a task Complete of 2', async () => {
      const d = await device('16.1');
      const cal = d.folderByType(8).serverId;
      await d.initialSync(cal);
      const r = await d.sync(cal, { commands: [addCommand('bad-start', [el(C, 'Subject', 'When?'), el(C, 'StartTime', 'tomorrow'), el(C, 'EndTime', '20260313T120000Z')])] });
      assert.equal(childText(r.responses.find((x) => x.name === 'Add')!, 'Status', 'AirSync'), '6');
      const tasks = d.folderByType(7).serverId;
      await d.initialSync(tasks);
      const t = await d.sync(tasks, { commands: [addCommand('bad-complete', [el(T, 'Subject', 'x'), el(T, 'Complete', '2')])] });
      const response = t.responses.find((x) => x.name === 'Add')!;
      assert.equal(childText(response, 'Status', 'AirSync'), '6');
      assert.equal(child(response, 'ServerId', 'AirSync'), undefined);
    });
  });
}
