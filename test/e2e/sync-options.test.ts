/**
 * Sync options and statuses through the device simulator: conflicts, GetChanges, request-level
 * WindowSize, partial requests, HeartbeatInterval bounds, conversion errors and too many
 * collections (MS-ASCMD 2.2.1.21, statuses of 2.2.3.177.17).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Folder, User } from '../../src/store/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const USER = { email: 'opts@example.com', password: 'opts-password-1' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`Sync options and statuses (${backend})`, () => {
    let server: TestServer;
    let user: User;
    let n = 0;
    const folder = async (type: number): Promise<Folder> => (await server.store.listFolders(user.id)).find((f) => f.type === type)!;
    const readyDevice = async () => {
      const d = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: `OPT${backend}${++n}` });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };
    const collectionsOf = (root: WbxmlElement) => children(child(root, 'Collections', 'AirSync')!, 'Collection', 'AirSync');

    before(async () => {
      server = await startTestServer({ users: [USER], backend, logLevel: 'warn' });
      user = server.users.get(USER.email)!;
    });
    after(async () => server.close());

    it('a Change of an item the server changed meanwhile: server wins by default (Status 7), client wins with Conflict 0', async () => {
      const d = await readyDevice();
      const contacts = d.folderByType(9).serverId;
      const item = await server.store.putItem({ userId: user.id, folderId: (await folder(9)).id, class: 'Contacts', data: { firstName: 'Server', lastName: 'Side' } });
      await d.initialSync(contacts);
      await server.store.updateItem(user.id, item.id, { data: { firstName: 'Server', lastName: 'Changed' } });
      const change = el('AirSync', 'Change', el('AirSync', 'ServerId', item.serverId), el('AirSync', 'ApplicationData', el('Contacts', 'LastName', 'Device')));
      const r = await d.sync(contacts, { commands: [change] });
      assert.deepEqual(r.responses.map((x) => [x.name, childText(x, 'Status', 'AirSync')]), [['Change', '7']]);
      assert.equal(childText(r.changes[0]!.appData, 'LastName', 'Contacts'), 'Changed', "the server's version comes along");
      assert.equal((await server.store.getItem(user.id, item.id))!.data.lastName, 'Changed');

      await server.store.updateItem(user.id, item.id, { data: { firstName: 'Server', lastName: 'Again' } });
      const clientWins = await d.sync(contacts, { commands: [change], options: [el('AirSync', 'Conflict', 0)] });
      assert.equal(clientWins.responses.length, 0, 'a successful Change is not answered');
      assert.equal((await server.store.getItem(user.id, item.id))!.data.lastName, 'Device');
    });

    it('GetChanges 0 applies client commands but sends no server changes', async () => {
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      await d.initialSync(notes);
      await server.store.putItem({ userId: user.id, folderId: (await folder(10)).id, class: 'Notes', data: { subject: 'later' } });
      const quiet = await d.sync(notes, { getChanges: false });
      assert.equal(quiet.adds.length, 0);
      const then = await d.sync(notes);
      assert.deepEqual(then.adds.map((a) => childText(a.appData, 'Subject', 'Notes')), ['later']);
    });

    it('a request-level WindowSize caps the items of all collections together', async () => {
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      const tasks = d.folderByType(7).serverId;
      await d.initialSync(notes);
      await d.initialSync(tasks);
      for (let i = 0; i < 4; i++) {
        await server.store.putItem({ userId: user.id, folderId: (await folder(10)).id, class: 'Notes', data: { subject: `n${i}` } });
        await server.store.putItem({ userId: user.id, folderId: (await folder(7)).id, class: 'Tasks', data: { subject: `t${i}`, complete: false } });
      }
      const r = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes), d.collectionRequest(tasks)), el('AirSync', 'WindowSize', 5)));
      const results = collectionsOf(r.wbxml!).map((c) => d.apply(childText(c, 'CollectionId', 'AirSync')!, c));
      assert.equal(results.reduce((sum, x) => sum + x.adds.length, 0), 5);
      assert.ok(results.some((x) => x.moreAvailable));
      const rest = [...(await d.syncAll(notes)), ...(await d.syncAll(tasks))];
      assert.equal(rest.length, 3, 'the rest follows, nothing twice');
    });

    it('a collection left no room by the request WindowSize still says MoreAvailable', async () => {
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      const tasks = d.folderByType(7).serverId;
      await d.initialSync(notes);
      await d.initialSync(tasks);
      for (let i = 0; i < 2; i++) {
        await server.store.putItem({ userId: user.id, folderId: (await folder(10)).id, class: 'Notes', data: { subject: `full ${i}` } });
        await server.store.putItem({ userId: user.id, folderId: (await folder(7)).id, class: 'Tasks', data: { subject: `starved ${i}`, complete: false } });
      }
      const r = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes), d.collectionRequest(tasks)), el('AirSync', 'WindowSize', 2)));
      const byId = new Map(collectionsOf(r.wbxml!).map((c) => [childText(c, 'CollectionId', 'AirSync'), d.apply(childText(c, 'CollectionId', 'AirSync')!, c)]));
      assert.equal(byId.get(notes)?.adds.length, 2);
      assert.equal(byId.get(tasks)?.adds.length, 0);
      assert.equal(byId.get(tasks)?.moreAvailable, true, 'the starved collection is in the response with MoreAvailable');
      assert.equal((await d.syncAll(tasks)).length, 2);
    });

    it('a partial request names one collection and keeps the cached others', async () => {
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      const tasks = d.folderByType(7).serverId;
      await d.initialSync(notes);
      await d.initialSync(tasks);
      // A full request with both, cached by the server.
      const full = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes), d.collectionRequest(tasks))));
      for (const c of full.wbxml ? collectionsOf(full.wbxml) : []) d.apply(childText(c, 'CollectionId', 'AirSync')!, c);
      await server.store.putItem({ userId: user.id, folderId: (await folder(7)).id, class: 'Tasks', data: { subject: 'partial', complete: false } });
      const partial = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes)), el('AirSync', 'Partial')));
      const got = collectionsOf(partial.wbxml!).map((c) => [childText(c, 'CollectionId', 'AirSync'), d.apply(childText(c, 'CollectionId', 'AirSync')!, c).adds.length]);
      assert.deepEqual(got, [[tasks, 1]], 'the cached Tasks collection was synced');
    });

    it('HeartbeatInterval out of bounds is Status 14 with the Limit in seconds', async () => {
      const d = await readyDevice();
      const notes = d.folderByType(10).serverId;
      await d.initialSync(notes);
      for (const [value, limit] of [[30, '60'], [4000, '3540']] as const) {
        const r = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes)), el('AirSync', 'HeartbeatInterval', value)));
        assert.equal(childText(r.wbxml!, 'Status', 'AirSync'), '14');
        assert.equal(childText(r.wbxml!, 'Limit', 'AirSync'), limit);
      }
    });

    it('an item the class cannot take is Status 6 on its Add; the rest of the request goes through', async () => {
      const d = await readyDevice();
      const calendar = d.folderByType(8).serverId;
      await d.initialSync(calendar);
      const bad = el(
        'AirSync',
        'Add',
        el('AirSync', 'ClientId', 'bad-1'),
        el('AirSync', 'ApplicationData', el('Calendar', 'Subject', 'Backwards'), el('Calendar', 'StartTime', '20261201T100000Z'), el('Calendar', 'EndTime', '20261201T090000Z')),
      );
      const good = el('AirSync', 'Add', el('AirSync', 'ClientId', 'good-1'), el('AirSync', 'ApplicationData', el('Calendar', 'Subject', 'Forwards'), el('Calendar', 'StartTime', '20261201T090000Z'), el('Calendar', 'EndTime', '20261201T100000Z')));
      const r = await d.sync(calendar, { commands: [bad, good] });
      assert.deepEqual(r.responses.map((x) => [childText(x, 'ClientId', 'AirSync'), childText(x, 'Status', 'AirSync')]), [['bad-1', '6'], ['good-1', '1']]);
    });

    it('more than 1,000 collections in one Sync is Status 15', async () => {
      const d = await readyDevice();
      const many = Array.from({ length: 1001 }, (_, i) => el('AirSync', 'Collection', el('AirSync', 'SyncKey', '0'), el('AirSync', 'CollectionId', `c${i}`)));
      const r = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', many)));
      assert.equal(childText(r.wbxml!, 'Status', 'AirSync'), '15');
    });

    it('a 12.1 device gets every collection in the response, changed or not', async () => {
      const d = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: `OLD${backend}`, version: '12.1' });
      assert.equal((await d.folderSync()).status, 1);
      const notes = d.folderByType(10).serverId;
      await d.initialSync(notes);
      const r = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(notes))));
      const [c] = collectionsOf(r.wbxml!);
      assert.equal(childText(c!, 'Status', 'AirSync'), '1');
      assert.equal(childText(c!, 'SyncKey', 'AirSync'), d.view(notes).syncKey, 'no change keeps the key');
    });
  });
}
