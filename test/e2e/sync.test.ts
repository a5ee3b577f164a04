/**
 * Scenario tests of the sync engine through the device simulator, against a running server on
 * SQLite and on PostgreSQL: FolderSync, Sync, GetItemEstimate and Ping as a phone uses them.
 * Scenario ids (kb-...) are those of ../shared/SCENARIOS.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Folder, JsonObject, Store, User } from '../../src/store/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import type { AddressInfo } from 'node:net';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { PG_TEST_URL } from '../helpers/db.ts';
import { collectingLogger, startTestServer, type TestServer } from '../helpers/server.ts';
import { contactData, Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const BOB = { email: 'bob@example.com', password: 'bob-password-12' };

function email(i: number, extra: JsonObject = {}): JsonObject {
  return {
    subject: `Message ${i}`,
    from: 'Carol <carol@example.org>',
    to: 'alice@example.com',
    dateReceived: new Date(Date.UTC(2026, 10, 1, 0, 0, i % 60)).toISOString(),
    read: false,
    body: { text: `Body of message ${i}` },
    ...extra,
  };
}

const subjectOf = (appData: WbxmlElement, ns = 'Email') => childText(appData, 'Subject', ns);

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`sync engine scenarios (${backend})`, () => {
    let server: TestServer;
    let alice: User;
    let bob: User;
    let n = 0;
    /** A new device of a user; each test uses its own device ids. */
    const device = (who = ALICE, version = '16.1') =>
      new Device({ url: server.url, user: who.email, password: who.password, deviceId: `DEV${backend}${++n}`, deviceType: 'TestPhone', version });
    const folder = async (user: User, type: number): Promise<Folder> => {
      const f = (await server.store.listFolders(user.id)).find((x) => x.type === type);
      assert.ok(f, `folder of type ${type}`);
      return f;
    };
    /** A device that has done FolderSync (which also creates the default folders). */
    const readyDevice = async (who = ALICE, version = '16.1') => {
      const d = device(who, version);
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };

    before(async () => {
      server = await startTestServer({ users: [ALICE, BOB], backend, logLevel: 'warn' });
      alice = server.users.get(ALICE.email)!;
      bob = server.users.get(BOB.email)!;
    });
    after(async () => server.close());

    it('initial sync of each class sends every item once', async () => {
      const d = await readyDevice();
      const put = async (type: number, cls: 'Email' | 'Calendar' | 'Contacts' | 'Tasks' | 'Notes', data: JsonObject) =>
        server.store.putItem({ userId: alice.id, folderId: (await folder(alice, type)).id, class: cls, data });
      await put(2, 'Email', email(1));
      await put(8, 'Calendar', { subject: 'Planning', startTime: '2026-12-01T09:00:00.000Z', endTime: '2026-12-01T10:00:00.000Z', uid: 'uid-planning' });
      await put(9, 'Contacts', { firstName: 'Dana', lastName: 'Scully', fileAs: 'Scully, Dana' });
      await put(7, 'Tasks', { subject: 'File report', complete: false });
      await put(10, 'Notes', { subject: 'Idea', body: { text: 'write it down' } });
      const cases: Array<[number, string, string]> = [
        [2, 'Email', 'Message 1'],
        [8, 'Calendar', 'Planning'],
        [7, 'Tasks', 'File report'],
        [10, 'Notes', 'Idea'],
      ];
      for (const [type, ns, subject] of cases) {
        const adds = await d.initialSync(d.folderByType(type).serverId, { options: [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1))] });
        assert.deepEqual(adds.map((a) => subjectOf(a.appData, ns)), [subject], `class ${ns}`);
      }
      const contacts = await d.initialSync(d.folderByType(9).serverId);
      assert.deepEqual(contacts.map((a) => childText(a.appData, 'FirstName', 'Contacts')), ['Dana']);
    });

    it('pages 1,000 items through WindowSize with MoreAvailable, each exactly once', async () => {
      const d = await readyDevice(BOB);
      const inbox = await folder(bob, 2);
      for (let i = 0; i < 1000; i++) await server.store.putItem({ userId: bob.id, folderId: inbox.id, class: 'Email', data: email(i) });
      const collectionId = d.folderByType(2).serverId;
      await d.sync(collectionId); // SyncKey 0
      let rounds = 0;
      const seen = new Set<string>();
      for (;;) {
        const r = await d.sync(collectionId, { windowSize: 100 });
        assert.equal(r.status, 1);
        rounds++;
        assert.ok(r.adds.length <= 100);
        for (const a of r.adds) {
          assert.ok(!seen.has(a.serverId), `${a.serverId} sent twice`);
          seen.add(a.serverId);
        }
        if (!r.moreAvailable) break;
      }
      assert.equal(seen.size, 1000);
      assert.equal(rounds, 10);
      const again = await d.sync(collectionId, { windowSize: 100 });
      assert.equal(again.adds.length + again.changes.length + again.deletes.length, 0);
    });

    it('two devices of one user stay consistent; a delete moves to Deleted Items (kb-1.5)', async () => {
      const a = await readyDevice();
      const b = await readyDevice();
      const contacts = a.folderByType(9).serverId;
      await a.initialSync(contacts);
      await b.initialSync(contacts);
      const added = await a.sync(contacts, { commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'c-1'), contactData('Fox', 'Mulder', 'fox@example.org'))] });
      const addResponse = added.responses.find((r) => r.name === 'Add')!;
      assert.equal(childText(addResponse, 'Status', 'AirSync'), '1');
      const serverId = childText(addResponse, 'ServerId', 'AirSync')!;
      assert.equal(added.adds.length, 0, 'the device does not get its own Add back');

      const onB = await b.sync(contacts);
      assert.deepEqual(onB.adds.map((x) => x.serverId), [serverId]);
      assert.equal(childText(onB.adds[0]!.appData, 'Email1Address', 'Contacts'), 'fox@example.org');

      // Without Supported, a contact Change carries the whole contact (MS-ASCMD 2.2.3.179).
      const whole = contactData('Fox', 'Mulder', 'fox@example.org');
      await b.sync(contacts, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), el('AirSync', 'ApplicationData', whole.children, el('Contacts', 'JobTitle', 'Special Agent')))] });
      const onA = await a.sync(contacts);
      assert.deepEqual(onA.changes.map((x) => x.serverId), [serverId]);
      assert.equal(childText(onA.changes[0]!.appData, 'JobTitle', 'Contacts'), 'Special Agent');
      assert.equal(childText(onA.changes[0]!.appData, 'FirstName', 'Contacts'), 'Fox');

      await a.sync(contacts, { commands: [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId))] });
      assert.deepEqual((await b.sync(contacts)).deletes, [serverId]);
      const trash = await folder(alice, 4);
      const inTrash = (await server.store.listChangesSince(alice.id, trash.id, 0, 100)).filter((i) => !i.deleted);
      assert.equal(inTrash.length, 1, 'kb-1.5: the deleted item is recoverable in Deleted Items');
      assert.equal(inTrash[0]!.data.lastName, 'Mulder');
    });

    it('a retried request with the previous key gets the same items again, nothing lost or sent twice', async () => {
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      const notesFolder = await folder(alice, 10);
      await d.initialSync(notes);
      for (let i = 0; i < 3; i++) await server.store.putItem({ userId: alice.id, folderId: notesFolder.id, class: 'Notes', data: { subject: `retry ${i}` } });
      const keyBefore = d.view(notes).syncKey;
      const request = el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes)));
      const first = await d.syncRaw(request);
      const lost = children(child(first.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')[0]!;
      // The response is "lost": the device sends the same request, with the same key, again.
      const second = await d.syncRaw(request);
      const retried = children(child(second.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')[0]!;
      assert.equal(childText(retried, 'SyncKey', 'AirSync'), childText(lost, 'SyncKey', 'AirSync'), 'the same next key');
      const r = d.apply(notes, retried);
      assert.deepEqual(r.adds.map((a) => subjectOf(a.appData, 'Notes')).sort(), ['retry 0', 'retry 1', 'retry 2']);
      assert.notEqual(d.view(notes).syncKey, keyBefore);
      const next = await d.sync(notes);
      assert.equal(next.adds.length + next.changes.length, 0, 'nothing is sent twice');
    });

    it('a stale or garbage key gets Status 3 and changes nothing', async () => {
      const d = await readyDevice();
      const tasks = d.folderByType(7).serverId;
      await d.initialSync(tasks);
      const k1 = d.view(tasks).syncKey;
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 7)).id, class: 'Tasks', data: { subject: 'one', complete: false } });
      await d.sync(tasks);
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 7)).id, class: 'Tasks', data: { subject: 'two', complete: false } });
      await d.sync(tasks);
      const current = d.view(tasks).syncKey;
      for (const key of [k1, 'garbage', '{00000000-0000-0000-0000-000000000000}7']) {
        d.view(tasks).syncKey = key;
        const r = await d.sync(tasks);
        assert.equal(r.status, 3, `key ${key}`);
      }
      d.view(tasks).syncKey = current;
      const r = await d.sync(tasks);
      assert.equal(r.status, 1, 'the current key still works');
    });

    it('kb-2.13: SyncKey 0 resets one collection mid-stream, re-sends each item once, and is counted', async () => {
      const d = await readyDevice(BOB);
      const contacts = d.folderByType(9).serverId;
      const contactsFolder = await folder(bob, 9);
      for (let i = 0; i < 30; i++) await server.store.putItem({ userId: bob.id, folderId: contactsFolder.id, class: 'Contacts', data: { firstName: `P${i}`, lastName: 'Reset' } });
      const tasks = d.folderByType(7).serverId;
      await d.initialSync(tasks);
      const tasksKey = d.view(tasks).syncKey;
      await d.sync(contacts);
      const partial = await d.sync(contacts, { windowSize: 10 });
      assert.ok(partial.moreAvailable);
      const resetsBefore = (await server.store.getDevice(bob.id, d.client.deviceId))!.syncResets;
      const adds = await d.initialSync(contacts, { windowSize: 7 });
      assert.equal(adds.length, 30);
      assert.equal(new Set(adds.map((a) => a.serverId)).size, 30, 'every item exactly once');
      assert.equal((await server.store.getDevice(bob.id, d.client.deviceId))!.syncResets, resetsBefore + 1, 'the reset is counted');
      d.view(tasks).syncKey = tasksKey;
      assert.equal((await d.sync(tasks)).status, 1, 'the other collection was not reset');
    });

    it('kb-2.7: a replayed Add and a re-sync after SyncKey 0 create no duplicate contacts', async () => {
      const d = await readyDevice();
      const contacts = d.folderByType(9).serverId;
      const contactsFolder = await folder(alice, 9);
      await d.initialSync(contacts);
      const before = (await server.store.listChangesSince(alice.id, contactsFolder.id, 0, 10_000)).filter((i) => !i.deleted).length;
      const add = (clientId: string) => el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), contactData('Walter', 'Skinner', 'ws@example.org'));
      const r1 = await d.sync(contacts, { commands: [add('w-1')] });
      const sid1 = childText(r1.responses[0]!, 'ServerId', 'AirSync');
      // The same Add again (a phone that did not see the response replays it).
      d.view(contacts).syncKey = r1.syncKey!;
      const r2 = await d.sync(contacts, { commands: [add('w-1')] });
      assert.equal(childText(r2.responses[0]!, 'ServerId', 'AirSync'), sid1);
      // Reset, then the phone uploads its local contact again under a new ClientId.
      await d.sync(contacts, {});
      // A reset drops the device's copy of the collection (MS-ASCMD 2.2.3.177.17, Status 3 resolution).
      d.view(contacts).syncKey = '0';
      d.view(contacts).items.clear();
      await d.sync(contacts);
      const r3 = await d.sync(contacts, { commands: [add('w-2')] });
      assert.equal(childText(r3.responses[0]!, 'ServerId', 'AirSync'), sid1, 'matched to the existing contact');
      const after = (await server.store.listChangesSince(alice.id, contactsFolder.id, 0, 10_000)).filter((i) => !i.deleted).length;
      assert.equal(after, before + 1, 'one contact, not two or three');
    });

    it('kb-2.7: a device never gets its own Add or Change back when the window cuts the feed short', async () => {
      const d = await readyDevice(BOB);
      const tasks = d.folderByType(7).serverId;
      const tasksFolder = await folder(bob, 7);
      await d.initialSync(tasks);
      for (let i = 0; i < 30; i++) await server.store.putItem({ userId: bob.id, folderId: tasksFolder.id, class: 'Tasks', data: { subject: `server ${i}`, complete: false } });
      const add = el('AirSync', 'Add', el('AirSync', 'ClientId', 'own-1'), el('AirSync', 'ApplicationData', el('Tasks', 'Subject', 'mine'), el('Tasks', 'Complete', 0)));
      const first = await d.sync(tasks, { windowSize: 10, commands: [add] });
      assert.ok(first.moreAvailable);
      const mine = childText(first.responses[0]!, 'ServerId', 'AirSync')!;
      // The rest of the feed: the device's Add would come back as an Add here (Device.apply rejects that).
      const rest = await d.syncAll(tasks, { windowSize: 10 });
      assert.equal(first.adds.length + rest.length, 30, 'every server item once');
      assert.ok(!rest.some((a) => a.serverId === mine));
      // A later server change of the same item is sent, as a Change.
      const item = (await server.store.getItemByServerId(bob.id, mine))!;
      await server.store.updateItem(bob.id, item.id, { data: { ...item.data, subject: 'changed on the server' } });
      const later = await d.sync(tasks);
      assert.deepEqual(later.changes.map((c) => c.serverId), [mine]);
    });

    it('kb-2.11: a device that moves from 14.1 to 16.1 keeps syncing', async () => {
      const d = await readyDevice(ALICE, '14.1');
      const inbox = d.folderByType(2).serverId;
      await d.initialSync(inbox);
      d.client.version = '16.1';
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 2)).id, class: 'Email', data: email(500, { subject: 'after the update' }) });
      const r = await d.sync(inbox);
      assert.equal(r.status, 1);
      assert.deepEqual(r.adds.map((a) => subjectOf(a.appData)), ['after the update']);
      assert.equal((await d.folderSync()).status, 1, 'the hierarchy key still works too');
    });

    it('a FilterType change sends what entered the window and soft-deletes what left it', async () => {
      const d = await readyDevice(BOB);
      const sent = await folder(bob, 5);
      const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
      for (const [subject, hours] of [['12h', 12], ['2d', 48], ['5d', 120], ['10d', 240]] as const) {
        await server.store.putItem({ userId: bob.id, folderId: sent.id, class: 'Email', data: email(0, { subject, dateReceived: ago(hours) }) });
      }
      const collectionId = d.folderByType(5).serverId;
      const filter = (type: number) => ({ options: [el('AirSync', 'FilterType', type)] });
      const subjects = (items: Array<{ appData: WbxmlElement }>) => items.map((a) => subjectOf(a.appData)).sort();
      const bySubject = async () => new Map((await server.store.listChangesSince(bob.id, sent.id, 0, 100)).map((i) => [i.data.subject as string, i.serverId]));

      assert.deepEqual(subjects(await d.initialSync(collectionId, filter(2))), ['12h', '2d'], 'three days');
      const wider = await d.sync(collectionId, filter(3));
      assert.deepEqual(subjects(wider.adds), ['5d'], 'one week adds what entered');
      assert.equal(wider.softDeletes.length, 0);
      const narrower = await d.sync(collectionId, filter(1));
      const ids = await bySubject();
      assert.deepEqual(narrower.softDeletes.sort(), [ids.get('2d'), ids.get('5d')].sort(), 'one day soft-deletes what left');
      assert.equal(narrower.adds.length, 0);
      assert.deepEqual([...d.view(collectionId).items.keys()], [ids.get('12h')]);
      const all = await d.sync(collectionId, { ...filter(0), windowSize: 2 });
      assert.ok(all.moreAvailable, 'owed commands page through the window too');
      const rest = await d.sync(collectionId, filter(0));
      assert.deepEqual(subjects([...all.adds, ...rest.adds]), ['10d', '2d', '5d'], 'no filter brings everything');
      const quiet = await d.sync(collectionId, filter(0));
      assert.equal(quiet.adds.length + quiet.softDeletes.length + quiet.changes.length, 0);
    });

    it('a FilterType window slides with time: a day later, what aged out of it is soft-deleted', async () => {
      const d = await readyDevice(BOB);
      const drafts = await folder(bob, 3);
      const ago = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
      for (const [subject, hours] of [['12h', 12], ['84h', 84]] as const) {
        await server.store.putItem({ userId: bob.id, folderId: drafts.id, class: 'Email', data: email(0, { subject, dateReceived: ago(hours) }) });
      }
      const collectionId = d.folderByType(3).serverId;
      const filter = (type: number) => ({ options: [el('AirSync', 'FilterType', type)] });
      assert.deepEqual((await d.initialSync(collectionId, filter(3))).map((a) => subjectOf(a.appData)).sort(), ['12h', '84h'], 'one week');
      // The same window again at once: nothing aged out.
      const same = await d.sync(collectionId, filter(3));
      assert.equal(same.softDeletes.length + same.adds.length, 0);

      // As if the device had synced with a three-day window a day ago. The 84-hour-old item was
      // then 59 hours old and inside it; it is outside today's.
      const key = d.view(collectionId).syncKey;
      const saved = (await server.store.getSyncState(bob.id, d.client.deviceId, drafts.id, key))!;
      const options = { ...(saved.data.options as Record<string, unknown>), filterType: 2 };
      await server.store.saveSyncState({ userId: bob.id, deviceId: d.client.deviceId, collectionId: drafts.id, syncKey: key, data: { ...saved.data, options, windowAt: Date.now() - 25 * 3600_000 } }, [key]);

      const later = await d.sync(collectionId, filter(2));
      const ids = new Map((await server.store.listChangesSince(bob.id, drafts.id, 0, 100)).map((i) => [i.data.subject as string, i.serverId]));
      assert.deepEqual(later.softDeletes, [ids.get('84h')], 'soft-deleted: left the window as time passed (MS-ASCMD 2.2.3.167)');
      assert.equal(later.adds.length, 0);
      assert.deepEqual([...d.view(collectionId).items.keys()], [ids.get('12h')]);
      const next = await d.sync(collectionId, filter(2));
      assert.equal(next.softDeletes.length, 0, 'told once: the window was laid again now');
    });

    it('bad input gets the documented status and changes nothing', async () => {
      const d = await readyDevice();
      // Unknown collection: the hierarchy is stale (Status 12).
      d.view('no-such-folder').syncKey = '0';
      assert.equal((await d.sync('no-such-folder')).status, 12);
      // Another user's folder is unknown to this user.
      const bobsInbox = await folder(bob, 2);
      assert.notEqual(bobsInbox.serverId, undefined);
      const contacts = d.folderByType(9).serverId;
      await d.initialSync(contacts);
      const key = d.view(contacts).syncKey;
      // Malformed Options: FilterType out of range is a protocol error (Status 4) for the request.
      const bad = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(contacts, { options: [el('AirSync', 'FilterType', 99)] }))));
      assert.equal(childText(bad.wbxml!, 'Status', 'AirSync'), '4');
      assert.equal(d.view(contacts).syncKey, key);
      // Change and Delete of ServerIds that are not there (or are another user's): Status 8.
      const bobItem = await server.store.putItem({ userId: bob.id, folderId: (await folder(bob, 9)).id, class: 'Contacts', data: { firstName: 'Not', lastName: 'Yours' } });
      const r = await d.sync(contacts, {
        commands: [
          el('AirSync', 'Change', el('AirSync', 'ServerId', bobItem.serverId), contactData('Stolen', 'Data')),
          el('AirSync', 'Delete', el('AirSync', 'ServerId', 'no-such-item')),
          el('AirSync', 'Fetch', el('AirSync', 'ServerId', bobItem.serverId)),
        ],
      });
      assert.deepEqual(r.responses.map((x) => [x.name, childText(x, 'Status', 'AirSync')]), [['Change', '8'], ['Delete', '8'], ['Fetch', '8']]);
      assert.equal((await server.store.getItem(bob.id, bobItem.id))!.data.firstName, 'Not', "another user's item is untouched");
      // A body that is not a Sync at all.
      const wrong = await d.syncRaw(el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
      assert.equal(childText(wrong.wbxml!, 'Status', 'AirSync'), '4');
    });

    it('an empty Sync reuses the cached request; without one it is Status 13', async () => {
      const fresh = await readyDevice(BOB);
      const none = await fresh.syncRaw(undefined);
      assert.equal(childText(none.wbxml!, 'Status', 'AirSync'), '13');
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      await d.initialSync(notes);
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 10)).id, class: 'Notes', data: { subject: 'via empty sync' } });
      const empty = await d.syncRaw(undefined);
      const collection = children(child(empty.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')[0]!;
      const r = d.apply(notes, collection);
      assert.deepEqual(r.adds.map((a) => subjectOf(a.appData, 'Notes')), ['via empty sync']);
      // Nothing new: 14.0+ answers an empty response.
      const quiet = await d.syncRaw(undefined);
      assert.equal(quiet.status, 200);
      assert.equal(quiet.body.length, 0);
    });

    it('Wait out of bounds is Status 14 with the Limit; a held Sync answers when a change arrives', async () => {
      const d = await readyDevice();
      const inbox = d.folderByType(2).serverId;
      await d.initialSync(inbox);
      const tooLong = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox)), el('AirSync', 'Wait', 60)));
      assert.equal(childText(tooLong.wbxml!, 'Status', 'AirSync'), '14');
      assert.equal(childText(tooLong.wbxml!, 'Limit', 'AirSync'), '59');
      const started = Date.now();
      const held = d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox)), el('AirSync', 'Wait', 1)));
      await new Promise((r) => setTimeout(r, 300));
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 2)).id, class: 'Email', data: email(901, { subject: 'wake up' }) });
      const response = await held;
      assert.ok(Date.now() - started < 30_000, 'answered at the change, not at the end of the wait');
      const collection = children(child(response.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')[0]!;
      assert.deepEqual(d.apply(inbox, collection).adds.map((a) => subjectOf(a.appData)), ['wake up']);
    });

    it('GetItemEstimate agrees with what Sync sends', async () => {
      const d = await readyDevice(BOB);
      const notes = d.folderByType(10).serverId;
      await d.initialSync(notes);
      for (let i = 0; i < 5; i++) await server.store.putItem({ userId: bob.id, folderId: (await folder(bob, 10)).id, class: 'Notes', data: { subject: `estimate ${i}` } });
      const estimate = async (collectionId: string, syncKey: string) => {
        const r = await d.client.post(
          'GetItemEstimate',
          el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Collections', el('GetItemEstimate', 'Collection', el('AirSync', 'SyncKey', syncKey), el('GetItemEstimate', 'CollectionId', collectionId)))),
        );
        const response = child(r.wbxml!, 'Response', 'GetItemEstimate')!;
        return { status: childText(response, 'Status', 'GetItemEstimate'), estimate: childText(child(response, 'Collection', 'GetItemEstimate') ?? response, 'Estimate', 'GetItemEstimate') };
      };
      assert.deepEqual(await estimate(notes, d.view(notes).syncKey), { status: '1', estimate: '5' });
      const sent = await d.syncAll(notes);
      assert.equal(sent.length, 5);
      assert.deepEqual(await estimate(notes, d.view(notes).syncKey), { status: '1', estimate: '0' });
      assert.equal((await estimate('no-such-folder', d.view(notes).syncKey)).status, '2');
      assert.equal((await estimate(notes, '0')).status, '3');
      assert.equal((await estimate(notes, 'stale')).status, '4');
    });

    it('Ping: bounds, cached parameters, hierarchy changes, and a change answers a held Ping at once', async () => {
      const d = await readyDevice();
      const inbox = d.folderByType(2).serverId;
      await d.initialSync(inbox);
      const status = (r: Awaited<ReturnType<Device['ping']>>) => childText(r.wbxml!, 'Status', 'Ping');
      const fresh = device();
      assert.equal(status(await fresh.ping(undefined, undefined)), '3', 'no cached request: missing parameters');
      const short = await d.ping([inbox], 10);
      assert.equal(status(short), '5');
      assert.equal(childText(short.wbxml!, 'HeartbeatInterval', 'Ping'), '60');
      const long = await d.ping([inbox], 4000);
      assert.equal(childText(long.wbxml!, 'HeartbeatInterval', 'Ping'), '3540');
      const many = await d.ping(Array.from({ length: 301 }, () => inbox), 120);
      assert.equal(status(many), '6');
      assert.equal(childText(many.wbxml!, 'MaxFolders', 'Ping'), '300');
      assert.equal(status(await d.ping(['no-such-folder'], 120)), '7');

      const started = Date.now();
      const held = d.ping([inbox], 120);
      await new Promise((r) => setTimeout(r, 300));
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 2)).id, class: 'Email', data: email(902, { subject: 'push' }) });
      const woke = await held;
      assert.ok(Date.now() - started < 10_000);
      assert.equal(status(woke), '2');
      assert.deepEqual(children(child(woke.wbxml!, 'Folders', 'Ping')!).map((f) => f.children[0]), [inbox]);
      // Unsynced changes answer the next Ping at once, even an empty one (cached parameters).
      assert.equal(status(await d.ping(undefined, undefined)), '2');
      await d.syncAll(inbox);
      const quiet = d.ping(undefined, undefined);
      await new Promise((r) => setTimeout(r, 300));
      await server.store.putItem({ userId: alice.id, folderId: (await folder(alice, 2)).id, class: 'Email', data: email(903) });
      assert.equal(status(await quiet), '2');
    });

    if (backend === 'postgres') {
      it('Ping held by one node wakes when another node stores the change (LISTEN/NOTIFY)', async () => {
        // Node B: a second easd server on the same PostgreSQL schema.
        const otherStore: Store = await openPostgresStore(PG_TEST_URL, { schema: server.pgSchema! });
        const nodeB = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false }, requireProvisioning: false }, { store: otherStore, log: collectingLogger([], 'warn'), handlers: commandHandlers()  })).app;
        await nodeB.listen({ host: '127.0.0.1', port: 0 });
        try {
          const onA = await readyDevice();
          const contacts = onA.folderByType(9).serverId;
          await onA.initialSync(contacts);
          const address = nodeB.server.address() as AddressInfo;
          const onB = new Device({ url: `http://127.0.0.1:${address.port}`, user: ALICE.email, password: ALICE.password, deviceId: `NODEB${backend}`, deviceType: 'TestPhone' });
          assert.equal((await onB.folderSync()).status, 1);
          await onB.initialSync(contacts);

          const started = Date.now();
          const held = onA.ping([contacts], 300);
          await new Promise((r) => setTimeout(r, 300));
          const added = await onB.sync(contacts, { commands: [el('AirSync', 'Add', el('AirSync', 'ClientId', 'node-b-1'), contactData('Monica', 'Reyes'))] });
          assert.equal(childText(added.responses[0]!, 'Status', 'AirSync'), '1');
          const woke = await held;
          assert.ok(Date.now() - started < 10_000, 'answered at the change, not at the heartbeat');
          assert.equal(childText(woke.wbxml!, 'Status', 'Ping'), '2');
          const got = await onA.sync(contacts);
          assert.deepEqual(got.adds.map((a) => childText(a.appData, 'FirstName', 'Contacts')), ['Monica']);
        } finally {
          await nodeB.close();
          await otherStore.close();
        }
      });
    }
  });
}
