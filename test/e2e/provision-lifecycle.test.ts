/**
 * Provisioning scenarios through a real server (MS-ASPROV 3.1.5, MS-ASCMD 2.2.2): provisioning
 * from nothing on 12.1 (HTTP 449), 14.1 and 16.1 (Status 142), the policy key life cycle, a policy
 * change forcing a new provisioning (144), a wrong DeviceId, devices that cannot comply (kb-2.1)
 * and policy refresh (kb-2.12), on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeviceManager } from '../../src/devices/manager.ts';
import { parseDeviceState } from '../../src/devices/device-state.ts';
import { child, childText, children, el } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ackRequest, deviceInformation, folderSyncRequest, initialRequest, provision, topStatus } from './provision-client.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const BOB = { email: 'bob@example.com', password: 'bob-password-12' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`provisioning (${backend})`, () => {
    let server: TestServer;
    let clock = new Date('2026-11-01T00:00:00Z');
    let manager: DeviceManager;
    let n = 0;
    const phone = (version = '16.1', who = ALICE, deviceId = `PROV${backend}${++n}`) =>
      new EasClient({ url: server.url, user: who.email, password: who.password, deviceId, deviceType: 'TestPhone', version });
    const userId = (who = ALICE) => server.users.get(who.email)!.id;
    const state = async (client: EasClient, who = ALICE) =>
      parseDeviceState((await server.store.devices.getDeviceState(userId(who), client.deviceId))?.data);

    before(async () => {
      server = await startTestServer({
        users: [ALICE, BOB],
        backend,
        logLevel: 'warn',
        // The admin tools of these tests write through this manager, so no cache delay applies.
        services: (store, _, mailboxes) => ({ devices: (manager = new DeviceManager(store, mailboxes, { now: () => clock })) }),
      });
    });
    after(() => server.close());

    const strict = async (name: string, settings: Record<string, unknown> = {}) => {
      await server.store.devices.putPolicy(name, settings as never);
      await server.store.devices.assignPolicy(userId(), name);
      // As an admin change in this process would: the running server sees it at once.
      manager.invalidateAll();
    };

    it('issue 14 item 10: the built-in policy (none configured) requires provisioning, with an all-permissive document', async () => {
      await server.store.devices.assignPolicy(userId(), null);
      manager.invalidateAll();
      // 16.1 and 14.1: Status 142 in the command; 12.1: HTTP 449 (MS-ASHTTP 3.2.5.1).
      const c = phone('16.1');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 142);
      assert.equal(topStatus(await c.post('Sync', undefined), 'AirSync'), 142);
      assert.equal((await phone('12.1').post('FolderSync', folderSyncRequest())).status, 449);
      // Provisioning gives the permissive document (nothing asked of the device) and a working key.
      const p = await provision(c);
      assert.equal(p.status, 1);
      assert.ok(p.finalKey);
      assert.equal(childText(p.doc!, 'DevicePasswordEnabled', 'Provision'), '0');
      assert.equal(childText(p.doc!, 'RequireDeviceEncryption', 'Provision'), '0');
      assert.equal(childText(p.doc!, 'AllowCamera', 'Provision'), '1');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      // So the device has a policy key and can be remote-wiped.
      assert.equal((await state(c)).policyKey, p.finalKey);
    });

    it('AllowNonProvisionableDevices lets a device that never provisions sync; a device that started provisioning is held to it', async () => {
      await strict('loose', { AllowNonProvisionableDevices: true });
      const legacy = phone('14.1');
      // No X-MS-PolicyKey and never a Provision: let in.
      assert.equal(topStatus(await legacy.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      // A device that sends "0" (it provisions) is told to.
      const modern = phone('16.1');
      assert.equal(topStatus(await modern.post('FolderSync', folderSyncRequest(), { headers: { 'X-MS-PolicyKey': '0' } }), 'FolderHierarchy'), 142);
      // One that got a temporary key and stopped is not let in without its final key.
      const first = await modern.post('Provision', initialRequest());
      assert.equal(topStatus(first, 'Provision'), 1);
      assert.equal(topStatus(await modern.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 142);
      assert.equal((await provision(modern)).status, 1);
      assert.equal(topStatus(await modern.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });

    it('12.1 from nothing: HTTP 449, then Provision with the 12.1 policy document, then sync', async () => {
      await strict('phones', { DevicePasswordEnabled: true, MinDevicePasswordLength: 6, AllowCamera: false });
      const c = phone('12.1');
      const refused = await c.post('FolderSync', folderSyncRequest());
      assert.equal(refused.status, 449);
      const p = await provision(c);
      assert.equal(p.status, 1);
      assert.notEqual(p.tempKey, p.finalKey);
      const names = children(p.doc!).map((e) => e.name);
      // Schema order (MS-ASPROV 2.2.2.28), 12.1 elements included.
      assert.deepEqual(names.slice(0, 6), [
        'DevicePasswordEnabled',
        'AlphanumericDevicePasswordRequired',
        'PasswordRecoveryEnabled',
        'RequireStorageCardEncryption',
        'AttachmentsEnabled',
        'MinDevicePasswordLength',
      ]);
      assert.equal(names.at(-1), 'ApprovedApplicationList');
      assert.equal(childText(p.doc!, 'DevicePasswordEnabled', 'Provision'), '1');
      assert.equal(childText(p.doc!, 'MinDevicePasswordLength', 'Provision'), '6');
      assert.equal(childText(p.doc!, 'AllowCamera', 'Provision'), '0');
      // No limit is an empty element.
      assert.deepEqual(child(p.doc!, 'MaxAttachmentSize', 'Provision')!.children, []);
      const ok = await c.post('FolderSync', folderSyncRequest());
      assert.equal(ok.status, 200);
      assert.equal(topStatus(ok, 'FolderHierarchy'), 1);
    });

    it('12.0 gets only the settings 12.0 has', async () => {
      await strict('phones', { DevicePasswordEnabled: true });
      const c = phone('12.0');
      const p = await provision(c);
      const names = children(p.doc!).map((e) => e.name);
      assert.ok(names.includes('DevicePasswordHistory'));
      assert.ok(!names.includes('AllowCamera'));
      assert.ok(!names.includes('RequireStorageCardEncryption'));
    });

    it('14.1 from nothing: Status 142 in the command, Provision with DeviceInformation, then sync', async () => {
      await strict('phones');
      const c = phone('14.1');
      const refused = await c.post('FolderSync', folderSyncRequest());
      assert.equal(refused.status, 200);
      assert.equal(topStatus(refused, 'FolderHierarchy'), 142);
      const sync = await c.post('Sync', undefined);
      assert.equal(topStatus(sync, 'AirSync'), 142);
      const p = await provision(c, { info: { Model: 'Pixel 9', OS: 'Android 16', IMEI: '356938035643809', FriendlyName: 'Work phone' } });
      assert.equal(p.status, 1);
      const info = await server.store.getDeviceData(userId(), c.deviceId, 'deviceInformation');
      assert.deepEqual(info, { Model: 'Pixel 9', OS: 'Android 16', IMEI: '356938035643809', FriendlyName: 'Work phone' });
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });

    it('a device may send Settings (DeviceInformation) before it provisions; other commands wait', async () => {
      await strict('phones');
      const c = phone('14.0');
      const settings = await c.post('Settings', el('Settings', 'Settings', deviceInformation({ Model: 'Lumia 950', OS: 'Windows 10' })));
      assert.equal(topStatus(settings, 'Settings'), 1);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 142);
    });

    it('16.1 from nothing, with the policy key in the base64 query form', async () => {
      await strict('phones');
      const c = phone('16.1');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest(), { form: 'base64' }), 'FolderHierarchy'), 142);
      const p = await provision(c);
      assert.equal(p.status, 1);
      const ok = await c.post('FolderSync', folderSyncRequest(), { form: 'base64' });
      assert.equal(topStatus(ok, 'FolderHierarchy'), 1);
    });

    it('the policy key life cycle: the temporary key is not a key, a wrong key is invalid, acknowledging a wrong key is Policy Status 5', async () => {
      await strict('phones');
      const c = phone('16.1');
      const first = await c.post('Provision', initialRequest());
      const temp = childText(child(child(first.wbxml!, 'Policies', 'Provision')!, 'Policy', 'Provision')!, 'PolicyKey', 'Provision')!;
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest(), { params: { policyKey: temp } }), 'FolderHierarchy'), 142);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest(), { params: { policyKey: '0' } }), 'FolderHierarchy'), 142);
      const wrongAck = await c.post('Provision', ackRequest(temp === '12345' ? '54321' : '12345', 1));
      assert.equal(childText(child(child(wrongAck.wbxml!, 'Policies', 'Provision')!, 'Policy', 'Provision')!, 'Status', 'Provision'), '5');
      const p = await provision(c);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest(), { params: { policyKey: p.finalKey === '12345' ? '54321' : '12345' } }), 'FolderHierarchy'), 144);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });

    it('a policy change makes provisioned devices provision again (144), after which they sync', async () => {
      await strict('phones');
      const c = phone('14.1');
      await provision(c);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      await server.store.devices.putPolicy('phones', { MinDevicePasswordLength: 8 });
      manager.invalidateAll();
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 144);
      const p = await provision(c);
      assert.equal(childText(p.doc!, 'MinDevicePasswordLength', 'Provision'), '8');
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });

    it("a wrong DeviceId cannot take over another device's partnership with its policy key", async () => {
      await strict('phones');
      await server.store.devices.assignPolicy(userId(BOB), 'phones');
      manager.invalidateAll();
      const a = phone('16.1');
      const p = await provision(a);
      const intruder = phone('16.1');
      intruder.policyKey = p.finalKey;
      // Another device's key is not a key of this device: invalid (144), so it must provision itself.
      assert.equal(topStatus(await intruder.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 144);
      // Nor under another user with the same DeviceId.
      const bobSame = phone('16.1', BOB, a.deviceId);
      bobSame.policyKey = p.finalKey;
      assert.equal(topStatus(await bobSame.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 144);
      // The intruder's attempts changed nothing of the real device's state.
      assert.equal((await state(a)).policyKey, p.finalKey);
      assert.equal(topStatus(await a.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });

    it("a wrong DeviceId cannot use another device's sync keys either", async () => {
      await server.store.devices.putPolicy('open', { RequireProvisioning: false });
      await server.store.devices.assignPolicy(userId(BOB), 'open');
      manager.invalidateAll();
      const a = phone('16.1', BOB);
      const first = await a.post('FolderSync', folderSyncRequest());
      const key = childText(first.wbxml!, 'SyncKey', 'FolderHierarchy')!;
      const b = phone('16.1', BOB);
      // MS-ASCMD 2.2.3.177.5: an unknown key is Status 9; B's own partnership has no such key.
      assert.equal(topStatus(await b.post('FolderSync', folderSyncRequest(key)), 'FolderHierarchy'), 9);
      const again = await a.post('FolderSync', folderSyncRequest(key));
      assert.equal(topStatus(again, 'FolderHierarchy'), 1, "A's partnership is untouched");
    });

    it('malformed Provision requests get Status 2 (or Policy Status 3 for an unknown PolicyType), never a crash', async () => {
      await strict('phones');
      const c = phone('14.1');
      const P = 'Provision';
      const top = async (body?: Parameters<EasClient['post']>[1]) => topStatus(await c.post('Provision', body), P);
      assert.equal(await top(undefined), 2);
      assert.equal(await top(el('FolderHierarchy', 'FolderSync')), 2);
      assert.equal(await top(el(P, 'Provision', el(P, 'Policies'))), 2);
      assert.equal(await top(el(P, 'Provision', el(P, 'RemoteWipe', el(P, 'Status', 1)))), 2, 'no wipe was requested');
      const wap = await c.post('Provision', el(P, 'Provision', el(P, 'Policies', el(P, 'Policy', el(P, 'PolicyType', 'MS-WAP-Provisioning-XML')))));
      assert.equal(childText(child(child(wap.wbxml!, 'Policies', P)!, 'Policy', P)!, 'Status', P), '3');
      const first = await c.post('Provision', initialRequest());
      const temp = childText(child(child(first.wbxml!, 'Policies', P)!, 'Policy', P)!, 'PolicyKey', P)!;
      assert.equal(await top(ackRequest(temp, 7)), 2);
      assert.equal(await top(el(P, 'Provision', el(P, 'Policies', el(P, 'Policy', el(P, 'PolicyType', 'MS-EAS-Provisioning-WBXML'), el(P, 'PolicyKey', 'x'.repeat(50)), el(P, 'Status', 1))))), 2);
      // The temporary key is still good after the bad attempts.
      assert.equal(await top(ackRequest(temp, 1)), 1);
    });

    it('kb-2.1: a device that cannot meet the policy gets 139, the reason is stored, and AllowNonProvisionableDevices lets it in', async () => {
      await strict('strict', { RequireDeviceEncryption: true });
      const c = phone('14.1');
      const p = await provision(c, { ackStatus: 2 });
      assert.equal(p.status, 139);
      assert.equal(p.finalKey, undefined);
      const s = await state(c);
      assert.equal(s.refusedStatus, 139);
      assert.match(s.complianceReason!, /partially/);
      // Every other command gets the same answer until the admin decides.
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 139);
      // 12.1 has no status above 100: HTTP 403.
      const old = phone('12.1');
      const p12 = await provision(old, { ackStatus: 2 });
      assert.equal(p12.status, 403);
      assert.equal((await old.post('FolderSync', folderSyncRequest())).status, 403);
      // A device provisioned by a third party: 145.
      const managed = phone('16.1');
      assert.equal((await provision(managed, { ackStatus: 4 })).status, 145);
      assert.equal(topStatus(await managed.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 145);
      // The admin allows devices that cannot comply: the device provisions again and syncs; the reason stays visible.
      await server.store.devices.putPolicy('strict', { RequireDeviceEncryption: true, AllowNonProvisionableDevices: true });
      manager.invalidateAll();
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 142);
      const again = await provision(c, { ackStatus: 2 });
      assert.equal(again.status, 1);
      assert.ok(again.finalKey);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
      assert.match((await state(c)).complianceReason!, /partially.*allowed/);
    });

    it('kb-2.12: no refresh by default; with an interval, 143; a device that ignores it is flagged and the policy decides', async () => {
      await strict('refresh');
      const c = phone('16.1');
      await provision(c);
      clock = new Date(clock.getTime() + 400 * 86_400_000);
      manager.invalidateAll();
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1, 'unlimited by default');

      await strict('refresh', { PolicyRefreshInterval: 3600, IgnoredRefreshLimit: 2 });
      await provision(c);
      clock = new Date(clock.getTime() + 3601_000);
      manager.invalidateAll();
      // The device keeps ignoring 143: after IgnoredRefreshLimit answers it is flagged; the default action allows it.
      for (let i = 0; i < 3; i++) assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 143);
      const flagged = await state(c);
      assert.ok(flagged.ignoresRefreshSince, 'flagged');
      assert.equal(flagged.refreshRequests, 3);
      assert.equal(topStatus(await c.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1, 'allowed while flagged');

      // The same with IgnoredRefreshAction block: the flagged device is blocked (129).
      await strict('refresh', { PolicyRefreshInterval: 3600, IgnoredRefreshLimit: 2, IgnoredRefreshAction: 'block' });
      const d = phone('14.1');
      await provision(d);
      clock = new Date(clock.getTime() + 3601_000);
      for (let i = 0; i < 3; i++) assert.equal(topStatus(await d.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 143);
      assert.equal(topStatus(await d.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 129);
      // Provisioning again clears the flag.
      await provision(d);
      const cleared = await state(d);
      assert.equal(cleared.ignoresRefreshSince, null);
      assert.equal(topStatus(await d.post('FolderSync', folderSyncRequest()), 'FolderHierarchy'), 1);
    });
  });
}
