/**
 * The store contract for mailbox content (ContentStore in src/ports/store.ts): folders, items,
 * isolation between users and change notifications, for every user by user id. The EAS engine
 * reaches content through the Mailbox port, whose own contract (test/ports/mailbox-contract.ts)
 * runs over StoreMailbox; this one is the SQL store's side. The tests reach the store only as a
 * ContentStore; the other owners' ports appear for setup and where a promise of this one reaches
 * them (deleting a folder drops its sync states and Client Adds).
 *
 * The items tests are in contract-content-items.ts (no file over 500 lines).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContentStore } from '../../src/ports/store.ts';
import { isStoreError, type ChangeEvent } from '../../src/store/types.ts';
import { contentItemTests } from './contract-content-items.ts';
import { byKey, NOTIFY_TIMEOUT_MS, rejectsWith, storeTest, watchChanges, type OpenStore, type PortTest } from './contract-helpers.ts';

export function runContentContract(name: string, open: OpenStore): void {
  describe(`Store contract (content): ${name}`, () => {
    /** A test of the store as a ContentStore. */
    const test: PortTest<ContentStore> = (fn, opts) => storeTest(open, (fx) => fn(fx.content, fx), opts);

    describe('folders', () => {
      it(
        'creates, lists, gets and finds folders by serverId',
        test(async (content, { clock, mkUser, mkFolder }) => {
          const u = await mkUser();
          const inbox = await mkFolder(u, 'Inbox', null, 2);
          clock.advance(1000);
          const sub = await content.createFolder({ userId: u.id, parentId: inbox.id, displayName: 'Receipts', type: 12, serverId: 'f-7' });

          assert.equal(inbox.serverId, inbox.id, 'serverId defaults to the id');
          assert.equal(inbox.parentId, null);
          assert.equal(inbox.type, 2);
          assert.equal(inbox.modseq, 0);
          assert.equal(inbox.deleted, false);
          assert.equal(typeof inbox.hierarchyModseq, 'number');
          assert.deepEqual(inbox.createdAt, new Date('2025-03-01T08:00:00.000Z'));
          assert.equal(sub.serverId, 'f-7');
          assert.equal(sub.parentId, inbox.id);

          assert.deepEqual(await content.listFolders(u.id), [inbox, sub]);
          assert.deepEqual(await content.getFolder(u.id, sub.id), sub);
          assert.deepEqual(await content.getFolderByServerId(u.id, 'f-7'), sub);
          assert.equal(await content.getFolderByServerId(u.id, 'f-8'), null);
          assert.equal(await content.getFolder(u.id, 'no-such-id'), null);
        }),
      );

      it(
        'rejects a taken serverId, a missing parent, a missing user and bad input',
        test(async (content, { mkUser }) => {
          const u = await mkUser();
          const v = await mkUser('v@example.com');
          await content.createFolder({ userId: u.id, parentId: null, displayName: 'A', type: 1, serverId: 's1' });
          await rejectsWith(content.createFolder({ userId: u.id, parentId: null, displayName: 'B', type: 1, serverId: 's1' }), 'conflict');
          // serverIds are per user.
          await content.createFolder({ userId: v.id, parentId: null, displayName: 'B', type: 1, serverId: 's1' });
          await rejectsWith(content.createFolder({ userId: u.id, parentId: 'nope', displayName: 'C', type: 1 }), 'not_found');
          await rejectsWith(content.createFolder({ userId: 'nobody', parentId: null, displayName: 'C', type: 1 }), 'not_found');
          await rejectsWith(content.createFolder({ userId: u.id, parentId: null, displayName: '', type: 1 }), 'invalid');
          await rejectsWith(content.createFolder({ userId: u.id, parentId: null, displayName: 'D', type: 1.5 }), 'invalid');
          assert.equal((await content.listFolders(u.id)).length, 1);
        }),
      );

      it(
        'with uniqueName, refuses a live sibling of the same name (case-insensitive), also when two creates race',
        test(async (content, { mkUser }) => {
          const u = await mkUser();
          const parent = await content.createFolder({ userId: u.id, parentId: null, displayName: 'Projects', type: 12 });
          // Racing: both looked before either wrote; exactly one may win.
          const raced = await Promise.allSettled([
            content.createFolder({ userId: u.id, parentId: parent.id, displayName: 'Acme', type: 12, uniqueName: true }),
            content.createFolder({ userId: u.id, parentId: parent.id, displayName: 'ACME', type: 12, uniqueName: true }),
          ]);
          assert.deepEqual(raced.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
          const lost = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
          assert.ok(isStoreError(lost.reason, 'conflict'), String(lost.reason));
          await rejectsWith(content.createFolder({ userId: u.id, parentId: null, displayName: 'projects', type: 12, uniqueName: true }), 'conflict');
          // Elsewhere, or once the sibling is deleted, the name is free; without the flag nothing is checked.
          const other = await content.createFolder({ userId: u.id, parentId: null, displayName: 'Acme', type: 12, uniqueName: true });
          const acme = (await content.listFolders(u.id)).find((f) => f.parentId === parent.id)!;
          await content.deleteFolder(u.id, acme.id);
          await content.createFolder({ userId: u.id, parentId: parent.id, displayName: 'acme', type: 12, uniqueName: true });
          // Renames and moves: into a clash refused, onto its own name (another case) allowed.
          await rejectsWith(content.updateFolder(u.id, other.id, { parentId: parent.id, uniqueName: true }), 'conflict');
          await rejectsWith(content.updateFolder(u.id, other.id, { displayName: 'PROJECTS', uniqueName: true }), 'conflict');
          assert.equal((await content.updateFolder(u.id, other.id, { displayName: 'ACME', uniqueName: true })).displayName, 'ACME');
          assert.equal((await content.getFolder(u.id, other.id))!.parentId, null, 'the refused move changed nothing');
        }),
      );

      it(
        'updates a folder: rename, retype, move; refuses cycles',
        test(async (content, { clock, mkUser, mkFolder }) => {
          const u = await mkUser();
          const a = await mkFolder(u, 'A');
          const b = await mkFolder(u, 'B', a.id);
          const c = await mkFolder(u, 'C', b.id);
          clock.advance(5000);

          const renamed = await content.updateFolder(u.id, b.id, { displayName: 'B2', type: 13 });
          assert.equal(renamed.displayName, 'B2');
          assert.equal(renamed.type, 13);
          assert.equal(renamed.parentId, a.id);
          assert.deepEqual(renamed.updatedAt, clock.now());
          assert.deepEqual(renamed.createdAt, b.createdAt);

          const moved = await content.updateFolder(u.id, c.id, { parentId: null });
          assert.equal(moved.parentId, null);
          assert.equal((await content.updateFolder(u.id, c.id, { parentId: a.id })).parentId, a.id);

          await rejectsWith(content.updateFolder(u.id, a.id, { parentId: a.id }), 'invalid');
          await rejectsWith(content.updateFolder(u.id, a.id, { parentId: b.id }), 'invalid');
          await rejectsWith(content.updateFolder(u.id, a.id, { parentId: 'nope' }), 'not_found');
          await rejectsWith(content.updateFolder(u.id, 'nope', { displayName: 'X' }), 'not_found');
          await rejectsWith(content.updateFolder(u.id, a.id, { displayName: '' }), 'invalid');
          assert.deepEqual(await content.getFolder(u.id, b.id), renamed);
        }),
      );

      it(
        'counts hierarchy changes and reports them, tombstones included, in order',
        test(async (content, { mkUser, mkFolder }) => {
          const u = await mkUser();
          assert.equal(await content.getHierarchyModseq(u.id), 0);
          const a = await mkFolder(u, 'A');
          const b = await mkFolder(u, 'B');
          assert.equal(a.hierarchyModseq, 1);
          assert.equal(b.hierarchyModseq, 2);
          assert.equal(await content.getHierarchyModseq(u.id), 2);

          const seen = await content.getHierarchyModseq(u.id);
          const a2 = await content.updateFolder(u.id, a.id, { displayName: 'A2' });
          assert.equal(a2.hierarchyModseq, 3);
          await content.deleteFolder(u.id, b.id);
          assert.equal(await content.getHierarchyModseq(u.id), 4);

          const changes = await content.listFolderChangesSince(u.id, seen);
          assert.deepEqual(
            changes.map((f) => [f.id, f.displayName, f.deleted, f.hierarchyModseq]),
            [
              [a.id, 'A2', false, 3],
              [b.id, 'B', true, 4],
            ],
          );
          assert.equal((await content.listFolderChangesSince(u.id, 0)).length, 2);
          assert.deepEqual(await content.listFolderChangesSince(u.id, 4), []);
          // An update with nothing to change is not a change.
          await content.updateFolder(u.id, a.id, {});
          assert.equal(await content.getHierarchyModseq(u.id), 4);
          await rejectsWith(content.getHierarchyModseq('nobody'), 'not_found');
        }),
      );

      it(
        'assigns distinct hierarchy sequences to concurrent folder changes',
        test(async (content, { mkUser, mkFolder }) => {
          const u = await mkUser();
          const made = await Promise.all(Array.from({ length: 10 }, (_, i) => mkFolder(u, `F${i}`)));
          await Promise.all([
            ...made.slice(0, 3).map((f) => content.updateFolder(u.id, f.id, { displayName: f.displayName + '!' })),
            ...made.slice(3, 6).map((f) => content.deleteFolder(u.id, f.id)),
          ]);
          assert.deepEqual(made.map((f) => f.hierarchyModseq).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          const changes = await content.listFolderChangesSince(u.id, 10);
          assert.deepEqual(
            changes.map((f) => f.hierarchyModseq),
            [11, 12, 13, 14, 15, 16],
          );
          assert.deepEqual(new Set(changes.map((f) => f.id)), new Set(made.slice(0, 6).map((f) => f.id)));
          assert.equal(await content.getHierarchyModseq(u.id), 16);
          assert.equal((await content.listFolders(u.id)).length, 7);
        }),
      );

      it(
        'deletes a folder with its descendants and their items',
        test(async (content, { deviceState, mkUser, mkFolder }) => {
          const u = await mkUser();
          const keep = await mkFolder(u, 'Keep');
          const top = await mkFolder(u, 'Top');
          const mid = await mkFolder(u, 'Mid', top.id);
          const leaf = await mkFolder(u, 'Leaf', mid.id);
          const item = await content.putItem({ userId: u.id, folderId: leaf.id, class: 'Notes', data: { n: 1 }, serverId: 'n1' });
          const kept = await content.putItem({ userId: u.id, folderId: keep.id, class: 'Notes', data: { n: 2 } });
          // A device synced the doomed leaf and the kept folder.
          await deviceState.upsertDevice({ userId: u.id, deviceId: 'DEVDEL', deviceType: 'iPhone' });
          for (const f of [leaf, keep]) {
            await deviceState.saveSyncState({ userId: u.id, deviceId: 'DEVDEL', collectionId: f.id, syncKey: 'k1', data: { modseq: 1 } }, []);
            await deviceState.putClientAdd(u.id, 'DEVDEL', f.id, 'client-1', f === leaf ? item.id : kept.id);
          }
          const before = await content.getHierarchyModseq(u.id);

          await content.deleteFolder(u.id, top.id);
          // The deleted folders' sync states and ClientId maps are gone; the kept folder's stay.
          assert.equal(await deviceState.getSyncState(u.id, 'DEVDEL', leaf.id, 'k1'), null);
          assert.equal(await deviceState.getClientAdd(u.id, 'DEVDEL', leaf.id, 'client-1'), null);
          assert.ok(await deviceState.getSyncState(u.id, 'DEVDEL', keep.id, 'k1'));
          assert.equal(await deviceState.getClientAdd(u.id, 'DEVDEL', keep.id, 'client-1'), kept.id);
          assert.deepEqual(
            (await content.listFolders(u.id)).map((f) => f.id),
            [keep.id],
          );
          for (const f of [top, mid, leaf]) assert.equal(await content.getFolder(u.id, f.id), null);
          assert.equal(await content.getItem(u.id, item.id), null);
          assert.equal(await content.getItemByServerId(u.id, 'n1'), null);
          assert.deepEqual(await content.getItem(u.id, kept.id), kept);

          const tombstones = await content.listFolderChangesSince(u.id, before);
          assert.deepEqual(new Set(tombstones.map((f) => f.id)), new Set([top.id, mid.id, leaf.id]));
          assert.ok(tombstones.every((f) => f.deleted));
          assert.equal(new Set(tombstones.map((f) => f.hierarchyModseq)).size, 3, 'each tombstone has its own sequence');
          assert.equal(await content.getHierarchyModseq(u.id), before + 3);

          await rejectsWith(content.deleteFolder(u.id, top.id), 'not_found');
          await rejectsWith(content.putItem({ userId: u.id, folderId: leaf.id, class: 'Notes', data: {} }), 'not_found');
          await rejectsWith(content.listChangesSince(u.id, leaf.id, 0, 10), 'not_found');
          await rejectsWith(content.updateFolder(u.id, mid.id, { displayName: 'X' }), 'not_found');
          await rejectsWith(content.createFolder({ userId: u.id, parentId: mid.id, displayName: 'X', type: 1 }), 'not_found');
          // A deleted folder's serverId is not reused.
          await rejectsWith(
            content.createFolder({ userId: u.id, parentId: null, displayName: 'X', type: 1, serverId: top.serverId }),
            'conflict',
          );
        }),
      );
    });

    contentItemTests(test);

    describe('isolation between users', () => {
      it(
        "never lets one user read, change or delete another user's folders and items",
        test(async (content, { mkUser, mkFolder }) => {
          const a = await mkUser('a@example.com');
          const b = await mkUser('b@example.com');
          const fa = await mkFolder(a, 'A-Inbox');
          const fb = await mkFolder(b, 'B-Inbox');
          const ia = await content.putItem({ userId: a.id, folderId: fa.id, class: 'Email', data: { secret: 'a' }, serverId: 'sa', uid: 'UA' });

          // Items, named by A's ids but asked as B.
          assert.equal(await content.getItem(b.id, ia.id), null);
          assert.equal(await content.getItemByServerId(b.id, 'sa'), null);
          assert.deepEqual(await content.getItemsByUid(b.id, 'UA'), []);
          await rejectsWith(content.updateItem(b.id, ia.id, { data: { secret: 'b' } }), 'not_found');
          await rejectsWith(content.deleteItem(b.id, ia.id), 'not_found');
          await rejectsWith(content.moveItem(b.id, ia.id, fb.id), 'not_found');
          await rejectsWith(content.moveItem(a.id, ia.id, fb.id), 'not_found');
          await rejectsWith(content.putItem({ userId: b.id, folderId: fa.id, class: 'Email', data: {} }), 'not_found');
          await rejectsWith(content.listChangesSince(b.id, fa.id, 0, 10), 'not_found');

          // Folders.
          assert.equal(await content.getFolder(b.id, fa.id), null);
          assert.equal(await content.getFolderByServerId(b.id, fa.serverId), null);
          assert.deepEqual(
            (await content.listFolders(b.id)).map((f) => f.id),
            [fb.id],
          );
          assert.deepEqual(
            (await content.listFolderChangesSince(b.id, 0)).map((f) => f.id),
            [fb.id],
          );
          await rejectsWith(content.updateFolder(b.id, fa.id, { displayName: 'pwned' }), 'not_found');
          await rejectsWith(content.updateFolder(b.id, fb.id, { parentId: fa.id }), 'not_found');
          await rejectsWith(content.deleteFolder(b.id, fa.id), 'not_found');
          await rejectsWith(content.createFolder({ userId: b.id, parentId: fa.id, displayName: 'x', type: 1 }), 'not_found');

          // A's data is untouched.
          assert.deepEqual(await content.getItem(a.id, ia.id), ia);
          assert.deepEqual(await content.getFolder(a.id, fa.id), { ...fa, modseq: 1 });
          assert.deepEqual(await content.listFolders(a.id), [{ ...fa, modseq: 1 }]);
        }),
      );
    });

    describe('change notifications', () => {
      it(
        'notifies each item write of its folder and each hierarchy write of the user, after commit',
        test(async (content, { accounts, deviceState, mkUser, mkFolder }) => {
          const u = await mkUser();
          const other = await mkUser('other@example.com');
          const w = watchChanges(content);
          let seen = 0;
          /** Runs a write and checks it (and nothing else) was notified. */
          const step = async <T>(what: string, write: () => Promise<T>, expect: (r: T) => ChangeEvent[]): Promise<T> => {
            const r = await write();
            const expected = expect(r);
            await w.until(seen + expected.length, what);
            assert.deepEqual(w.events.slice(seen).sort(byKey), [...expected].sort(byKey), what);
            seen += expected.length;
            return r;
          };
          const hier = { userId: u.id, folderId: null };
          const inFolder = (f: { id: string }) => ({ userId: u.id, folderId: f.id });

          const a = await step('createFolder', () => mkFolder(u, 'A'), () => [hier]);
          const b = await step('createFolder', () => mkFolder(u, 'B'), () => [hier]);
          const sub = await step('createFolder (child)', () => mkFolder(u, 'Sub', a.id), () => [hier]);
          const item = await step('putItem', () => content.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: {} }), () => [inFolder(a)]);
          await step('updateItem', () => content.updateItem(u.id, item.id, { data: { v: 2 } }), () => [inFolder(a)]);
          const moved = await step('moveItem', () => content.moveItem(u.id, item.id, b.id), () => [inFolder(a), inFolder(b)]);
          await step('deleteItem', () => content.deleteItem(u.id, moved.id), () => [inFolder(b)]);
          await step('updateFolder', () => content.updateFolder(u.id, b.id, { displayName: 'B2' }), () => [hier]);
          await step('putItem (sub)', () => content.putItem({ userId: u.id, folderId: sub.id, class: 'Email', data: {} }), () => [inFolder(sub)]);
          await step('deleteFolder', () => content.deleteFolder(u.id, a.id), () => [hier, inFolder(a), inFolder(sub)]);

          // Failed and empty writes notify nothing.
          await rejectsWith(content.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: {} }), 'not_found');
          const it2 = await step('putItem', () => content.putItem({ userId: u.id, folderId: b.id, class: 'Email', data: {} }), () => [inFolder(b)]);
          await rejectsWith(content.updateItem(u.id, it2.id, { data: {}, expectedModseq: 0 }), 'conflict');
          await rejectsWith(content.createFolder({ userId: u.id, parentId: 'nope', displayName: 'X', type: 1 }), 'not_found');
          await content.updateFolder(u.id, b.id, {});
          await deviceState.upsertDevice({ userId: u.id, deviceId: 'D', deviceType: 'x' });
          await deviceState.saveSyncState({ userId: u.id, deviceId: 'D', collectionId: b.id, syncKey: '1', data: {} }, []);
          // Another user's write: it arrives after anything the writes above might have sent.
          await step('createFolder (other user)', () => mkFolder(other), () => [{ userId: other.id, folderId: null }]);

          await step('deleteUser', () => accounts.deleteUser(u.id), () => [hier]);
          w.off();
        }),
      );

      it(
        'calls listeners after the commit, so they read the change',
        test(async (content, { mkUser, mkFolder }) => {
          const u = await mkUser();
          const f = await mkFolder(u);
          const read = new Promise<string[]>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no notification')), NOTIFY_TIMEOUT_MS);
            const off = content.subscribeChanges((e) => {
              if (e.folderId !== f.id) return;
              off();
              clearTimeout(timer);
              content.listChangesSince(u.id, f.id, 0, 10).then((items) => resolve(items.map((i) => i.id)), reject);
            });
          });
          const item = await content.putItem({ userId: u.id, folderId: f.id, class: 'Notes', data: {} });
          assert.deepEqual(await read, [item.id]);
        }),
      );

      it(
        'stops delivering to a listener once unsubscribed',
        test(async (content, { mkUser, mkFolder }) => {
          // Subscribed before every write: with PostgreSQL a change committed before subscribing
          // may still be delivered after.
          const a = watchChanges(content);
          const b = watchChanges(content);
          const u = await mkUser();
          const f = await mkFolder(u);
          await content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
          await a.until(2, 'the folder and the first put (a)');
          await b.until(2, 'the folder and the first put (b)');
          a.off();
          a.off(); // twice is harmless
          await content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
          await b.until(3, 'the second put (b)');
          assert.equal(a.events.length, 2);
          b.off();
        }),
      );

      it('a throwing listener breaks neither the write nor the other listeners', () => {
        const errors: unknown[] = [];
        return test(
          async (content, { mkUser, mkFolder }) => {
            const w = watchChanges(content);
            const u = await mkUser();
            const f = await mkFolder(u);
            await w.until(1, 'createFolder');
            const boom = new Error('listener boom');
            content.subscribeChanges(() => {
              throw boom;
            });
            content.subscribeChanges(async () => {
              throw boom;
            });
            const item = await content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { ok: true } });
            await w.until(2, 'putItem');
            assert.deepEqual(w.events[1], { userId: u.id, folderId: f.id });
            assert.deepEqual(await content.getItem(u.id, item.id), item);
            // The async listener's rejection is reported a tick later.
            for (let i = 0; i < 50 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
            assert.equal(errors.length, 2);
            for (const err of errors) assert.equal((err as Error).cause, boom);
            // And the store keeps working.
            await content.updateItem(u.id, item.id, { data: {} });
            await w.until(3, 'updateItem');
          },
          { onError: (err) => errors.push(err) },
        )();
      });
    });
  });
}
