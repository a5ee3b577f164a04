/**
 * Allow/Block/Quarantine through a real server: access rules by device type, model (from
 * DeviceInformation), OS and user agent; the default access level; the admin's per-device
 * decision; quarantine notices in the user's and the admin's Inbox.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DEFAULT_ACCESS_SETTING } from '../../src/devices/access.ts';
import { parseDeviceState } from '../../src/devices/device-state.ts';
import { DeviceManager } from '../../src/devices/manager.ts';
import { EasClient } from '../helpers/eas-client.ts';
import type { TestServer } from '../helpers/server.ts';
import { ADMIN, ALICE, clearAccessRules, startAccessServer } from './access-server.ts';
import { folderSyncRequest, provision, topStatus } from './provision-client.ts';


for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`device access rules (${backend})`, () => {
    let server: TestServer;
    let manager: DeviceManager;
    let n = 0;
    const phone = (deviceType = 'TestPhone', version = '16.1', userAgent?: string) =>
      new EasClient({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `ABQ${++n}`, deviceType, version, userAgent });
    const userId = (who = ALICE) => server.users.get(who.email)!.id;
    const state = async (c: EasClient) => parseDeviceState((await server.store.devices.getDeviceState(userId(), c.deviceId))?.data);
    const inboxSubjects = async (who = ALICE) => {
      const inbox = (await server.store.listFolders(userId(who))).find((f) => f.type === 2);
      if (!inbox) return [];
      return (await server.store.listChangesSince(userId(who), inbox.id, 0, 1000)).map((i) => String(i.data.subject));
    };

    before(async () => {
      ({ server, manager } = await startAccessServer(backend));
    });
    beforeEach(() => clearAccessRules(server.store));
    after(() => server.close());

    it('quarantine then allow: a quarantined device syncs only its notice (device-quarantine.test.ts) and gets 129 for other commands, the user and the admin get a notice once, the admin allows it', async () => {
      await server.store.devices.addRule({ field: 'deviceType', pattern: 'Quarantine*', access: 'quarantine' });
      const c = phone('QuarantinePhone');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      assert.equal(topStatus(await c.post('ItemOperations', undefined), 'ItemOperations'), 129);
      const s = await state(c);
      assert.equal(s.accessState, 'quarantine');
      assert.match(s.accessReason!, /deviceType/);
      const notices = (await inboxSubjects()).filter((x) => x.includes(c.deviceId));
      assert.equal(notices.length, 1, 'one notice to the user');
      assert.equal((await inboxSubjects(ADMIN)).filter((x) => x.includes(c.deviceId)).length, 1, 'one notice to the admin');
      await manager.setAccess(userId(), c.deviceId, 'allow');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      assert.equal((await state(c)).accessState, 'allow');
    });

    it('a device blocked by a model rule (from DeviceInformation) gets 129, and 403 before 14.0', async () => {
      await server.store.devices.addRule({ field: 'model', pattern: 'OldPhone*', access: 'block' });
      const c = phone('Android', '14.1');
      // Provision always passes the gate, so the device can say what it is.
      await provision(c, { info: { Model: 'OldPhone 3', OS: 'Android 9' } });
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 129);
      assert.equal((await state(c)).accessState, 'block');
      // No notice for a block.
      assert.equal((await inboxSubjects()).filter((x) => x.includes(c.deviceId)).length, 0);

      const old = phone('OldPhoneType', '12.1');
      await server.store.devices.addRule({ field: 'deviceType', pattern: 'oldphonetype', access: 'block' });
      assert.equal((await old.post('FolderSync', folderSyncRequest())).status, 403);
    });

    it('the most restrictive matching rule wins; an admin decision wins over rules', async () => {
      await server.store.devices.addRule({ field: 'userAgent', pattern: 'Mail/*', access: 'allow' });
      await server.store.devices.addRule({ field: 'deviceType', pattern: 'iPad', access: 'block' });
      const c = phone('iPad', '16.1', 'Mail/3826');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 129);
      await manager.setAccess(userId(), c.deviceId, 'allow');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      await manager.setAccess(userId(), c.deviceId, 'block');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 129);
    });

    it('the default access level applies to devices no rule matches', async () => {
      await server.store.devices.putSetting(DEFAULT_ACCESS_SETTING, 'block');
      const c = phone('Anything');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 129);
      assert.equal((await state(c)).accessReason, 'default access level');
      await server.store.devices.addRule({ field: 'deviceType', pattern: 'Anything', access: 'allow' });
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });
  });
}
