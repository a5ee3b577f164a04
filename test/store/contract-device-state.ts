/**
 * The store contract for device state (DeviceStateStore in src/ports/store.ts): devices, and what
 * easd keeps per device between requests (sync states, Client Adds, sync resets, device data).
 * The tests reach the store only as a DeviceStateStore; users and folders are made for setup
 * through their owners' ports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceStateStore } from '../../src/ports/store.ts';
import { HIERARCHY_COLLECTION } from '../../src/store/types.ts';
import { rejectsWith, storeTest, type OpenStore, type PortTest } from './contract-helpers.ts';

export function runDeviceStateContract(name: string, open: OpenStore): void {
  describe(`Store contract (device state): ${name}`, () => {
    /** A test of the store as a DeviceStateStore. */
    const test: PortTest<DeviceStateStore> = (fn, opts) => storeTest(open, (fx) => fn(fx.deviceState, fx), opts);

    describe('devices', () => {
      it(
        'upserts a device, refreshing lastSeen and protocol version',
        test(async (deviceState, { clock, mkUser }) => {
          const u = await mkUser();
          const t0 = clock.now();
          const d1 = await deviceState.upsertDevice({ userId: u.id, deviceId: 'ApplF17XYZ', deviceType: 'iPhone', userAgent: 'Apple-iPhone/1', protocolVersion: '14.1' });
          assert.deepEqual(d1, {
            userId: u.id,
            deviceId: 'ApplF17XYZ',
            deviceType: 'iPhone',
            userAgent: 'Apple-iPhone/1',
            protocolVersion: '14.1',
            firstSeen: t0,
            lastSeen: t0,
            syncResets: 0,
          });

          clock.advance(90_000);
          const d2 = await deviceState.upsertDevice({ userId: u.id, deviceId: 'ApplF17XYZ', deviceType: 'iPhone', protocolVersion: '16.1' });
          assert.deepEqual(d2.firstSeen, t0);
          assert.deepEqual(d2.lastSeen, clock.now());
          assert.ok(d2.lastSeen > d1.lastSeen);
          assert.equal(d2.protocolVersion, '16.1');
          assert.equal(d2.userAgent, 'Apple-iPhone/1', 'an absent userAgent keeps the stored one');
          assert.deepEqual(await deviceState.getDevice(u.id, 'ApplF17XYZ'), d2);

          const d3 = await deviceState.upsertDevice({ userId: u.id, deviceId: 'ApplF17XYZ', deviceType: 'iPhone', userAgent: null });
          assert.equal(d3.userAgent, null);
          assert.equal(d3.protocolVersion, '16.1');
        }),
      );

      it(
        'lists and deletes devices',
        test(async (deviceState, { mkUser }) => {
          const a = await mkUser('a@example.com');
          const b = await mkUser('b@example.com');
          await deviceState.upsertDevice({ userId: a.id, deviceId: 'D2', deviceType: 'Android' });
          await deviceState.upsertDevice({ userId: a.id, deviceId: 'D1', deviceType: 'iPhone' });
          await deviceState.upsertDevice({ userId: b.id, deviceId: 'D1', deviceType: 'WindowsMail' });
          assert.deepEqual(
            (await deviceState.listDevices(a.id)).map((d) => d.deviceId),
            ['D1', 'D2'],
          );
          assert.equal((await deviceState.listDevices()).length, 3);
          assert.equal((await deviceState.getDevice(b.id, 'D1'))?.deviceType, 'WindowsMail');

          await deviceState.deleteDevice(a.id, 'D1');
          assert.equal(await deviceState.getDevice(a.id, 'D1'), null);
          assert.ok(await deviceState.getDevice(b.id, 'D1'));
          await rejectsWith(deviceState.deleteDevice(a.id, 'D1'), 'not_found');
          await rejectsWith(deviceState.upsertDevice({ userId: 'nobody', deviceId: 'D9', deviceType: 'x' }), 'not_found');
        }),
      );

      it(
        "never lets one user read or delete another user's device",
        test(async (deviceState, { mkUser }) => {
          const a = await mkUser('a@example.com');
          const b = await mkUser('b@example.com');
          await deviceState.upsertDevice({ userId: a.id, deviceId: 'DEV1', deviceType: 'iPhone' });
          assert.equal(await deviceState.getDevice(b.id, 'DEV1'), null);
          await rejectsWith(deviceState.deleteDevice(b.id, 'DEV1'), 'not_found');
          assert.ok(await deviceState.getDevice(a.id, 'DEV1'));
        }),
      );
    });

    describe('device sync data', () => {
      it(
        'saves, gets and replaces a sync state',
        test(async (deviceState, { clock, mkUser, mkFolder, mkDevice }) => {
          const u = await mkUser();
          const f = await mkFolder(u);
          await mkDevice(u);
          const t0 = clock.now();
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: '{a}1', data: { seen: ['x', 1], n: null } }, []);
          assert.deepEqual(await deviceState.getSyncState(u.id, 'DEV1', f.id, '{a}1'), {
            userId: u.id,
            deviceId: 'DEV1',
            collectionId: f.id,
            syncKey: '{a}1',
            data: { seen: ['x', 1], n: null },
            createdAt: t0,
          });
          assert.equal(await deviceState.getSyncState(u.id, 'DEV1', f.id, '{a}2'), null);
          assert.equal(await deviceState.getSyncState(u.id, 'DEV1', 'other', '{a}1'), null);

          clock.advance(1000);
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: '{a}1', data: { v: 2 } }, []);
          const replaced = await deviceState.getSyncState(u.id, 'DEV1', f.id, '{a}1');
          assert.deepEqual(replaced?.data, { v: 2 });
          assert.deepEqual(replaced?.createdAt, clock.now());

          // The folder hierarchy's states live under HIERARCHY_COLLECTION.
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: HIERARCHY_COLLECTION, syncKey: '1', data: { h: 1 } }, []);
          assert.deepEqual((await deviceState.getSyncState(u.id, 'DEV1', HIERARCHY_COLLECTION, '1'))?.data, { h: 1 });
          assert.deepEqual((await deviceState.getSyncState(u.id, 'DEV1', f.id, '{a}1'))?.data, { v: 2 });
        }),
      );

      it(
        'deleteSyncStates says how many states it removed',
        test(async (deviceState, { mkUser, mkFolder, mkDevice }) => {
          const u = await mkUser();
          const f = await mkFolder(u);
          await mkDevice(u);
          assert.equal(await deviceState.deleteSyncStates(u.id, 'DEV1', f.id), 0);
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: 'k1', data: {} }, []);
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: 'k2', data: {} }, ['k1']);
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: 'other', syncKey: 'k1', data: {} }, []);
          assert.equal(await deviceState.deleteSyncStates(u.id, 'DEV1', f.id), 2);
          assert.equal(await deviceState.deleteSyncStates(u.id, 'DEV1'), 1);
        }),
      );

      it(
        'keeps only the saved key and the keys in `keep` of that collection',
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          await mkDevice(u);
          const save = (syncKey: string, keep: string[]) =>
            deviceState.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: 'c', syncKey, data: { k: syncKey } }, keep);
          const keys = async () => {
            const out: string[] = [];
            for (const k of ['k1', 'k2', 'k3', 'k4']) if (await deviceState.getSyncState(u.id, 'DEV1', 'c', k)) out.push(k);
            return out;
          };
          await save('k1', []);
          await save('k2', ['k1']);
          assert.deepEqual(await keys(), ['k1', 'k2']);
          await save('k3', ['k2']);
          assert.deepEqual(await keys(), ['k2', 'k3']);
          // Keys in `keep` that do not exist are fine; a retried save of the current key keeps it.
          await save('k3', ['k2', 'nope']);
          assert.deepEqual(await keys(), ['k2', 'k3']);
          await save('k4', []);
          assert.deepEqual(await keys(), ['k4']);
        }),
      );

      it(
        "leaves other collections', devices' and users' states alone",
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          const v = await mkUser('v@example.com');
          await mkDevice(u, 'D1');
          await mkDevice(u, 'D2');
          await mkDevice(v, 'D1');
          const all: [string, string, string][] = [
            [u.id, 'D1', 'c1'],
            [u.id, 'D1', 'c2'],
            [u.id, 'D1', HIERARCHY_COLLECTION],
            [u.id, 'D2', 'c1'],
            [v.id, 'D1', 'c1'],
          ];
          for (const [userId, deviceId, collectionId] of all) {
            await deviceState.saveSyncState({ userId, deviceId, collectionId, syncKey: '1', data: { userId, deviceId, collectionId } }, []);
          }
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'D1', collectionId: 'c1', syncKey: '2', data: {} }, []);
          assert.equal(await deviceState.getSyncState(u.id, 'D1', 'c1', '1'), null);
          for (const [userId, deviceId, collectionId] of all.slice(1)) {
            assert.deepEqual((await deviceState.getSyncState(userId, deviceId, collectionId, '1'))?.data, { userId, deviceId, collectionId });
          }

          // One collection of one device.
          await deviceState.deleteSyncStates(u.id, 'D1', 'c2');
          assert.equal(await deviceState.getSyncState(u.id, 'D1', 'c2', '1'), null);
          assert.ok(await deviceState.getSyncState(u.id, 'D1', HIERARCHY_COLLECTION, '1'));
          assert.ok(await deviceState.getSyncState(u.id, 'D1', 'c1', '2'));
          // All collections of one device.
          await deviceState.deleteSyncStates(u.id, 'D1');
          assert.equal(await deviceState.getSyncState(u.id, 'D1', HIERARCHY_COLLECTION, '1'), null);
          assert.equal(await deviceState.getSyncState(u.id, 'D1', 'c1', '2'), null);
          assert.ok(await deviceState.getSyncState(u.id, 'D2', 'c1', '1'));
          assert.ok(await deviceState.getSyncState(v.id, 'D1', 'c1', '1'));
          // Another user's device, by its id: nothing happens.
          await deviceState.deleteSyncStates(u.id, 'D1', 'c1');
          await deviceState.deleteSyncStates(v.id, 'nope');
          assert.ok(await deviceState.getSyncState(v.id, 'D1', 'c1', '1'));
        }),
      );

      it(
        "never reads or writes another user's device states; rejects unknown devices and bad input",
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          const v = await mkUser('v@example.com');
          await mkDevice(u, 'DU');
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'DU', collectionId: 'c', syncKey: '1', data: { secret: 1 } }, []);
          assert.equal(await deviceState.getSyncState(v.id, 'DU', 'c', '1'), null);
          await rejectsWith(deviceState.saveSyncState({ userId: v.id, deviceId: 'DU', collectionId: 'c', syncKey: '2', data: {} }, []), 'not_found');
          await rejectsWith(deviceState.saveSyncState({ userId: u.id, deviceId: 'nope', collectionId: 'c', syncKey: '2', data: {} }, []), 'not_found');
          await rejectsWith(deviceState.saveSyncState({ userId: u.id, deviceId: 'DU', collectionId: 'c', syncKey: '', data: {} }, []), 'invalid');
          await rejectsWith(
            deviceState.saveSyncState({ userId: u.id, deviceId: 'DU', collectionId: 'c', syncKey: '2', data: [] as unknown as {} }, []),
            'invalid',
          );
          await deviceState.deleteSyncStates(v.id, 'DU');
          assert.deepEqual((await deviceState.getSyncState(u.id, 'DU', 'c', '1'))?.data, { secret: 1 }, 'failed saves and deletes changed nothing');
        }),
      );

      it(
        'maps Client Adds per device, collection and ClientId',
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          const v = await mkUser('v@example.com');
          await mkDevice(u, 'D1');
          await mkDevice(u, 'D2');
          await mkDevice(v, 'D1');
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid-1'), null);
          await deviceState.putClientAdd(u.id, 'D1', 'c', 'cid-1', 'item-1');
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-1');
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid-2'), null);
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c2', 'cid-1'), null);
          assert.equal(await deviceState.getClientAdd(u.id, 'D2', 'c', 'cid-1'), null);
          assert.equal(await deviceState.getClientAdd(v.id, 'D1', 'c', 'cid-1'), null);
          await deviceState.putClientAdd(v.id, 'D1', 'c', 'cid-1', 'item-v');
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-1');
          // Putting again replaces the mapping.
          await deviceState.putClientAdd(u.id, 'D1', 'c', 'cid-1', 'item-2');
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-2');
          // Mappings outlive sync states.
          await deviceState.deleteSyncStates(u.id, 'D1');
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-2');
          await rejectsWith(deviceState.putClientAdd(u.id, 'nope', 'c', 'cid-1', 'x'), 'not_found');
        }),
      );

      it(
        'counts sync resets per device',
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          const v = await mkUser('v@example.com');
          assert.equal((await mkDevice(u)).syncResets, 0);
          await mkDevice(v);
          assert.equal(await deviceState.recordSyncReset(u.id, 'DEV1'), 1);
          assert.equal(await deviceState.recordSyncReset(u.id, 'DEV1'), 2);
          assert.equal((await deviceState.getDevice(u.id, 'DEV1'))?.syncResets, 2);
          assert.equal((await deviceState.listDevices(u.id))[0]?.syncResets, 2);
          assert.equal((await mkDevice(u)).syncResets, 2, 'a refresh keeps the count');
          assert.equal((await deviceState.getDevice(v.id, 'DEV1'))?.syncResets, 0);
          await rejectsWith(deviceState.recordSyncReset(u.id, 'nope'), 'not_found');
          await rejectsWith(deviceState.recordSyncReset('nobody', 'DEV1'), 'not_found');
        }),
      );

      it(
        'keeps named device data per device',
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          const v = await mkUser('v@example.com');
          await mkDevice(u, 'D1');
          await mkDevice(u, 'D2');
          await mkDevice(v, 'D1');
          assert.equal(await deviceState.getDeviceData(u.id, 'D1', 'ping'), null);
          const ping = { heartbeat: 480, folders: [{ id: 'f1', class: 'Email' }] };
          await deviceState.putDeviceData(u.id, 'D1', 'ping', ping);
          assert.deepEqual(await deviceState.getDeviceData(u.id, 'D1', 'ping'), ping);
          await deviceState.putDeviceData(u.id, 'D1', 'ping', { heartbeat: 60 });
          assert.deepEqual(await deviceState.getDeviceData(u.id, 'D1', 'ping'), { heartbeat: 60 });
          assert.equal(await deviceState.getDeviceData(u.id, 'D1', 'sync'), null);
          assert.equal(await deviceState.getDeviceData(u.id, 'D2', 'ping'), null);
          assert.equal(await deviceState.getDeviceData(v.id, 'D1', 'ping'), null);
          await deviceState.putDeviceData(v.id, 'D1', 'ping', { other: true });
          assert.deepEqual(await deviceState.getDeviceData(u.id, 'D1', 'ping'), { heartbeat: 60 });
          await rejectsWith(deviceState.putDeviceData(u.id, 'nope', 'ping', {}), 'not_found');
          await rejectsWith(deviceState.putDeviceData('nobody', 'D1', 'ping', {}), 'not_found');
          await rejectsWith(deviceState.putDeviceData(u.id, 'D1', 'ping', null as unknown as {}), 'invalid');
        }),
      );

      it(
        "deleting a device deletes its states, data and Client Adds, not other devices'",
        test(async (deviceState, { mkUser, mkDevice }) => {
          const u = await mkUser();
          for (const d of ['D1', 'D2']) {
            await mkDevice(u, d);
            await deviceState.saveSyncState({ userId: u.id, deviceId: d, collectionId: 'c', syncKey: '1', data: {} }, []);
            await deviceState.putDeviceData(u.id, d, 'ping', { d });
            await deviceState.putClientAdd(u.id, d, 'c', 'cid', 'item');
            await deviceState.recordSyncReset(u.id, d);
          }
          await deviceState.deleteDevice(u.id, 'D1');
          // The same device coming back starts from nothing.
          assert.equal((await mkDevice(u, 'D1')).syncResets, 0);
          assert.equal(await deviceState.getSyncState(u.id, 'D1', 'c', '1'), null);
          assert.equal(await deviceState.getDeviceData(u.id, 'D1', 'ping'), null);
          assert.equal(await deviceState.getClientAdd(u.id, 'D1', 'c', 'cid'), null);
          assert.ok(await deviceState.getSyncState(u.id, 'D2', 'c', '1'));
          assert.deepEqual(await deviceState.getDeviceData(u.id, 'D2', 'ping'), { d: 'D2' });
          assert.equal(await deviceState.getClientAdd(u.id, 'D2', 'c', 'cid'), 'item');
        }),
      );
    });
  });
}
