/**
 * Store.protection (src/store/protection-types.ts) on SQLite and PostgreSQL: throttle blocks and
 * loop flags per device for the admin view, counted, and removed with the partnership.
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
  describe(`protection store (${name})`, () => {
    const withStore = (fn: (store: Store) => Promise<void>) => withTempStore(open, fn);

    it('counts throttle blocks and loop flags per device, and forgets them with the device', () =>
      withStore(async (store) => {
        const u = await store.createUser({ email: 'a@example.com', passwordHash: 'h' });
        await store.upsertDevice({ userId: u.id, deviceId: 'D1', deviceType: 'Phone', userAgent: null, protocolVersion: '16.1' });
        await store.upsertDevice({ userId: u.id, deviceId: 'D2', deviceType: 'Phone', userAgent: null, protocolVersion: '16.1' });
        assert.equal(await store.protection.get(u.id, 'D1'), null);
        const until = new Date('2026-11-25T05:00:00.000Z');
        await store.protection.recordThrottle(u.id, 'D1', 'RecentCommands', until);
        await store.protection.recordThrottle(u.id, 'D1', 'CommandFrequency', new Date(until.getTime() + 60_000));
        await store.protection.recordLoop(u.id, 'D1', 'MeetingResponse');
        await store.protection.recordLoop(u.id, 'D2', 'SendMail');
        const p = await store.protection.get(u.id, 'D1');
        assert.ok(p);
        assert.equal(p.throttles, 2);
        assert.equal(p.lastThrottleReason, 'CommandFrequency');
        assert.equal(p.throttledUntil?.toISOString(), '2026-11-25T05:01:00.000Z');
        assert.ok(p.lastThrottleAt instanceof Date);
        assert.equal(p.loops, 1);
        assert.equal(p.lastLoopCommand, 'MeetingResponse');
        const d2 = await store.protection.get(u.id, 'D2');
        assert.equal(d2?.throttles, 0);
        assert.equal(d2?.throttledUntil, null);
        assert.equal(d2?.loops, 1);
        assert.deepEqual((await store.protection.list(u.id)).map((x) => x.deviceId), ['D1', 'D2']);
        assert.equal((await store.protection.list()).length, 2);
        await store.deleteDevice(u.id, 'D1');
        assert.equal(await store.protection.get(u.id, 'D1'), null);
        await assert.rejects(store.protection.recordLoop(u.id, 'NOPE', 'Sync'), (e) => isStoreError(e, 'not_found'));
        // A wave of blocks in one transaction; a device removed meanwhile is skipped.
        await store.protection.recordThrottles([
          { userId: u.id, deviceId: 'D2', reason: 'RecentCommands', until },
          { userId: u.id, deviceId: 'GONE', reason: 'RecentCommands', until },
          { userId: u.id, deviceId: 'D2', reason: 'CommandFrequency', until },
        ]);
        await store.protection.recordThrottles([]);
        const d2b = await store.protection.get(u.id, 'D2');
        assert.equal(d2b?.throttles, 2);
        assert.equal(d2b?.lastThrottleReason, 'CommandFrequency');
        assert.equal(await store.protection.get(u.id, 'GONE'), null);
      }));
  });
}
