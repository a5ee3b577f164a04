/**
 * The record of what each device holds (src/store/held-items-store.ts through the Store, and
 * src/sync/held-view.ts over it) on SQLite and PostgreSQL: versioned by sync-key generation, so
 * the previous key stays answerable; a save for a generation replaces an earlier save of it (a
 * retried request); history no kept generation sees is dropped; resets and device removal take
 * it all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Folder, Store, User } from '../../src/store/types.ts';
import { HeldView } from '../../src/sync/held-view.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, type TestStore } from '../helpers/db.ts';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`held items (${backend})`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let db: TestStore;
    let store: Store;
    let user: User;
    let folder: Folder;
    let n = 0;
    const newDevice = async () => {
      const deviceId = `D${++n}`;
      await store.upsertDevice({ userId: user.id, deviceId, deviceType: 'T' });
      return deviceId;
    };
    const save = (deviceId: string, gen: number, add: string[], remove: string[] = []) =>
      store.saveSyncState({ userId: user.id, deviceId, collectionId: folder.id, syncKey: `k${gen}`, data: {} }, [`k${gen - 1}`], { gen, keepFrom: gen - 1, add, remove });
    const heldAt = async (deviceId: string, gen: number, ids: string[]) => [...(await store.heldItems(user.id, deviceId, folder.id, gen, ids))].sort();

    before(async () => {
      db = backend === 'sqlite' ? await openTempSqliteStore() : await openTempPostgresStore();
      store = db.store;
      user = await store.createUser({ email: 'h@example.com', passwordHash: 'x' });
      folder = await store.createFolder({ userId: user.id, parentId: null, displayName: 'Inbox', type: 2 });
    });
    after(async () => db?.cleanup());

    it('answers for the current and the previous generation', async () => {
      const d = await newDevice();
      await save(d, 2, ['a', 'b']);
      await save(d, 3, ['c'], ['a']);
      assert.deepEqual(await heldAt(d, 2, ['a', 'b', 'c']), ['a', 'b']);
      assert.deepEqual(await heldAt(d, 3, ['a', 'b', 'c']), ['b', 'c']);
    });

    it('a save of a generation saved before replaces it (the retried request), and keeps what earlier generations hold', async () => {
      const d = await newDevice();
      await save(d, 2, ['a', 'b']);
      await save(d, 3, ['c'], ['a']);
      // The answer of generation 3 was lost; the retry works it out again, differently.
      await save(d, 3, ['d'], ['b']);
      assert.deepEqual(await heldAt(d, 3, ['a', 'b', 'c', 'd']), ['a', 'd']);
      assert.deepEqual(await heldAt(d, 2, ['a', 'b', 'c', 'd']), ['a', 'b']);
    });

    it('drops what no kept generation sees, and an Add of an item held already changes nothing', async () => {
      const d = await newDevice();
      await save(d, 2, ['a', 'b']);
      await save(d, 3, [], ['a']);
      await save(d, 4, ['b']); // b is held since 2: still held at 3
      assert.deepEqual(await heldAt(d, 3, ['a', 'b']), ['b']);
      assert.deepEqual(await heldAt(d, 4, ['a', 'b']), ['b']);
      await save(d, 5, ['a']); // a comes back: its old row went at generation 4's save
      assert.deepEqual(await heldAt(d, 5, ['a', 'b']), ['a', 'b']);
      assert.deepEqual(await heldAt(d, 4, ['a', 'b']), ['b']);
    });

    it('a reset (deleteSyncStates) and holdItems: the record goes with the states; holdItems holds at every generation', async () => {
      const d = await newDevice();
      await save(d, 2, ['a']);
      await store.holdItems(user.id, d, folder.id, ['x', 'y']);
      assert.deepEqual(await heldAt(d, 1, ['a', 'x', 'y']), ['x', 'y']);
      assert.deepEqual(await heldAt(d, 9, ['a', 'x', 'y']), ['a', 'x', 'y']);
      await store.deleteSyncStates(user.id, d, folder.id);
      assert.deepEqual(await heldAt(d, 9, ['a', 'x', 'y']), []);
      // An unknown device holds nothing and recording for it is no error.
      await store.holdItems(user.id, 'no-such-device', folder.id, ['a']);
      assert.deepEqual([...(await store.heldItems(user.id, 'no-such-device', folder.id, 9, ['a']))], []);
    });

    it('more ids than one statement takes', async () => {
      const d = await newDevice();
      const ids = Array.from({ length: 1234 }, (_, i) => `i${i}`);
      await save(d, 2, ids);
      await save(d, 3, [], ids.slice(0, 700));
      assert.equal((await store.heldItems(user.id, d, folder.id, 2, ids)).size, 1234);
      assert.equal((await store.heldItems(user.id, d, folder.id, 3, ids)).size, 534);
    });

    it('HeldView: the stored record plus what this answer gives and takes', async () => {
      const d = await newDevice();
      await save(d, 2, ['a', 'b']);
      const view = new HeldView(store, user.id, d, folder.id, 2);
      await view.load(['a', 'b', 'c']);
      assert.deepEqual(['a', 'b', 'c'].map((id) => view.has(id)), [true, true, false]);
      view.add('c');
      view.remove('a');
      view.remove('c'); // given and taken in one answer: nothing to record
      view.remove('b');
      view.add('b'); // taken and given back: as stored
      assert.deepEqual(['a', 'b', 'c'].map((id) => view.has(id)), [false, true, false]);
      assert.deepEqual(view.change(3), { gen: 3, keepFrom: 2, add: [], remove: ['a'] });
      assert.throws(() => view.has('never-looked-up'), /not looked up/);
    });
  });
}
