/**
 * The device manager (src/devices/manager.ts) on a real SQLite store: the gate's view is cached
 * for the cache time (one lookup per request), changes from another process are seen after it,
 * quarantine notices go out once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeDeviceState, EMPTY_STATE } from '../../src/devices/device-state.ts';
import { DeviceManager } from '../../src/devices/manager.ts';
import { StoreMailboxProvider } from '../../src/store/store-mailbox.ts';
import { openTempSqliteStore } from '../helpers/db.ts';

describe('device manager', () => {
  it('reuses a view for the cache time and sees changes made elsewhere after it', async () => {
    const t = await openTempSqliteStore();
    try {
      const store = t.store;
      let clock = new Date('2026-11-01T00:00:00Z');
      const m = new DeviceManager(store, new StoreMailboxProvider(store), { cacheTtlMs: 5000, now: () => clock });
      const u = await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
      const d = await store.upsertDevice({ userId: u.id, deviceId: 'D1', deviceType: 'Phone' });
      const first = await m.view(u, d);
      assert.equal(first.access.level, 'allow');
      assert.equal(await m.view(u, d), first, 'the same view object while fresh');
      // An admin command in another process writes the store directly.
      await store.devices.putDeviceState(u.id, 'D1', serializeDeviceState({ ...EMPTY_STATE, accessOverride: 'block' }));
      await store.devices.putPolicy('phones', {});
      await store.devices.putSetting('defaultPolicy', 'phones');
      assert.equal((await m.view(u, d)).access.level, 'allow');
      clock = new Date(clock.getTime() + 5000);
      const later = await m.view(u, d);
      assert.equal(later.access.level, 'block');
      assert.equal(later.policy.name, 'phones');
      // Through the manager, a change is seen at once.
      await m.setAccess(u.id, 'D1', 'allow');
      assert.equal((await m.view(u, d)).access.level, 'allow');
    } finally {
      await t.cleanup();
    }
  });

  it("resolves a user's policy: own assignment, then the mail domain's, then the default, then the built-in one", async () => {
    const t = await openTempSqliteStore();
    try {
      const store = t.store;
      const m = new DeviceManager(store, new StoreMailboxProvider(store), { cacheTtlMs: 0 });
      const u = await store.createUser({ email: 'a@Example.com', passwordHash: 'h' });
      assert.equal((await m.policyFor(u)).name, '(built-in)');
      await store.devices.putPolicy('all', {});
      await store.devices.putPolicy('staff', {});
      await store.devices.putPolicy('alice', {});
      await store.devices.putSetting('defaultPolicy', 'all');
      assert.equal((await m.policyFor(u)).name, 'all');
      await store.devices.putSetting('domainPolicy:example.com', 'staff');
      assert.equal((await m.policyFor(u)).name, 'staff');
      await store.devices.assignPolicy(u.id, 'alice');
      assert.equal((await m.policyFor(u)).name, 'alice');
    } finally {
      await t.cleanup();
    }
  });

  it('tells the user and the admin once when a device becomes quarantined, again after a release and a new quarantine', async () => {
    const t = await openTempSqliteStore();
    try {
      const store = t.store;
      const m = new DeviceManager(store, new StoreMailboxProvider(store), { cacheTtlMs: 0, adminEmail: 'admin@example.com' });
      const u = await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
      const admin = await store.createUser({ email: 'admin@example.com', passwordHash: 'h' });
      const d = await store.upsertDevice({ userId: u.id, deviceId: 'D1', deviceType: 'Phone' });
      await store.devices.putSetting('defaultAccess', 'quarantine');
      const inbox = async (userId: string) => {
        const f = (await store.listFolders(userId)).find((x) => x.type === 2)!;
        return store.listChangesSince(userId, f.id, 0, 100);
      };
      // Concurrent first requests share one load: one notice.
      const views = await Promise.all([m.view(u, d), m.view(u, d), m.view(u, d)]);
      assert.ok(views.every((v) => v.access.level === 'quarantine'));
      for (let i = 0; i < 3; i++) assert.equal((await m.view(u, d)).access.level, 'quarantine');
      const notes = await inbox(u.id);
      assert.equal(notes.length, 1);
      assert.equal(notes[0]!.class, 'Email');
      assert.match(String(notes[0]!.data.subject), /D1 is quarantined/);
      assert.match(String((notes[0]!.data.body as { text: string }).text), /default access level/);
      assert.equal((await inbox(admin.id)).length, 1);
      await store.devices.putSetting('defaultAccess', null);
      assert.equal((await m.view(u, d)).access.level, 'allow');
      await store.devices.putSetting('defaultAccess', 'quarantine');
      await m.view(u, d);
      assert.equal((await inbox(u.id)).length, 2);
    } finally {
      await t.cleanup();
    }
  });
});
