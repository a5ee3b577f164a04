/**
 * Mailbox contract, the items: writes and their sequences, the change feed with its tombstones,
 * moves, look-ups by ServerId and uid, and whole-folder scans.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonObject } from '../../src/ports/types.ts';
import { collect, idSet, ids, mkFolder, mkItem, rejectsWith, type Run } from './mailbox-contract-support.ts';

export function itemTests(run: Run): void {
  describe('items', () => {
    it(
      'puts and gets an item; serverId defaults to the id; the folder modseq follows',
      run(async ({ a, clock }) => {
        const f = await mkFolder(a, 'Calendar', null, 8);
        const data = { subject: 'Réunion ☕', start: '2025-03-02T09:00:00Z', attendees: [{ email: 'b@x', status: 0 }], allDay: false, note: null };
        const one = await a.putItem({ folderId: f.id, class: 'Calendar', data, uid: 'UID-1' });
        assert.equal(one.serverId, one.id);
        assert.equal(one.userId, a.userId);
        assert.equal(one.folderId, f.id);
        assert.equal(one.class, 'Calendar');
        assert.deepEqual(one.data, data);
        assert.equal(one.uid, 'UID-1');
        assert.equal(one.deleted, false);
        assert.equal(typeof one.modseq, 'number');
        assert.ok(one.modseq > 0);
        assert.equal(one.createdModseq, one.modseq);
        assert.deepEqual(one.createdAt, clock.now());
        assert.deepEqual(one.updatedAt, clock.now());
        assert.deepEqual(await a.getItem(one.id), one);
        assert.deepEqual(await a.getItemByServerId(one.serverId), one);
        assert.equal((await a.getFolder(f.id))!.modseq, one.modseq);

        const two = await a.putItem({ folderId: f.id, class: 'Calendar', data: { subject: 'x' }, serverId: '8:2' });
        assert.equal(two.serverId, '8:2');
        assert.equal(two.uid, null, 'uid defaults to null');
        assert.ok(two.modseq > one.modseq);
        assert.deepEqual(await a.getItemByServerId('8:2'), two);
        assert.equal((await a.getFolder(f.id))!.modseq, two.modseq);
        assert.equal(await a.getItem('no-such-id'), null);
        assert.equal(await a.getItemByServerId('no-such-id', true), null);
      }),
    );

    it(
      'updates an item: a new modseq, the rest kept unless patched',
      run(async ({ a, clock }) => {
        const f = await mkFolder(a);
        const it1 = await mkItem(a, f, { n: 1 }, { uid: 'U' });
        clock.advance(60_000);
        const up = await a.updateItem(it1.id, { data: { n: 2 } });
        assert.ok(up.modseq > it1.modseq);
        assert.equal(up.id, it1.id);
        assert.equal(up.serverId, it1.serverId);
        assert.equal(up.folderId, f.id);
        assert.equal(up.uid, 'U', 'uid kept when not in the patch');
        assert.equal(up.createdModseq, it1.createdModseq, 'an update keeps the creation sequence');
        assert.deepEqual(up.data, { n: 2 });
        assert.deepEqual(up.createdAt, it1.createdAt);
        assert.deepEqual(up.updatedAt, clock.now());
        assert.deepEqual(await a.getItem(it1.id), up);
        assert.equal((await a.getFolder(f.id))!.modseq, up.modseq);

        const noUid = await a.updateItem(it1.id, { uid: null });
        assert.equal(noUid.uid, null);
        assert.deepEqual(noUid.data, { n: 2 }, 'data kept when not in the patch');
        assert.ok(noUid.modseq > up.modseq);
        await rejectsWith(a.updateItem('nope', { data: {} }), 'not_found');
        await rejectsWith(a.updateItem(it1.id, { data: [] as unknown as JsonObject }), 'invalid');
      }),
    );

    it(
      'with expectedModseq, refuses a stale update (conflict, no sequence taken) and lets a current one through',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const it1 = await mkItem(a, f, { v: 1 });
        const it2 = await a.updateItem(it1.id, { data: { v: 2 }, expectedModseq: it1.modseq });
        assert.deepEqual(it2.data, { v: 2 });
        await rejectsWith(a.updateItem(it1.id, { data: { v: 3 }, expectedModseq: it1.modseq }), 'conflict');
        assert.deepEqual(await a.getItem(it1.id), it2);
        assert.equal((await a.getFolder(f.id))!.modseq, it2.modseq, 'a refused update takes no sequence');
        // Two racing updates from the same version: exactly one wins.
        const raced = await Promise.allSettled([
          a.updateItem(it1.id, { data: { v: 4 }, expectedModseq: it2.modseq }),
          a.updateItem(it1.id, { data: { v: 5 }, expectedModseq: it2.modseq }),
        ]);
        assert.deepEqual(raced.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      }),
    );

    it(
      'deletes an item, leaving a tombstone (data {}, uid and serverId kept) found by serverId on request',
      run(async ({ a, clock }) => {
        const f = await mkFolder(a);
        const item = await mkItem(a, f, { secret: 1 }, { serverId: 's-1', uid: 'U' });
        clock.advance(1000);
        await a.deleteItem(item.id);
        assert.equal(await a.getItem(item.id), null);
        assert.equal(await a.getItemByServerId('s-1'), null);
        const tomb = (await a.getItemByServerId('s-1', true))!;
        assert.ok(tomb, 'the tombstone');
        assert.equal(tomb.id, item.id);
        assert.equal(tomb.deleted, true);
        assert.deepEqual(tomb.data, {});
        assert.equal(tomb.uid, 'U');
        assert.equal(tomb.createdModseq, item.createdModseq);
        assert.ok(tomb.modseq > item.modseq);
        assert.deepEqual(tomb.updatedAt, clock.now());
        assert.equal((await a.getFolder(f.id))!.modseq, tomb.modseq);
        assert.deepEqual(await a.getItemsByUid('U'), []);
        await rejectsWith(a.deleteItem(item.id), 'not_found', 'deleted twice');
        await rejectsWith(a.updateItem(item.id, { data: {} }), 'not_found', 'update a tombstone');
        await rejectsWith(a.moveItem(item.id, (await mkFolder(a, 'Other')).id), 'not_found', 'move a tombstone');
        await rejectsWith(mkItem(a, f, {}, { serverId: 's-1' }), 'conflict', "a tombstone's serverId is not reused");
      }),
    );

    it(
      'refuses a taken serverId, a missing folder, unknown classes and non-object data; failures take no sequence',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const g = await mkFolder(a, 'Other');
        const x = await mkItem(a, f, {}, { serverId: 'x1' });
        await rejectsWith(mkItem(a, f, {}, { serverId: 'x1' }), 'conflict', 'same folder');
        await rejectsWith(mkItem(a, g, {}, { serverId: 'x1' }), 'conflict', 'serverIds are per user, not per folder');
        const y = await mkItem(a, f);
        await rejectsWith(mkItem(a, g, {}, { serverId: y.id }), 'conflict', 'a generated serverId');
        await rejectsWith(a.putItem({ folderId: f.id, class: 'Memo' as 'Notes', data: {} }), 'invalid', 'class');
        await rejectsWith(a.putItem({ folderId: f.id, class: 'Notes', data: [] as unknown as JsonObject }), 'invalid', 'array data');
        await rejectsWith(a.putItem({ folderId: f.id, class: 'Notes', data: null as unknown as JsonObject }), 'invalid', 'null data');
        await rejectsWith(mkItem(a, f, {}, { serverId: '' }), 'invalid', 'empty serverId');
        await rejectsWith(mkItem(a, { id: 'nope' }), 'not_found', 'missing folder');
        assert.equal((await a.getFolder(f.id))!.modseq, y.modseq);
        assert.equal((await a.getFolder(g.id))!.modseq, 0);
        assert.deepEqual(ids(await a.changesSince(f.id, 0, 10)), [x.id, y.id]);
      }),
    );

    it(
      'finds live items by uid across folders',
      run(async ({ a }) => {
        const cal = await mkFolder(a, 'Cal', null, 8);
        const inbox = await mkFolder(a, 'Inbox', null, 2);
        const x = await a.putItem({ folderId: cal.id, class: 'Calendar', data: {}, uid: 'G1' });
        const y = await mkItem(a, inbox, {}, { uid: 'G1' });
        const z = await mkItem(a, inbox, {}, { uid: 'G1' });
        await a.putItem({ folderId: cal.id, class: 'Calendar', data: {}, uid: 'G2' });
        await a.deleteItem(z.id);
        const moved = await a.moveItem(y.id, cal.id);
        assert.deepEqual(idSet(await a.getItemsByUid('G1')), new Set([x.id, moved.id]));
        assert.deepEqual(await a.getItemsByUid('G3'), []);
        const [found] = await a.getItemsByUid('G2');
        assert.equal(found?.uid, 'G2');
      }),
    );

    it(
      'moves an item: a tombstone in the source, a new item (same data and uid) in the target',
      run(async ({ a, clock }) => {
        const src = await mkFolder(a, 'Inbox');
        const dst = await mkFolder(a, 'Archive');
        await mkItem(a, dst, { filler: true });
        const item = await mkItem(a, src, { subject: 'hi' }, { uid: 'M1' });
        clock.advance(1000);
        const moved = await a.moveItem(item.id, dst.id, 'arch:1');
        assert.notEqual(moved.id, item.id);
        assert.equal(moved.serverId, 'arch:1');
        assert.equal(moved.folderId, dst.id);
        assert.equal(moved.class, 'Email');
        assert.deepEqual(moved.data, { subject: 'hi' });
        assert.equal(moved.uid, 'M1');
        assert.equal(moved.deleted, false);
        assert.equal(moved.createdModseq, moved.modseq, 'a moved-in item is new to its folder');
        assert.equal((await a.getFolder(dst.id))!.modseq, moved.modseq);
        assert.equal(await a.getItem(item.id), null);
        assert.deepEqual(await a.getItem(moved.id), moved);
        assert.deepEqual(await a.getItemByServerId('arch:1'), moved);

        const [tomb] = await a.changesSince(src.id, item.modseq, 10);
        assert.equal(tomb?.id, item.id);
        assert.equal(tomb?.deleted, true);
        assert.equal(tomb?.serverId, item.serverId);
        assert.equal(tomb?.createdModseq, item.createdModseq, 'the tombstone keeps its creation sequence');
        assert.equal((await a.getFolder(src.id))!.modseq, tomb?.modseq);
        assert.deepEqual((await a.getItemByServerId(item.serverId, true))?.deleted, true);

        const back = await a.moveItem(moved.id, src.id);
        assert.equal(back.serverId, back.id, 'a generated serverId without one given');
        assert.notEqual(back.id, item.id);
        await rejectsWith(a.moveItem(back.id, src.id), 'invalid', 'into its own folder');
        await rejectsWith(a.moveItem(back.id, 'nope'), 'not_found', 'missing target');
        await rejectsWith(a.moveItem('nope', dst.id), 'not_found', 'missing item');
        await rejectsWith(a.moveItem(back.id, dst.id, 'arch:1'), 'conflict', "a tombstone's serverId");
        await rejectsWith(a.moveItem(back.id, dst.id, back.serverId), 'conflict', 'its own serverId');
        await rejectsWith(a.moveItem(back.id, dst.id, ''), 'invalid', 'empty serverId');
        assert.deepEqual(await a.getItem(back.id), back, 'failed moves change nothing');
        assert.equal((await a.getFolder(src.id))!.modseq, back.modseq);
      }),
    );
  });

  describe('change feed', () => {
    it(
      'lists changes and tombstones since a modseq, in order, up to a limit',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const x = await mkItem(a, f, { n: 'x' });
        const y = await mkItem(a, f, { n: 'y' });
        const z = await mkItem(a, f, { n: 'z' }, { uid: 'U' });
        const x2 = await a.updateItem(x.id, { data: { n: 'x2' } });
        await a.deleteItem(z.id);

        const all = await a.changesSince(f.id, 0, 100);
        assert.deepEqual(
          all.map((i) => [i.id, i.deleted]),
          [
            [y.id, false],
            [x.id, false],
            [z.id, true],
          ],
        );
        assert.deepEqual(all[1], x2);
        assert.deepEqual(all[0], y);
        const tomb = all[2]!;
        assert.equal(tomb.serverId, z.serverId);
        assert.equal(tomb.uid, 'U');
        assert.deepEqual(tomb.data, {});
        const seqs = all.map((i) => i.modseq);
        assert.equal((await a.getFolder(f.id))!.modseq, seqs[2]);

        assert.deepEqual(ids(await a.changesSince(f.id, seqs[0]!, 100)), [x.id, z.id]);
        assert.deepEqual(ids(await a.changesSince(f.id, 0, 2)), [y.id, x.id]);
        assert.deepEqual(ids(await a.changesSince(f.id, seqs[1]!, 1)), [z.id]);
        assert.deepEqual(await a.changesSince(f.id, seqs[2]!, 100), []);
        await rejectsWith(a.changesSince(f.id, 0, 0), 'invalid', 'limit 0');
        await rejectsWith(a.changesSince(f.id, -1, 10), 'invalid', 'negative modseq');
        await rejectsWith(a.changesSince('nope', 0, 10), 'not_found', 'missing folder');
      }),
    );

    it(
      'keeps one sequence per folder, strictly increasing and never reused after deletes and moves',
      run(async ({ a }) => {
        const f1 = await mkFolder(a, 'One');
        const f2 = await mkFolder(a, 'Two');
        const given: number[] = [];
        const stamp = (m: number) => {
          if (given.length) assert.ok(m > given[given.length - 1]!, `modseq ${m} after ${given}`);
          given.push(m);
        };
        const p1 = await mkItem(a, f1);
        stamp(p1.modseq);
        const p2 = await mkItem(a, f1);
        stamp(p2.modseq);
        stamp((await a.updateItem(p1.id, { data: { v: 2 } })).modseq);
        await a.deleteItem(p2.id); // the folder's highest
        stamp((await a.getFolder(f1.id))!.modseq);
        stamp((await mkItem(a, f1)).modseq);
        await a.moveItem(p1.id, f2.id);
        stamp((await a.getFolder(f1.id))!.modseq);
        stamp((await mkItem(a, f1)).modseq);
        // Another folder's writes are not f1's changes: its modseq stays.
        const before = (await a.getFolder(f1.id))!.modseq;
        const other = await mkItem(a, f2);
        await a.updateItem(other.id, { data: { v: 2 } });
        assert.equal((await a.getFolder(f1.id))!.modseq, before);
        assert.equal(before, given[given.length - 1]);
        const feed = await a.changesSince(f1.id, 0, 100);
        assert.equal(new Set(feed.map((i) => i.modseq)).size, feed.length, 'no two rows share a sequence');
      }),
    );

    it(
      'gives concurrent writes in one folder distinct sequences, all in the feed',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const items = await Promise.all(Array.from({ length: 20 }, (_, i) => mkItem(a, f, { i })));
        assert.equal(new Set(items.map((i) => i.modseq)).size, 20);
        const updates = await Promise.all(items.slice(0, 10).map((it) => a.updateItem(it.id, { data: { up: true } })));
        const expected = [...items.slice(10), ...updates].map((i) => i.modseq).sort((x, y) => x - y);
        assert.equal(new Set(expected).size, 20);
        assert.deepEqual(
          (await a.changesSince(f.id, 0, 100)).map((i) => i.modseq),
          expected,
        );
        assert.equal((await a.getFolder(f.id))!.modseq, expected[19]);
      }),
    );

    it(
      "copies data in and out: changing what was put or read does not change what is kept",
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const data = { subject: 'keep', nested: { list: [1, 2] } };
        const item = await mkItem(a, f, data);
        data.subject = 'changed';
        data.nested.list.push(3);
        item.data.subject = 'changed too';
        const read = (await a.getItem(item.id))!;
        (read.data.nested as unknown as { list: number[] }).list.push(4);
        read.createdAt.setTime(0);
        const again = (await a.getItem(item.id))!;
        assert.deepEqual(again.data, { subject: 'keep', nested: { list: [1, 2] } });
        assert.notEqual(again.createdAt.getTime(), 0);
        const folder = (await a.getFolder(f.id))!;
        folder.displayName = 'mutated';
        folder.updatedAt.setTime(0);
        assert.equal((await a.getFolder(f.id))!.displayName, 'Inbox');
        assert.notEqual((await a.getFolder(f.id))!.updatedAt.getTime(), 0);
      }),
    );
  });

  describe('scan', () => {
    it(
      'yields every live item of the folder in sequence order, across pages, tombstones left out',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const other = await mkFolder(a, 'Other');
        const made = [];
        for (let i = 0; i < 12; i++) made.push(await mkItem(a, f, { i }));
        await mkItem(a, other);
        await a.deleteItem(made[3]!.id);
        await a.deleteItem(made[4]!.id);
        await a.moveItem(made[5]!.id, other.id);
        const up = await a.updateItem(made[0]!.id, { data: { i: 'last' } });
        const live = [...made.slice(1, 3), ...made.slice(6)].map((i) => i.id).concat(up.id);

        for (const pageSize of [1, 2, 3, 5, 100, undefined]) {
          const got = await collect(a.scan(f.id, pageSize === undefined ? {} : { pageSize }));
          assert.deepEqual(ids(got), live, `pageSize ${pageSize}`);
          assert.ok(got.every((i) => !i.deleted && i.folderId === f.id));
        }
        assert.deepEqual((await collect(a.scan(f.id))).at(-1), up, 'the items as getItem has them');
        assert.deepEqual(await collect(a.scan((await mkFolder(a, 'Empty')).id)), []);
      }),
    );

    it(
      'stops after `limit` live items',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        const made = [];
        for (let i = 0; i < 6; i++) made.push(await mkItem(a, f, { i }));
        await a.deleteItem(made[0]!.id);
        assert.deepEqual(ids(await collect(a.scan(f.id, { limit: 3, pageSize: 2 }))), ids(made.slice(1, 4)));
        assert.deepEqual(ids(await collect(a.scan(f.id, { limit: 1 }))), [made[1]!.id]);
        assert.deepEqual(ids(await collect(a.scan(f.id, { limit: 10, pageSize: 4 }))), ids(made.slice(1)));
        assert.deepEqual(await collect(a.scan(f.id, { limit: 0 })), [], 'limit 0 reads nothing');
      }),
    );

    it(
      'yields nothing for a missing or deleted folder',
      run(async ({ a }) => {
        const f = await mkFolder(a);
        await mkItem(a, f);
        await a.deleteFolder(f.id);
        assert.deepEqual(await collect(a.scan(f.id)), []);
        assert.deepEqual(await collect(a.scan('nope', { pageSize: 1 })), []);
      }),
    );
  });
}
