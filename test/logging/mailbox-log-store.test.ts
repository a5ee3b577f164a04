/** store.mailboxLog and store.homes on SQLite and PostgreSQL (migration 0010_homes). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StoreError, type Store, type User } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore, type TestStore } from '../helpers/db.ts';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`mailbox log and homes store (${backend})`, () => {
    let t: TestStore;
    let store: Store;
    let ann: User;
    let bob: User;
    let clock = Date.parse('2026-11-20T10:00:00.000Z');
    before(async () => {
      const opts = { now: () => new Date(clock) };
      t = backend === 'sqlite' ? await openTempSqliteStore(opts) : await openTempPostgresStore(opts);
      store = t.store;
      ann = await store.createUser({ email: 'ann@example.com', passwordHash: 'x', displayName: null });
      bob = await store.createUser({ email: 'bob@example.com', passwordHash: 'x', displayName: null });
    });
    after(() => t.cleanup());

    it('turns logging on until a time, off, and lists who is logged now', async () => {
      await store.mailboxLog.enable(ann.id, new Date(clock + 3_600_000));
      assert.deepEqual((await store.mailboxLog.listEnabled()).map((s) => s.userId), [ann.id]);
      clock += 2 * 3_600_000; // past the end: logging stopped by itself
      assert.deepEqual(await store.mailboxLog.listEnabled(), []);
      assert.equal((await store.mailboxLog.getSetting(ann.id))?.until.getTime(), clock - 3_600_000);
      await store.mailboxLog.enable(ann.id, new Date(clock + 3_600_000));
      assert.equal(await store.mailboxLog.disable(ann.id), true);
      assert.equal(await store.mailboxLog.disable(ann.id), false);
      assert.deepEqual(await store.mailboxLog.listEnabled(), []);
      assert.equal(await store.mailboxLog.getSetting(bob.id), null);
      await assert.rejects(store.mailboxLog.enable('no-such-user', new Date(clock)), (e: unknown) => e instanceof StoreError && e.code === 'not_found');
    });

    it('keeps entries per user in write order, lists since a time and the newest N, prunes old ones', async () => {
      const entry = (userId: string, cmd: string) => ({ userId, deviceId: 'D1', cmd, httpStatus: 200, meta: { url: '/x' }, request: `<${cmd}/>`, response: null });
      const t0 = clock;
      for (const cmd of ['FolderSync', 'Sync', 'Ping']) await store.mailboxLog.append(entry(ann.id, cmd));
      await store.mailboxLog.append(entry(bob.id, 'Sync'));
      clock += 60_000;
      await store.mailboxLog.append(entry(ann.id, 'SendMail'));
      const all = await store.mailboxLog.list(ann.id);
      assert.deepEqual(all.map((e) => e.cmd), ['FolderSync', 'Sync', 'Ping', 'SendMail']);
      assert.deepEqual(all[0]!.meta, { url: '/x' });
      assert.equal(all[0]!.request, '<FolderSync/>');
      assert.equal(all[0]!.at.getTime(), t0);
      assert.deepEqual((await store.mailboxLog.list(ann.id, { since: new Date(t0 + 1) })).map((e) => e.cmd), ['SendMail']);
      assert.deepEqual((await store.mailboxLog.list(ann.id, { limit: 2 })).map((e) => e.cmd), ['Ping', 'SendMail']);
      assert.equal(await store.mailboxLog.prune(new Date(t0 + 1)), 4);
      assert.deepEqual((await store.mailboxLog.list(ann.id)).map((e) => e.cmd), ['SendMail']);
      assert.deepEqual(await store.mailboxLog.list(bob.id), []);
    });

    it('keeps user and domain homes; a removed user takes their home along', async () => {
      await store.homes.setUserHome(ann.id, 'https://a.example/Microsoft-Server-ActiveSync');
      await store.homes.setUserHome(ann.id, 'https://b.example/Microsoft-Server-ActiveSync');
      await store.homes.setDomainHome('Example.COM', 'https://c.example/Microsoft-Server-ActiveSync');
      let homes = await store.homes.listHomes();
      assert.deepEqual(homes.users, [{ userId: ann.id, email: 'ann@example.com', url: 'https://b.example/Microsoft-Server-ActiveSync' }]);
      assert.deepEqual(homes.domains, [{ domain: 'example.com', url: 'https://c.example/Microsoft-Server-ActiveSync' }]);
      await assert.rejects(store.homes.setUserHome('no-such-user', 'https://x.example'), (e: unknown) => e instanceof StoreError && e.code === 'not_found');
      await assert.rejects(store.homes.setDomainHome('example.com', ''), (e: unknown) => e instanceof StoreError && e.code === 'invalid');
      await store.homes.setDomainHome('example.com', null);
      await store.deleteUser(ann.id);
      homes = await store.homes.listHomes();
      assert.deepEqual(homes, { users: [], domains: [] });
    });
  });
}
