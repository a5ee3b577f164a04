/**
 * The kb-2.7 matcher for contacts added by two devices (src/sync/recent-adds.ts) against a real
 * store on SQLite and PostgreSQL, with a fake clock: inside the window a copy matches, outside it
 * does not; items the device already has or wrote itself never match.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contactsConverter } from '../../src/classes/contacts.ts';
import type { Folder, Store, User } from '../../src/store/types.ts';
import { HeldView } from '../../src/sync/held-view.ts';
import { RECENT_ADD_WINDOW_MS, RecentAddMatcher } from '../../src/sync/recent-adds.ts';
import { StoreMailbox } from '../../src/store/store-mailbox.ts';
import { openTempPostgresStore, openTempSqliteStore, type TestStore } from '../helpers/db.ts';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const JANE = { firstName: 'Jane', lastName: 'Doe', email1Address: 'jane@example.com' };

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`recent contact Adds from a second device (${backend})`, () => {
    let db: TestStore;
    let store: Store;
    let clock = T0;
    let user: User;
    let folder: Folder;

    before(async () => {
      db = backend === 'sqlite' ? await openTempSqliteStore({ now: () => clock }) : await openTempPostgresStore({ now: () => clock });
      store = db.store;
      user = await store.createUser({ email: 'a@example.com', passwordHash: 'x' });
      folder = await store.createFolder({ userId: user.id, parentId: null, displayName: 'Contacts', type: 9 });
    });
    after(async () => db.cleanup());

    it('matches inside the window, not outside it, and never what the device has', async () => {
      clock = T0;
      const old = await store.putItem({ userId: user.id, folderId: folder.id, class: 'Contacts', data: { ...JANE, firstName: 'Old' } });
      const since = old.modseq; // the device has everything up to here
      const recent = await store.putItem({ userId: user.id, folderId: folder.id, class: 'Contacts', data: JANE });

      // What the device holds: nothing yet (a fresh view each time), or its own write.
      const none = () => new HeldView(store, user.id, 'dev1', folder.id, 1);
      const ownWrite = new HeldView(store, user.id, 'dev1', folder.id, 1);
      ownWrite.add(recent.id);
      const at = (ms: number) => new RecentAddMatcher(new StoreMailbox(store, user.id), folder, contactsConverter, since, new Date(T0.getTime() + ms));
      assert.equal(await at(60_000).find({ ...JANE, firstName: ' JANE ' }, none()), recent.id);
      assert.equal(await at(RECENT_ADD_WINDOW_MS + 1000).find(JANE, none()), undefined, 'outside the window');
      assert.equal(await at(60_000).find(JANE, ownWrite), undefined, "the device's own write");
      // An item the device already has (at or before its sequence) is never matched.
      assert.equal(await at(60_000).find({ ...JANE, firstName: 'Old' }, none()), undefined);
      assert.equal(await new RecentAddMatcher(new StoreMailbox(store, user.id), folder, contactsConverter, recent.modseq, T0).find(JANE, none()), undefined);
      // Different contacts do not match.
      assert.equal(await at(60_000).find({ ...JANE, email1Address: 'other@example.com' }, none()), undefined);
    });
  });
}
