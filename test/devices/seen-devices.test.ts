import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { SeenDevices } from '../../src/devices/seen-devices.ts';
import type { Store, User } from '../../src/store/types.ts';
import { openTempSqliteStore, type TestStore } from '../helpers/db.ts';

let temp: TestStore;
let store: Store;
let user: User;
let writes = 0;

before(async () => {
  temp = await openTempSqliteStore();
  // Count the writes that reach the store.
  store = new Proxy(temp.store, {
    get(target, prop, receiver) {
      if (prop === 'upsertDevice') {
        return async (...args: Parameters<Store['upsertDevice']>) => {
          writes++;
          return target.upsertDevice(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  user = await store.createUser({ email: 'seen@example.com', passwordHash: 'scrypt$x' });
});
after(async () => temp.cleanup());

it('writes a device when new, when its type, agent or version changes, and once a minute otherwise', async () => {
  let now = 1_000_000;
  const seen = new SeenDevices(store, 60_000, 100, () => now);
  const info = { userId: user.id, deviceId: 'D1', deviceType: 'iPhone', userAgent: 'Apple-iPhone/1', protocolVersion: '14.1' };
  writes = 0;
  await seen.seen(info);
  await seen.seen(info);
  await seen.seen(info);
  assert.equal(writes, 1, 'repeated requests within the minute write once');
  await seen.seen({ ...info, protocolVersion: '16.1' });
  assert.equal(writes, 2, 'a new protocol version is written at once (kb-2.11)');
  assert.equal((await store.getDevice(user.id, 'D1'))?.protocolVersion, '16.1');
  now += 61_000;
  await seen.seen({ ...info, protocolVersion: '16.1' });
  assert.equal(writes, 3, 'last-seen is refreshed after the minute');
  seen.forget(user.id, 'D1');
  await seen.seen({ ...info, protocolVersion: '16.1' });
  assert.equal(writes, 4, 'a forgotten device is written again');
});
