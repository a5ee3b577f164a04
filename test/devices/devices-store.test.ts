/**
 * Contract of Store.devices (src/store/devices-types.ts) on SQLite and PostgreSQL: policies with
 * revisions, assignments, settings, access rules, device states and their cascades.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStoreError, type Store } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore, type TestStore, withTempStore } from '../helpers/db.ts';

const backends: Array<[string, () => Promise<TestStore>]> = [
  ['sqlite', () => openTempSqliteStore()],
  ['postgres', () => openTempPostgresStore()],
];

for (const [name, open] of backends) {
  describe(`devices store (${name})`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withTempStore(open, fn);

    it('keeps named policies with a revision that grows with every change', () =>
      withStore(async (store) => {
        const a = await store.devices.putPolicy('phones', { DevicePasswordEnabled: true });
        assert.equal(a.revision, 1);
        const b = await store.devices.putPolicy('phones', { DevicePasswordEnabled: true, MinDevicePasswordLength: 6 });
        assert.equal(b.revision, 2);
        assert.deepEqual((await store.devices.getPolicy('phones'))?.settings, { DevicePasswordEnabled: true, MinDevicePasswordLength: 6 });
        await store.devices.putPolicy('alpha', {});
        assert.deepEqual((await store.devices.listPolicies()).map((p) => p.name), ['alpha', 'phones']);
        await assert.rejects(store.devices.putPolicy(' ', {}), (e) => isStoreError(e, 'invalid'));
        await store.devices.deletePolicy('alpha');
        assert.equal(await store.devices.getPolicy('alpha'), null);
        await assert.rejects(store.devices.deletePolicy('alpha'), (e) => isStoreError(e, 'not_found'));
      }));

    it('assigns policies to users; the assignment goes with the policy and the user', () =>
      withStore(async (store) => {
        const u = await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
        await store.devices.putPolicy('phones', {});
        await store.devices.putPolicy('tablets', {});
        await store.devices.assignPolicy(u.id, 'phones');
        assert.equal(await store.devices.getAssignedPolicy(u.id), 'phones');
        await store.devices.assignPolicy(u.id, 'tablets');
        assert.equal(await store.devices.getAssignedPolicy(u.id), 'tablets');
        await assert.rejects(store.devices.assignPolicy(u.id, 'nope'), (e) => isStoreError(e, 'not_found'));
        await assert.rejects(store.devices.assignPolicy('no-user', 'phones'), (e) => isStoreError(e, 'not_found'));
        await store.devices.deletePolicy('tablets');
        assert.equal(await store.devices.getAssignedPolicy(u.id), null);
        await store.devices.assignPolicy(u.id, 'phones');
        await store.devices.assignPolicy(u.id, null);
        assert.equal(await store.devices.getAssignedPolicy(u.id), null);
      }));

    it('keeps settings and access rules', () =>
      withStore(async (store) => {
        assert.equal(await store.devices.getSetting('defaultAccess'), null);
        await store.devices.putSetting('defaultAccess', 'quarantine');
        await store.devices.putSetting('defaultAccess', 'block');
        assert.equal(await store.devices.getSetting('defaultAccess'), 'block');
        await store.devices.putSetting('defaultAccess', null);
        assert.equal(await store.devices.getSetting('defaultAccess'), null);
        await store.devices.putSetting('domainPolicy:b.example', 'x');
        await store.devices.putSetting('domainPolicy:a.example', 'y');
        await store.devices.putSetting('domainPolicyX', 'z');
        await store.devices.putSetting('domain_policy:c', 'w');
        assert.deepEqual(await store.devices.listSettings('domainPolicy:'), [
          { name: 'domainPolicy:a.example', value: 'y' },
          { name: 'domainPolicy:b.example', value: 'x' },
        ]);
        const r1 = await store.devices.addRule({ field: 'deviceType', pattern: 'iPhone', access: 'allow' });
        const r2 = await store.devices.addRule({ field: 'model', pattern: 'Pixel*', access: 'block' });
        assert.deepEqual((await store.devices.listRules()).map((r) => r.id).sort(), [r1.id, r2.id].sort());
        await store.devices.removeRule(r1.id);
        assert.deepEqual((await store.devices.listRules()).map((r) => r.pattern), ['Pixel*']);
        await assert.rejects(store.devices.removeRule(r1.id), (e) => isStoreError(e, 'not_found'));
        await assert.rejects(store.devices.addRule({ field: '', pattern: 'x', access: 'allow' }), (e) => isStoreError(e, 'invalid'));
      }));

    it('keeps one state per device of a user; it goes with the device and is not another user\'s', () =>
      withStore(async (store) => {
        const a = await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
        const b = await store.createUser({ email: 'b@example.com', passwordHash: 'h' });
        await store.upsertDevice({ userId: a.id, deviceId: 'D1', deviceType: 'x' });
        await store.upsertDevice({ userId: b.id, deviceId: 'D1', deviceType: 'x' });
        await assert.rejects(store.devices.putDeviceState(a.id, 'NOPE', {}), (e) => isStoreError(e, 'not_found'));
        await store.devices.putDeviceState(a.id, 'D1', { policyKey: '1' });
        await store.devices.putDeviceState(a.id, 'D1', { policyKey: '2' });
        assert.deepEqual((await store.devices.getDeviceState(a.id, 'D1'))?.data, { policyKey: '2' });
        assert.equal(await store.devices.getDeviceState(b.id, 'D1'), null);
        await store.devices.putDeviceState(b.id, 'D1', { policyKey: '9' });
        assert.equal((await store.devices.listDeviceStates()).length, 2);
        assert.deepEqual((await store.devices.listDeviceStates(a.id)).map((s) => s.data), [{ policyKey: '2' }]);
        await store.deleteDevice(a.id, 'D1');
        assert.equal(await store.devices.getDeviceState(a.id, 'D1'), null);
        await store.deleteUser(b.id);
        assert.equal((await store.devices.listDeviceStates()).length, 0);
      }));
  });
}
