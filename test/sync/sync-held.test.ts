/**
 * What a device holds decides what it is sent (src/sync/held-view.ts), end to end through the
 * device simulator on SQLite and PostgreSQL: a retried Delete or Change gets the answer the
 * first attempt got (MS-ASCMD 2.2.3.177.3: a resent request with the same key gets the same
 * answer), and a state saved before held items were recorded carries on without duplicates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Folder, JsonObject, User } from '../../src/store/types.ts';
import { child, childText, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from '../e2e/device.ts';
import { pgSkipped } from '../helpers/db.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const mail = (i: number): JsonObject => ({ subject: `m${i}`, from: 'c@example.org', to: ALICE.email, dateReceived: new Date().toISOString(), read: false });

/** The Collection element of a raw Sync response. */
const collectionOf = (wbxml: WbxmlElement | undefined) => child(child(wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')!;

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`held items decide what a device is sent (${backend})`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let server: TestServer;
    let alice: User;
    let inbox: Folder;
    let n = 0;
    const readyDevice = async () => {
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `H${backend}${++n}`, deviceType: 'TestPhone', version: '16.1' });
      assert.equal((await d.folderSync()).status, 1);
      inbox ??= (await server.store.listFolders(alice.id)).find((f) => f.type === 2)!;
      return d;
    };

    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn' });
      alice = server.users.get(ALICE.email)!;
    });
    after(async () => server?.close());

    /** Sends one Sync with `commands`, loses the answer, sends it again with the same key: both raw answers. */
    const sentTwice = async (d: Device, commands: WbxmlElement[]) => {
      const body = el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox.serverId, { commands })));
      const first = await d.syncRaw(body);
      const again = await d.syncRaw(body);
      return [collectionOf(first.wbxml), collectionOf(again.wbxml)] as const;
    };

    it('a Delete sent again with the same key gets the same answer, and its tombstone is never sent back', async () => {
      const d = await readyDevice();
      const items = [];
      for (let i = 0; i < 3; i++) items.push(await server.store.putItem({ userId: alice.id, folderId: inbox.id, class: 'Email', data: mail(i) }));
      await d.initialSync(inbox.serverId);
      const [first, again] = await sentTwice(d, [el('AirSync', 'Delete', el('AirSync', 'ServerId', items[0]!.serverId))]);
      assert.deepEqual(again, first, 'the retry is answered as the first attempt was');
      assert.equal(child(again, 'Responses', 'AirSync'), undefined, 'no Status 8 for the Delete sent again');
      d.apply(inbox.serverId, again);
      d.view(inbox.serverId).items.delete(items[0]!.serverId); // the device deleted it itself
      const next = await d.sync(inbox.serverId);
      assert.deepEqual([next.adds, next.changes, next.deletes], [[], [], []], 'nothing echoed');
    });

    it('a Change sent again with the same key gets the same answer (no conflict with its own write)', async () => {
      const d = await readyDevice();
      const item = await server.store.putItem({ userId: alice.id, folderId: inbox.id, class: 'Email', data: mail(10) });
      await d.initialSync(inbox.serverId);
      const change = el('AirSync', 'Change', el('AirSync', 'ServerId', item.serverId), el('AirSync', 'ApplicationData', el('Email', 'Read', 1)));
      const [first, again] = await sentTwice(d, [change]);
      assert.deepEqual(again, first);
      assert.equal(child(again, 'Responses', 'AirSync'), undefined, 'no Status 7 for its own Change');
      d.apply(inbox.serverId, again);
      assert.equal((await server.store.getItem(alice.id, item.id))!.data.read, true);
      const next = await d.sync(inbox.serverId);
      assert.deepEqual([next.adds, next.changes], [[], []], 'its own Change is not sent back');
    });

    it('a state saved before held items were recorded: no item is added twice, and what changed or arrived since is sent', async () => {
      const d = await readyDevice();
      const before = await server.store.listChangesSince(alice.id, inbox.id, 0, 10_000);
      const mine = [];
      for (let i = 0; i < 4; i++) mine.push(await server.store.putItem({ userId: alice.id, folderId: inbox.id, class: 'Email', data: mail(20 + i) }));
      await d.initialSync(inbox.serverId);
      const view = d.view(inbox.serverId);
      const held = [...view.items.keys()];
      // The state as the previous release wrote it: a sequence, no record of what is held.
      const states = await server.store.listSyncStates(alice.id, d.client.deviceId, inbox.id);
      const current = states.find((s) => s.syncKey === view.syncKey)!;
      const legacy = { ...current.data };
      delete legacy.held;
      // (deleteSyncStates takes the record of what it holds too; the state is saved back without it.)
      await server.store.deleteSyncStates(alice.id, d.client.deviceId, inbox.id);
      await server.store.saveSyncState({ userId: alice.id, deviceId: d.client.deviceId, collectionId: inbox.id, syncKey: view.syncKey, data: legacy }, []);
      assert.ok(held.length >= mine.length + before.filter((i) => !i.deleted).length - 1);

      await server.store.updateItem(alice.id, mine[1]!.id, { data: { ...mine[1]!.data, read: true } });
      const fresh = await server.store.putItem({ userId: alice.id, folderId: inbox.id, class: 'Email', data: mail(30) });
      const got = await d.sync(inbox.serverId, { windowSize: 512 }); // the simulator fails on an Add of an item it holds
      assert.equal(got.status, 1);
      assert.deepEqual(got.adds.map((a) => a.serverId), [fresh.serverId]);
      assert.deepEqual(got.changes.map((c) => c.serverId), [mine[1]!.serverId]);
      assert.equal(childText(got.changes[0]!.appData, 'Read', 'Email'), '1');
      const quiet = await d.sync(inbox.serverId);
      assert.deepEqual([quiet.adds, quiet.changes, quiet.deletes], [[], [], []]);
    });
  });
}
