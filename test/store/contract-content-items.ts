/** The store contract for content, continued (contract-content.ts): items. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContentStore } from '../../src/ports/store.ts';
import { rejectsWith, type PortTest } from './contract-helpers.ts';

export function contentItemTests(test: PortTest<ContentStore>): void {
  describe('items', () => {
    it(
      'records the sequence an item was created or moved in at, kept across updates',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const a = await mkFolder(u, 'A');
        const b = await mkFolder(u, 'B');
        const first = await content.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: { n: 1 } });
        await content.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: { n: 2 } });
        assert.equal(first.createdModseq, first.modseq);
        const updated = await content.updateItem(u.id, first.id, { data: { n: 3 } });
        assert.equal(updated.createdModseq, first.createdModseq, 'an update keeps the creation sequence');
        assert.ok(updated.modseq > updated.createdModseq);
        await content.putItem({ userId: u.id, folderId: b.id, class: 'Email', data: { n: 4 } });
        const moved = await content.moveItem(u.id, first.id, b.id);
        assert.equal(moved.createdModseq, moved.modseq, 'a moved-in item is new to its folder');
        assert.equal(moved.createdModseq, 2);
        const [tombstone] = (await content.listChangesSince(u.id, a.id, 2, 10)).filter((i) => i.deleted);
        assert.equal(tombstone?.createdModseq, first.createdModseq, 'the tombstone keeps its creation sequence');
      }),
    );

    it(
      'puts, gets, updates and deletes an item with strictly increasing modseq',
      test(async (content, { clock, mkUser, mkFolder }) => {
        const u = await mkUser();
        const f = await mkFolder(u, 'Calendar', null, 8);
        const data = { subject: 'Réunion ☕', start: '2025-03-02T09:00:00Z', attendees: [{ email: 'b@x', status: 0 }], allDay: false, note: null };

        const it1 = await content.putItem({ userId: u.id, folderId: f.id, class: 'Calendar', data, uid: 'UID-1' });
        assert.equal(it1.serverId, it1.id, 'serverId defaults to the id');
        assert.equal(it1.class, 'Calendar');
        assert.deepEqual(it1.data, data);
        assert.equal(it1.uid, 'UID-1');
        assert.equal(it1.modseq, 1);
        assert.equal(typeof it1.modseq, 'number');
        assert.equal(it1.deleted, false);
        assert.equal(it1.folderId, f.id);
        assert.equal(it1.userId, u.id);
        assert.deepEqual(await content.getItem(u.id, it1.id), it1);
        assert.equal((await content.getFolder(u.id, f.id))?.modseq, 1);

        const it2 = await content.putItem({ userId: u.id, folderId: f.id, class: 'Calendar', data: { subject: 'x' }, serverId: '8:2' });
        assert.equal(it2.modseq, 2);
        assert.equal(it2.uid, null);
        assert.deepEqual(await content.getItemByServerId(u.id, '8:2'), it2);

        clock.advance(60_000);
        const up = await content.updateItem(u.id, it1.id, { data: { subject: 'moved' } });
        assert.equal(up.modseq, 3);
        assert.equal(up.id, it1.id);
        assert.equal(up.serverId, it1.serverId);
        assert.equal(up.uid, 'UID-1', 'uid is kept when not in the patch');
        assert.deepEqual(up.data, { subject: 'moved' });
        assert.deepEqual(up.createdAt, it1.createdAt);
        assert.deepEqual(up.updatedAt, clock.now());
        assert.equal((await content.updateItem(u.id, it1.id, { uid: null })).uid, null);

        await content.deleteItem(u.id, it2.id);
        assert.equal(await content.getItem(u.id, it2.id), null);
        assert.equal(await content.getItemByServerId(u.id, '8:2'), null);
        assert.equal((await content.getFolder(u.id, f.id))?.modseq, 5);
        await rejectsWith(content.deleteItem(u.id, it2.id), 'not_found');
        await rejectsWith(content.updateItem(u.id, it2.id, { data: {} }), 'not_found');
        await rejectsWith(content.updateItem(u.id, 'nope', { data: {} }), 'not_found');
      }),
    );

    it(
      'keeps one sequence per folder',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const f1 = await mkFolder(u, 'One');
        const f2 = await mkFolder(u, 'Two');
        const seqs: number[] = [];
        for (let i = 0; i < 3; i++) seqs.push((await content.putItem({ userId: u.id, folderId: f1.id, class: 'Email', data: { i } })).modseq);
        const other = await content.putItem({ userId: u.id, folderId: f2.id, class: 'Email', data: {} });
        assert.deepEqual(seqs, [1, 2, 3]);
        assert.equal(other.modseq, 1);
      }),
    );

    it(
      'lists changes and tombstones since a modseq, in order, up to a limit',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const f = await mkFolder(u);
        const a = await content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { n: 'a' } }); // 1
        const b = await content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { n: 'b' } }); // 2
        const c = await content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { n: 'c' }, uid: 'U' }); // 3
        await content.updateItem(u.id, a.id, { data: { n: 'a2' } }); // 4
        await content.deleteItem(u.id, c.id); // 5

        const all = await content.listChangesSince(u.id, f.id, 0, 100);
        assert.deepEqual(
          all.map((i) => [i.id, i.modseq, i.deleted]),
          [
            [b.id, 2, false],
            [a.id, 4, false],
            [c.id, 5, true],
          ],
        );
        const tomb = all[2]!;
        assert.equal(tomb.serverId, c.serverId);
        assert.equal(tomb.uid, 'U');
        assert.deepEqual(tomb.data, {});

        assert.deepEqual(
          (await content.listChangesSince(u.id, f.id, 2, 100)).map((i) => i.modseq),
          [4, 5],
        );
        assert.deepEqual(
          (await content.listChangesSince(u.id, f.id, 0, 2)).map((i) => i.modseq),
          [2, 4],
        );
        assert.deepEqual(
          (await content.listChangesSince(u.id, f.id, 4, 1)).map((i) => i.modseq),
          [5],
        );
        assert.deepEqual(await content.listChangesSince(u.id, f.id, 5, 100), []);
        await rejectsWith(content.listChangesSince(u.id, f.id, 0, 0), 'invalid');
        await rejectsWith(content.listChangesSince(u.id, f.id, -1, 10), 'invalid');
        await rejectsWith(content.listChangesSince(u.id, 'nope', 0, 10), 'not_found');
      }),
    );

    it(
      'refuses a stale update when expectedModseq is given',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const f = await mkFolder(u);
        const it1 = await content.putItem({ userId: u.id, folderId: f.id, class: 'Contacts', data: { v: 1 } });
        const it2 = await content.updateItem(u.id, it1.id, { data: { v: 2 }, expectedModseq: it1.modseq });
        await rejectsWith(content.updateItem(u.id, it1.id, { data: { v: 3 }, expectedModseq: it1.modseq }), 'conflict');
        assert.deepEqual(await content.getItem(u.id, it1.id), it2);
        assert.equal((await content.getFolder(u.id, f.id))?.modseq, it2.modseq, 'a refused update takes no sequence');
      }),
    );

    it(
      'rejects a taken serverId per user, unknown classes and non-object data',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const v = await mkUser('v@example.com');
        const fu = await mkFolder(u);
        const fv = await mkFolder(v);
        await content.putItem({ userId: u.id, folderId: fu.id, class: 'Tasks', data: {}, serverId: 'x1' });
        await rejectsWith(content.putItem({ userId: u.id, folderId: fu.id, class: 'Tasks', data: {}, serverId: 'x1' }), 'conflict');
        await content.putItem({ userId: v.id, folderId: fv.id, class: 'Tasks', data: {}, serverId: 'x1' });
        await rejectsWith(content.putItem({ userId: u.id, folderId: fu.id, class: 'Memo' as 'Notes', data: {} }), 'invalid');
        await rejectsWith(content.putItem({ userId: u.id, folderId: fu.id, class: 'Notes', data: [] as unknown as {} }), 'invalid');
        await rejectsWith(content.putItem({ userId: u.id, folderId: 'nope', class: 'Notes', data: {} }), 'not_found');
        assert.equal((await content.getFolder(u.id, fu.id))?.modseq, 1, 'failed puts take no sequence');
      }),
    );

    it(
      'finds live items by uid',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const f1 = await mkFolder(u, 'Cal', null, 8);
        const f2 = await mkFolder(u, 'Inbox', null, 2);
        const a = await content.putItem({ userId: u.id, folderId: f1.id, class: 'Calendar', data: {}, uid: 'G1' });
        const b = await content.putItem({ userId: u.id, folderId: f2.id, class: 'Email', data: {}, uid: 'G1' });
        const c = await content.putItem({ userId: u.id, folderId: f2.id, class: 'Email', data: {}, uid: 'G1' });
        await content.putItem({ userId: u.id, folderId: f1.id, class: 'Calendar', data: {}, uid: 'G2' });
        await content.deleteItem(u.id, c.id);
        assert.deepEqual(new Set((await content.getItemsByUid(u.id, 'G1')).map((i) => i.id)), new Set([a.id, b.id]));
        assert.deepEqual(await content.getItemsByUid(u.id, 'G3'), []);
      }),
    );

    it(
      'moves an item: tombstone in the source, new item in the target',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const src = await mkFolder(u, 'Inbox');
        const dst = await mkFolder(u, 'Archive');
        const item = await content.putItem({ userId: u.id, folderId: src.id, class: 'Email', data: { subject: 'hi' }, uid: 'M1' });
        const moved = await content.moveItem(u.id, item.id, dst.id, 'arch:1');
        assert.notEqual(moved.id, item.id);
        assert.equal(moved.serverId, 'arch:1');
        assert.equal(moved.folderId, dst.id);
        assert.deepEqual(moved.data, { subject: 'hi' });
        assert.equal(moved.uid, 'M1');
        assert.equal(moved.modseq, 1);
        assert.equal(await content.getItem(u.id, item.id), null);
        assert.deepEqual(await content.getItem(u.id, moved.id), moved);
        assert.deepEqual(
          (await content.listChangesSince(u.id, src.id, item.modseq, 10)).map((i) => [i.id, i.deleted, i.modseq]),
          [[item.id, true, 2]],
        );
        assert.deepEqual(
          (await content.listChangesSince(u.id, dst.id, 0, 10)).map((i) => i.id),
          [moved.id],
        );
        const back = await content.moveItem(u.id, moved.id, src.id);
        assert.equal(back.serverId, back.id);
        await rejectsWith(content.moveItem(u.id, back.id, src.id), 'invalid');
        await rejectsWith(content.moveItem(u.id, back.id, 'nope'), 'not_found');
        await rejectsWith(content.moveItem(u.id, item.id, dst.id), 'not_found');
        await rejectsWith(content.moveItem(u.id, back.id, dst.id, 'arch:1'), 'conflict');
        assert.deepEqual(await content.getItem(u.id, back.id), back, 'a failed move changes nothing');
      }),
    );

    it(
      'assigns distinct, gap-free sequences to concurrent writes in one folder',
      test(async (content, { mkUser, mkFolder }) => {
        const u = await mkUser();
        const f = await mkFolder(u);
        const items = await Promise.all(
          Array.from({ length: 20 }, (_, i) => content.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { i } })),
        );
        const updates = await Promise.all(items.slice(0, 10).map((it) => content.updateItem(u.id, it.id, { data: { up: true } })));
        const seqs = [...items.map((i) => i.modseq).slice(10), ...updates.map((i) => i.modseq)].sort((x, y) => x - y);
        assert.equal(new Set(items.map((i) => i.modseq)).size, 20);
        assert.deepEqual(
          (await content.listChangesSince(u.id, f.id, 0, 100)).map((i) => i.modseq),
          seqs,
        );
        assert.equal((await content.getFolder(u.id, f.id))?.modseq, 30);
      }),
    );
  });
}
