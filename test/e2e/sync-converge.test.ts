/**
 * Convergence when the server keeps its own value (issue 14 item 7, kb-1.2), through the device
 * simulator on SQLite and the in-memory mailboxes: a device's Change of fields it may not change
 * (an attendee renaming someone else's meeting; a received message's From, Subject or body) is
 * answered as done (MS-ASCMD 2.2.3.24.3), keeps the server's values, and the device is sent the
 * server's version as a Change, once per edit; the fields it may change (an attendee's reminder,
 * busy status and categories; a message's Read, Flag and Categories; anything of a draft) are
 * taken and not echoed.
 *
 * Request shapes: EAS-4-TbSync sends a calendar Change with the whole item and no ghosting,
 * organizer and all (jobisoft/EAS-4-TbSync content/includes/calendarsync.js,
 * getWbxmlFromThunderbirdItem: "if we do not include a value in CHANGE, it is removed from the
 * server"), so an attendee's reminder change arrives with its copy's Subject and Organizer; a
 * phone marks mail read or flagged with a Change carrying only Read or Flag (MS-ASCMD 4.5.x
 * examples; Z-Push's Sync handler treats a Change with Read as a read-flag change,
 * fmbiete/Z-Push-contrib lib/request/sync.php).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Folder, JsonObject, User } from '../../src/store/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const BOB = { email: 'bob@example.com', password: 'bob-password-12' };
const C = 'Calendar';
const E = 'Email';
const A = 'AirSyncBase';
const c = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(C, name, kids);
const e = (name: string, ...kids: Array<WbxmlElement | string | null>) => el(E, name, kids);

function changeCommand(serverId: string, kids: WbxmlElement[], instanceId?: string): WbxmlElement {
  return el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), instanceId ? el(A, 'InstanceId', instanceId) : null, el('AirSync', 'ApplicationData', kids));
}

/** Carol's meeting as Bob's copy holds it (MeetingStatus 3: received, MS-ASCAL 2.2.2.29). */
function carolsMeeting(uid: string): JsonObject {
  return {
    subject: 'Carol\'s review',
    location: 'Room 1',
    startTime: '2026-04-01T12:00:00.000Z',
    endTime: '2026-04-01T13:00:00.000Z',
    organizerName: 'Carol',
    organizerEmail: 'carol@example.org',
    meetingStatus: 3,
    responseType: 3,
    busyStatus: 2,
    uid,
    attendees: [
      { email: 'carol@example.org', name: 'Carol', attendeeType: 1 },
      { email: 'bob@example.com', name: 'Bob', attendeeType: 1, attendeeStatus: 3 },
    ],
    reminder: 15,
  };
}

/** A received message in Bob's Inbox. */
const received = (subject: string): JsonObject => ({
  subject,
  from: '"Carol" <carol@example.org>',
  to: 'bob@example.com',
  dateReceived: '2026-03-01T10:00:00.000Z',
  read: false,
  body: { text: 'Hello Bob' },
});

for (const backend of ['sqlite', 'memory'] as const) {
  describe(`convergence when the server keeps its own value (${backend})`, () => {
    let server: TestServer;
    let bob: User;
    let n = 0;
    const device = async (version = '14.1') => {
      const d = new Device({ url: server.url, user: BOB.email, password: BOB.password, deviceId: `CONV${backend}${++n}`, deviceType: 'TestPhone', version });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };
    const folderOf = async (type: number): Promise<Folder> => (await server.store.listFolders(bob.id)).find((f) => f.type === type)!;
    const put = async (type: number, cls: 'Calendar' | 'Email', data: JsonObject) =>
      server.store.putItem({ userId: bob.id, folderId: (await folderOf(type)).id, class: cls, data, ...(typeof data['uid'] === 'string' ? { uid: data['uid'] } : {}) });
    const stored = async (id: string) => (await server.store.getItem(bob.id, id))!.data;

    before(async () => {
      server = await startTestServer({ users: [BOB], backend, logLevel: 'warn', services: () => ({ outbound: undefined }) });
      bob = server.users.get(BOB.email)!;
    });
    after(async () => server.close());

    it('kb-1.2: an attendee renames its copy of a meeting and changes the reminder: the reminder is kept, the device is sent the organizer\'s version once, a second device sees only the reminder', async () => {
      const [phone, tablet] = [await device(), await device()];
      const item = await put(8, 'Calendar', carolsMeeting(`uid-conv-a-${backend}`));
      const cal = phone.folderByType(8).serverId;
      await phone.initialSync(cal);
      await tablet.initialSync(cal);
      // TbSync's shape: the whole item, with the user's edits (a new title, "my" meeting, reminder 5).
      const edit = (subject: string) =>
        changeCommand(item.serverId, [
          c('AllDayEvent', '0'),
          c('BusyStatus', '2'),
          c('OrganizerName', 'Bob'),
          c('OrganizerEmail', 'bob@example.com'),
          c('EndTime', '20260401T130000Z'),
          c('Location', 'Room 1'),
          c('Reminder', '5'),
          c('Subject', subject),
          c('StartTime', '20260401T120000Z'),
          c('MeetingStatus', '1'),
        ]);
      const first = await phone.sync(cal, { commands: [edit('Bob\'s review')] });
      assert.deepEqual(first.responses, [], 'a successful Change is not answered (MS-ASCMD 2.2.3.24.3)');
      const data = await stored(item.id);
      assert.equal(data['reminder'], 5, 'the reminder is the attendee\'s own');
      assert.equal(data['subject'], 'Carol\'s review');
      assert.equal(data['organizerEmail'], 'carol@example.org');
      assert.equal(data['meetingStatus'], 3);
      // The device that sent the refused part gets the server's version (in this answer: the window has room).
      assert.equal(first.changes.length, 1, 'the phone is sent the server\'s version');
      const echo = first.changes[0]!;
      assert.equal(echo.serverId, item.serverId);
      assert.equal(childText(echo.appData, 'Subject', C), 'Carol\'s review');
      assert.equal(childText(echo.appData, 'OrganizerEmail', C), 'carol@example.org');
      assert.equal(childText(echo.appData, 'MeetingStatus', C), '3');
      assert.equal(childText(echo.appData, 'Reminder', C), '5', 'with the attendee\'s own reminder');
      assert.deepEqual(children(child(echo.appData, 'Attendees', C)!, 'Attendee', C).map((x) => childText(x, 'Email', C)), ['carol@example.org', 'bob@example.com']);
      // Once: the next Sync of the phone is quiet.
      const next = await phone.sync(cal);
      assert.deepEqual([next.changes.length, next.adds.length], [0, 0], 'no second echo');
      // The second device sees the kept reminder, never the rename.
      const other = await tablet.sync(cal);
      assert.equal(other.changes.length, 1);
      assert.equal(childText(other.changes[0]!.appData, 'Reminder', C), '5');
      assert.equal(childText(other.changes[0]!.appData, 'Subject', C), 'Carol\'s review');

      // A device that sends the same refused edit again is not answered with the same echo again
      // (no endless traffic); a new edit is (once per real edit).
      const again = await phone.sync(cal, { commands: [edit('Bob\'s review')] });
      assert.deepEqual([again.changes.length, again.responses.length], [0, 0], 'the same refused edit again: no second echo');
      assert.equal((await phone.sync(cal)).changes.length, 0);
      const renamed = await phone.sync(cal, { commands: [edit('Bob\'s review, take 2')] });
      assert.deepEqual(renamed.changes.map((x) => childText(x.appData, 'Subject', C)), ['Carol\'s review'], 'a new refused edit: one echo');
      assert.equal((await tablet.sync(cal)).changes.length, 0, 'the other device hears of nothing: the item did not change');
    });

    it('kb-1.2: an attendee\'s reminder, busy status and categories are its own: kept, and nothing is echoed', async () => {
      const [phone, tablet] = [await device(), await device()];
      const item = await put(8, 'Calendar', carolsMeeting(`uid-conv-b-${backend}`));
      const cal = phone.folderByType(8).serverId;
      await phone.initialSync(cal);
      await tablet.initialSync(cal);
      const r = await phone.sync(cal, { commands: [changeCommand(item.serverId, [c('BusyStatus', '1'), c('Categories', c('Category', 'Review')), c('Reminder', '30')])] });
      assert.deepEqual([r.responses.length, r.changes.length], [0, 0], 'taken, nothing sent back');
      const data = await stored(item.id);
      assert.deepEqual([data['busyStatus'], data['categories'], data['reminder'], data['subject']], [1, ['Review'], 30, 'Carol\'s review']);
      const got = (await tablet.sync(cal)).changes[0]!.appData;
      assert.deepEqual([childText(got, 'BusyStatus', C), childText(got, 'Reminder', C)], ['1', '30']);
      assert.deepEqual(children(child(got, 'Categories', C)!, 'Category', C).map((x) => childText(x, 'Category', C) ?? x.children.join('')), ['Review']);
    });

    it('kb-1.2 (16.1): an attendee renames one occurrence and changes its reminder: the reminder is kept for that occurrence, the device is sent the series back', async () => {
      const phone = await device('16.1');
      const meeting = { ...carolsMeeting(`uid-conv-c-${backend}`), recurrence: { type: 0, interval: 1, occurrences: 5 } };
      const item = await put(8, 'Calendar', meeting);
      const cal = phone.folderByType(8).serverId;
      await phone.initialSync(cal);
      const r = await phone.sync(cal, { commands: [changeCommand(item.serverId, [c('Subject', 'Mine'), c('Reminder', '1')], '20260402T120000Z')] });
      assert.deepEqual(r.responses, []);
      const data = await stored(item.id);
      const exceptions = data['exceptions'] as JsonObject[];
      assert.deepEqual(exceptions, [{ exceptionStartTime: '2026-04-02T12:00:00.000Z', reminder: 1 }]);
      assert.equal(r.changes.length, 1, 'the phone is sent the server\'s version of the series');
      const sent = children(child(r.changes[0]!.appData, 'Exceptions', C)!, 'Exception', C)[0]!;
      assert.equal(childText(sent, 'Subject', C), undefined, 'the occurrence keeps the series\' subject');
      assert.equal(childText(sent, 'Reminder', C), '1');
      assert.equal((await phone.sync(cal)).changes.length, 0);
    });

    it('a Change of a received message\'s From, Subject and body keeps them, takes Read, and sends the device the message back once', async () => {
      const [phone, tablet] = [await device('16.1'), await device('16.1')];
      const item = await put(2, 'Email', received('Quarterly numbers'));
      const inbox = phone.folderByType(2).serverId;
      await phone.initialSync(inbox);
      await tablet.initialSync(inbox);
      const r = await phone.sync(inbox, {
        commands: [changeCommand(item.serverId, [e('From', 'mallory@example.net'), e('Subject', 'Changed'), e('Read', '1'), el(A, 'Body', el(A, 'Type', '1'), el(A, 'Data', 'rewritten'))])],
      });
      assert.deepEqual(r.responses, []);
      const data = await stored(item.id);
      assert.deepEqual([data['from'], data['subject'], data['read'], (data['body'] as JsonObject)['text']], ['"Carol" <carol@example.org>', 'Quarterly numbers', true, 'Hello Bob']);
      assert.equal(r.changes.length, 1, 'the phone is sent the message as the server has it');
      const echo = r.changes[0]!.appData;
      assert.deepEqual([childText(echo, 'From', E), childText(echo, 'Subject', E), childText(echo, 'Read', E)], ['"Carol" <carol@example.org>', 'Quarterly numbers', '1']);
      assert.equal((await phone.sync(inbox)).changes.length, 0, 'once');
      const other = (await tablet.sync(inbox)).changes;
      assert.deepEqual(other.map((x) => [childText(x.appData, 'Read', E), childText(x.appData, 'From', E)]), [['1', '"Carol" <carol@example.org>']]);
    });

    it('Read and Flag from a device are kept and not echoed; another device gets them', async () => {
      const [phone, tablet] = [await device('16.1'), await device('16.1')];
      const item = await put(2, 'Email', received('Flag me'));
      const inbox = phone.folderByType(2).serverId;
      await phone.initialSync(inbox);
      await tablet.initialSync(inbox);
      const read = await phone.sync(inbox, { commands: [changeCommand(item.serverId, [e('Read', '1')])] });
      assert.deepEqual([read.responses.length, read.changes.length], [0, 0]);
      // MS-ASEMAIL 2.2.2.34 Flag: Status 2 (active) with a FlagType, as a phone flags for follow-up.
      const flag = e('Flag', e('Status', '2'), e('FlagType', 'Flag for follow up'));
      const flagged = await phone.sync(inbox, { commands: [changeCommand(item.serverId, [flag, e('Categories', e('Category', 'Finance'))])] });
      assert.deepEqual([flagged.responses.length, flagged.changes.length], [0, 0]);
      const data = await stored(item.id);
      assert.equal(data['read'], true);
      assert.deepEqual(data['flag'], { status: 2, flagType: 'Flag for follow up' });
      assert.deepEqual(data['categories'], ['Finance']);
      const got = (await tablet.sync(inbox)).changes;
      assert.equal(got.length, 1);
      assert.equal(childText(got[0]!.appData, 'Read', E), '1');
      assert.equal(childText(child(got[0]!.appData, 'Flag', E)!, 'Status', E), '2');
    });

    it('a draft is the device\'s to change: a Change of its Subject and To in Drafts is kept and not echoed', async () => {
      const phone = await device('16.1');
      const item = await put(3, 'Email', { subject: 'Draft', to: 'ann@example.com', isDraft: true, body: { text: 'first words' } });
      const drafts = phone.folderByType(3).serverId;
      await phone.initialSync(drafts);
      const r = await phone.sync(drafts, { commands: [changeCommand(item.serverId, [e('To', 'dan@example.com'), e('Subject', 'Draft, edited')])] });
      assert.deepEqual([r.responses.length, r.changes.length], [0, 0]);
      const data = await stored(item.id);
      assert.deepEqual([data['to'], data['subject']], ['dan@example.com', 'Draft, edited']);
    });

    it('an echo owed by a Sync that asked for no changes is counted by GetItemEstimate and Ping and sent by the next Sync', async () => {
      const phone = await device('16.1');
      const item = await put(2, 'Email', received('Owed'));
      const inbox = phone.folderByType(2).serverId;
      await phone.initialSync(inbox);
      const r = await phone.sync(inbox, { getChanges: false, commands: [changeCommand(item.serverId, [e('Subject', 'Mine')])] });
      assert.deepEqual([r.responses.length, r.changes.length], [0, 0], 'GetChanges 0: no changes in this answer (MS-ASCMD 2.2.3.79)');
      const estimate = await phone.client.post(
        'GetItemEstimate',
        el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Collections', el('GetItemEstimate', 'Collection', el('AirSync', 'SyncKey', phone.view(inbox).syncKey), el('GetItemEstimate', 'CollectionId', inbox)))),
      );
      const response = child(estimate.wbxml!, 'Response', 'GetItemEstimate')!;
      assert.equal(childText(child(response, 'Collection', 'GetItemEstimate')!, 'Estimate', 'GetItemEstimate'), '1');
      // Ping counts it too: answered at once, Status 2 (changes) naming the Inbox (MS-ASCMD 2.2.3.162.8).
      const pinged = await phone.ping([inbox], 120);
      assert.equal(childText(pinged.wbxml!, 'Status', 'Ping'), '2');
      assert.deepEqual(children(child(pinged.wbxml!, 'Folders', 'Ping')!, 'Folder', 'Ping').map((f) => f.children.join('')), [inbox]);
      const next = await phone.sync(inbox);
      assert.deepEqual(next.changes.map((x) => childText(x.appData, 'Subject', E)), ['Owed']);
      assert.equal((await phone.sync(inbox)).changes.length, 0);
    });
  });
}
