/**
 * Quarantine through a real server (src/devices/quarantine.ts): a quarantined device connects and
 * syncs, but sees one folder, the Inbox, holding one message, the notice about itself; its own
 * changes are refused and change nothing. Once the admin allows it, its next FolderSync makes it
 * start again (Status 9) and it gets every folder and all mail. Also on the in-memory mailbox:
 * the notices reach the Inbox through the Mailbox port.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DeviceManager } from '../../src/devices/manager.ts';
import { QUARANTINE_NOTICE_FIELD } from '../../src/devices/quarantine.ts';
import { child, childText, el } from '../../src/wbxml/tree.ts';
import type { TestServer } from '../helpers/server.ts';
import { ALICE, clearAccessRules, startAccessServer } from './access-server.ts';
import { Device } from './device.ts';
import { topStatus } from './provision-client.ts';

const INBOX = 2;
const CONTACTS = 9;

const responseStatuses = (rs: { name: string; children?: unknown }[]) => rs.map((r) => `${r.name}:${childText(r as never, 'Status', 'AirSync')}`);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`device quarantine (${backend})`, () => {
    let server: TestServer;
    let manager: DeviceManager;
    let n = 0;
    const userId = () => server.users.get(ALICE.email)!.id;
    const phone = (deviceType: string) =>
      new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `QRT${backend[0]}${++n}`, deviceType, version: '16.1' });
    const folder = async (type: number) => (await server.store.listFolders(userId())).find((f) => f.type === type)!;
    const liveItems = async (type: number) => (await server.store.listChangesSince(userId(), (await folder(type)).id, 0, 1000)).filter((i) => !i.deleted);
    const put = async (type: number, cls: 'Email' | 'Contacts', data: Record<string, unknown>) =>
      server.store.putItem({ userId: userId(), folderId: (await folder(type)).id, class: cls, data: data as never });
    const subjects = (items: { appData: Parameters<typeof childText>[0] }[]) => items.map((i) => childText(i.appData, 'Subject', 'Email'));

    before(async () => {
      ({ server, manager } = await startAccessServer(backend));
    });
    beforeEach(() => clearAccessRules(server.store));
    after(() => server.close());

    it('a quarantined device sees only the Inbox and its own notice, changes nothing, and gets everything once allowed', async () => {
      await server.store.devices.addRule({ field: 'deviceType', pattern: 'Quarantine*', access: 'quarantine' });
      // Mail and a contact that exist before the device comes, and another device's notice.
      const d = phone('QuarantinePhone');
      const other = phone('QuarantinePhone');
      assert.equal((await other.folderSync()).status, 1);
      await put(INBOX, 'Email', { subject: 'Earlier mail', from: 'bob@example.com', to: ALICE.email, read: false });
      await put(CONTACTS, 'Contacts', { firstName: 'Carol', lastName: 'Example' });

      // FolderSync: only the Inbox.
      assert.equal((await d.folderSync()).status, 1);
      assert.deepEqual([...d.folders.values()].map((f) => f.type), [INBOX]);
      const inbox = d.folderByType(INBOX).serverId;

      // Sync of the Inbox: only the notice about this device.
      const adds = await d.initialSync(inbox);
      assert.equal(adds.length, 1, 'one item: the notice');
      assert.match(subjects(adds)[0]!, new RegExp(`${d.client.deviceId} is quarantined`));
      const notice = (await liveItems(INBOX)).find((i) => i.data[QUARANTINE_NOTICE_FIELD] === d.client.deviceId)!;
      assert.equal(adds[0]!.serverId, notice.serverId);

      // Its Add, Change and Delete are refused (Status 7) and change nothing.
      const before = JSON.stringify(await liveItems(INBOX));
      const r = await d.sync(inbox, {
        commands: [
          el('AirSync', 'Add', el('AirSync', 'ClientId', 'c1'), el('AirSync', 'ApplicationData', el('Email', 'Subject', 'from the device'))),
          el('AirSync', 'Change', el('AirSync', 'ServerId', notice.serverId), el('AirSync', 'ApplicationData', el('Email', 'Read', 1))),
          el('AirSync', 'Delete', el('AirSync', 'ServerId', notice.serverId)),
        ],
      });
      assert.equal(r.status, 1);
      assert.deepEqual(responseStatuses(r.responses), ['Add:7', 'Change:7', 'Delete:7']);
      assert.equal(JSON.stringify(await liveItems(INBOX)), before, 'the Inbox is unchanged');
      // A Fetch of mail it may not see is answered as for an unknown item.
      const hidden = (await liveItems(INBOX)).find((i) => i.data.subject === 'Earlier mail')!;
      const f = await d.sync(inbox, { commands: [el('AirSync', 'Fetch', el('AirSync', 'ServerId', hidden.serverId))] });
      assert.deepEqual(responseStatuses(f.responses), ['Fetch:8']);

      // Another collection: the hierarchy as the device sees it has no such folder.
      const contacts = await folder(CONTACTS);
      assert.equal((await d.sync(contacts.serverId)).status, 12);
      // GetItemEstimate counts only what the device is shown; other commands stay refused.
      const estimateOf = async (collectionId: string, syncKey: string) => {
        const res = await d.client.post(
          'GetItemEstimate',
          el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Collections', el('GetItemEstimate', 'Collection', el('AirSync', 'SyncKey', syncKey), el('GetItemEstimate', 'CollectionId', collectionId)))),
        );
        const r = child(res.wbxml!, 'Response', 'GetItemEstimate')!;
        return `${childText(r, 'Status', 'GetItemEstimate')}:${childText(child(r, 'Collection', 'GetItemEstimate')!, 'Estimate', 'GetItemEstimate') ?? ''}`;
      };
      await put(INBOX, 'Email', { subject: 'Unseen by the quarantined device', from: 'bob@example.com', to: ALICE.email });
      assert.equal(await estimateOf(inbox, d.view(inbox).syncKey), '1:0', 'new mail is not counted');
      assert.equal(await estimateOf(contacts.serverId, '1'), '2:', 'another collection is unknown');
      assert.equal(topStatus(await d.client.post('ItemOperations', undefined), 'ItemOperations'), 129);

      // Ping: a hidden folder is a hierarchy change (7); new mail in the Inbox does not wake
      // it, a notice for the device does.
      assert.equal(childText((await d.ping([contacts.serverId], 60)).wbxml!, 'Status', 'Ping'), '7');
      const hub = server.runtime.services.changes;
      const held = d.ping([inbox], 60);
      for (let i = 0; i < 200 && hub.size === 0; i++) await wait(10);
      assert.equal(hub.size, 1, 'the Ping is held');
      await put(INBOX, 'Email', { subject: 'New mail while quarantined', from: 'bob@example.com', to: ALICE.email });
      await wait(300);
      assert.equal(hub.size, 1, 'other mail does not wake it');
      await put(INBOX, 'Email', { subject: 'Another notice', [QUARANTINE_NOTICE_FIELD]: d.client.deviceId });
      assert.equal(childText((await held).wbxml!, 'Status', 'Ping'), '2');
      assert.deepEqual(subjects((await d.sync(inbox)).adds), ['Another notice']);

      // The admin allows it: the next FolderSync makes it start again, exactly once.
      const oldInboxKey = d.view(inbox).syncKey;
      await manager.setAccess(userId(), d.client.deviceId, 'allow');
      assert.equal((await d.folderSync()).status, 9);
      assert.equal((await d.sync(inbox)).status, 3, 'the collection state is reset too');
      d.folderSyncKey = '0';
      d.folders.clear();
      assert.equal((await d.folderSync()).status, 1);
      const types = [...d.folders.values()].map((x) => x.type);
      assert.ok(types.includes(INBOX) && types.includes(CONTACTS) && types.length > 5, `every folder: ${types}`);
      assert.equal((await d.folderSync()).status, 1, 'no second reset');
      const all = subjects(await d.initialSync(inbox));
      for (const s of ['Earlier mail', 'Unseen by the quarantined device', 'New mail while quarantined', 'Another notice']) assert.ok(all.includes(s), `${s} in ${all}`);
      assert.ok(all.some((s) => s?.includes(`${other.client.deviceId} is quarantined`)), "the other device's notice is ordinary mail now");
      assert.ok(oldInboxKey !== d.view(inbox).syncKey);
      assert.equal((await d.initialSync(d.folderByType(CONTACTS).serverId)).length, 1, 'the contact');
      // Its changes are applied again.
      const ok = await d.sync(inbox, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', notice.serverId), el('AirSync', 'ApplicationData', el('Email', 'Read', 1)))] });
      assert.equal(ok.status, 1);
      assert.deepEqual(responseStatuses(ok.responses), [], 'a successful Change has no response');
      assert.equal((await server.store.getItem(userId(), notice.id))!.data.read, true);
    });

    it('a synced device the admin quarantines starts again and sees only its notice; a blocked one gets 129', async () => {
      const d = phone('Ordinary');
      assert.equal((await d.folderSync()).status, 1);
      const inbox = d.folderByType(INBOX).serverId;
      await put(INBOX, 'Email', { subject: 'Seen while allowed', from: 'bob@example.com', to: ALICE.email });
      assert.ok((await d.initialSync(inbox)).length >= 1);
      await manager.setAccess(userId(), d.client.deviceId, 'quarantine');
      assert.equal((await d.folderSync()).status, 9, 'the hierarchy it has shows folders it may no longer see');
      d.folderSyncKey = '0';
      d.folders.clear();
      assert.equal((await d.folderSync()).status, 1);
      assert.deepEqual([...d.folders.values()].map((f) => f.type), [INBOX]);
      const adds = await d.initialSync(inbox);
      assert.equal(adds.length, 1);
      assert.match(subjects(adds)[0]!, new RegExp(`${d.client.deviceId} is quarantined`));
      await manager.setAccess(userId(), d.client.deviceId, 'block');
      assert.equal((await d.folderSync()).status, 129);
    });
  });
}
