/**
 * Remote wipe and account-only remote wipe through a real server (MS-ASPROV 3.2.5.1.2,
 * MS-ASCMD 2.2.2 status 140): requested by the admin, delivered in Provision, acknowledged and
 * recorded with times; a wiped device stays refused until the admin removes the partnership.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDeviceState } from '../../src/devices/device-state.ts';
import { DeviceManager } from '../../src/devices/manager.ts';
import { childText } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { acknowledgeWipe, folderSyncRequest, initialRequest, provision, topStatus } from './provision-client.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`remote wipe (${backend})`, () => {
    let server: TestServer;
    let manager: DeviceManager;
    let n = 0;
    const phone = (version = '16.1') =>
      new EasClient({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `WIPE${++n}`, deviceType: 'TestPhone', version });
    const userId = () => server.users.get(ALICE.email)!.id;
    const state = async (c: EasClient) => parseDeviceState((await server.store.devices.getDeviceState(userId(), c.deviceId))?.data);

    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn', services: (store, _, mailboxes) => ({ devices: (manager = new DeviceManager(store, mailboxes, { requireProvisioning: false })) }) });
    });
    after(() => server.close());

    it('a full wipe: 140 on any command, RemoteWipe in Provision, acknowledgement recorded, refused until removed', async () => {
      const c = phone('16.1');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      await manager.requestWipe(userId(), c.deviceId, 'full');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 140);
      assert.equal(topStatus(await c.post('Sync', undefined), 'AirSync'), 140);
      const p = await provision(c);
      assert.equal(p.wipe, 'RemoteWipe');
      assert.ok((await state(c)).wipe?.sentAt);
      const ack = await acknowledgeWipe(c, 'RemoteWipe', 1);
      assert.equal(childText(ack.wbxml!, 'Status', 'Provision'), '1');
      const s = await state(c);
      assert.equal(s.wipe?.ackStatus, 1);
      assert.ok(s.wipe?.acknowledgedAt);
      assert.ok(s.wipe.requestedAt <= s.wipe.acknowledgedAt);
      // The wiped device comes back: still refused, and told to wipe again.
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 140);
      assert.equal((await provision(c)).wipe, 'RemoteWipe');
      // The admin removes the partnership: the device starts from nothing.
      await manager.removeDevice(userId(), c.deviceId);
      assert.equal(await server.store.getDevice(userId(), c.deviceId), null);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });

    it('a failed wipe is answered with the directive again', async () => {
      const c = phone('14.1');
      await c.post('FolderSync', folderSyncRequest());
      await manager.requestWipe(userId(), c.deviceId, 'full');
      assert.equal((await provision(c)).wipe, 'RemoteWipe');
      const ack = await acknowledgeWipe(c, 'RemoteWipe', 2);
      assert.ok(ack.wbxml && ack.wbxml.children.some((x) => typeof x === 'object' && 'name' in x && x.name === 'RemoteWipe'));
      assert.equal((await state(c)).wipe?.ackStatus, 2);
    });

    it('before 14.0 a pending wipe is HTTP 449, and Provision carries the directive', async () => {
      const c = phone('12.1');
      await c.post('FolderSync', folderSyncRequest());
      await manager.requestWipe(userId(), c.deviceId, 'full');
      assert.equal((await c.post('FolderSync', folderSyncRequest())).status, 449);
      const r = await c.post('Provision', initialRequest());
      assert.equal(r.status, 200);
      assert.equal((await provision(c)).wipe, 'RemoteWipe');
    });

    it('an account-only wipe (16.1): AccountOnlyRemoteWipe, acknowledged and recorded', async () => {
      const c = phone('16.1');
      await c.post('FolderSync', folderSyncRequest());
      await manager.requestWipe(userId(), c.deviceId, 'account');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 140);
      assert.equal((await provision(c)).wipe, 'AccountOnlyRemoteWipe');
      await acknowledgeWipe(c, 'AccountOnlyRemoteWipe', 1);
      const s = await state(c);
      assert.equal(s.wipe?.kind, 'account');
      assert.equal(s.wipe?.ackStatus, 1);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 140);
    });

    it('an account-only wipe cannot be told to a 14.1 device: it is refused instead of wiped entirely', async () => {
      const c = phone('14.1');
      await c.post('FolderSync', folderSyncRequest());
      await manager.requestWipe(userId(), c.deviceId, 'account');
      const r = await c.post('Provision', initialRequest());
      assert.equal(childText(r.wbxml!, 'Status', 'Provision'), '129');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 140);
    });
  });
}
