/**
 * Mailbox contract, what crosses mailboxes: ownership between users, blobs, the write token and
 * push (watch).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { collect, ids, mkFolder, mkItem, recorder, rejectsWith, type Run } from './mailbox-contract-support.ts';

const part = (text: string) => {
  const data = Buffer.from(text);
  return { sha256: createHash('sha256').update(data).digest('hex'), data };
};

export function crossTests(run: Run): void {
  describe('ownership', () => {
    it(
      "never lets one user's mailbox read another's folders or items, by id or serverId",
      run(async ({ a, b }) => {
        const fa = await mkFolder(a, 'A-Inbox', null, 2, 'shared-sid');
        const sub = await mkFolder(a, 'A-Sub', fa.id);
        const ia = await mkItem(a, fa, { secret: 'a' }, { serverId: 'sa', uid: 'UA' });
        const ta = await mkItem(a, fa, { secret: 't' }, { serverId: 'ta', uid: 'UA' });
        await a.deleteItem(ta.id);
        const hb = await b.hierarchyModseq();

        assert.deepEqual(await b.listFolders(), []);
        assert.equal(await b.getFolder(fa.id), null);
        assert.equal(await b.getFolderByServerId('shared-sid'), null);
        assert.deepEqual(await b.folderChangesSince(0), []);
        assert.equal(hb, 0, "another user's folder writes are not this user's hierarchy changes");
        await rejectsWith(b.changesSince(fa.id, 0, 10), 'not_found');
        assert.deepEqual(await collect(b.scan(fa.id)), []);
        assert.equal(await b.getItem(ia.id), null);
        assert.equal(await b.getItemByServerId('sa'), null);
        assert.equal(await b.getItemByServerId('sa', true), null);
        assert.equal(await b.getItemByServerId('ta', true), null, "another user's tombstone");
        assert.deepEqual(await b.getItemsByUid('UA'), []);

        // ServerIds are per user: b may use the same ones, and then still sees only its own.
        const fb = await mkFolder(b, 'B-Inbox', null, 2, 'shared-sid');
        const ib = await mkItem(b, fb, { mine: 'b' }, { serverId: 'sa', uid: 'UA' });
        assert.equal((await b.getFolderByServerId('shared-sid'))?.id, fb.id);
        assert.equal((await b.getItemByServerId('sa'))?.id, ib.id);
        assert.deepEqual(ids(await b.getItemsByUid('UA')), [ib.id]);
        assert.deepEqual(ids(await b.listFolders()), [fb.id]);
        assert.deepEqual(ids(await b.folderChangesSince(0)), [fb.id]);
        assert.equal((await a.getFolderByServerId('shared-sid'))?.id, fa.id);
        assert.equal((await a.getItemByServerId('sa'))?.id, ia.id);
        assert.deepEqual(ids(await a.listFolders()).sort(), [fa.id, sub.id].sort());
        assert.equal(await b.getFolder(sub.id), null);
      }),
    );

    it(
      "never lets one user's mailbox change another's folders or items",
      run(async ({ a, b, provider }) => {
        const fa = await mkFolder(a, 'A-Inbox');
        const sub = await mkFolder(a, 'A-Sub', fa.id);
        const ia = await mkItem(a, fa, { secret: 'a' }, { serverId: 'sa' });
        const fb = await mkFolder(b, 'B-Inbox');
        const ib = await mkItem(b, fb, { mine: 'b' });
        const fas = [await a.getFolder(fa.id), await a.getFolder(sub.id)];
        const ha = await a.hierarchyModseq();

        await rejectsWith(b.updateFolder(fa.id, { displayName: 'pwned' }), 'not_found', 'rename');
        await rejectsWith(b.updateFolder(fb.id, { parentId: fa.id }), 'not_found', 'move under theirs');
        await rejectsWith(b.createFolder({ parentId: fa.id, displayName: 'x', type: 1 }), 'not_found', 'create under theirs');
        await rejectsWith(b.deleteFolder(sub.id), 'not_found', 'delete');
        await rejectsWith(mkItem(b, fa), 'not_found', 'put into theirs');
        await rejectsWith(b.updateItem(ia.id, { data: { secret: 'b' } }), 'not_found', 'update');
        await rejectsWith(b.updateItem(ia.id, { data: {}, expectedModseq: ia.modseq }), 'not_found', 'update, expected modseq');
        await rejectsWith(b.deleteItem(ia.id), 'not_found', 'delete item');
        await rejectsWith(b.moveItem(ia.id, fb.id), 'not_found', 'move theirs into mine');
        await rejectsWith(b.moveItem(ib.id, fa.id), 'not_found', 'move mine into theirs');
        await rejectsWith(a.moveItem(ia.id, fb.id), 'not_found', 'the owner moving into a foreign folder');
        // A second mailbox object of b changes nothing either; ensureDefaultFolders makes b's own.
        const b2 = provider.open(b.userId);
        await b2.ensureDefaultFolders();
        assert.equal(await a.hierarchyModseq(), ha);

        assert.deepEqual(await a.getItem(ia.id), ia);
        assert.deepEqual([await a.getFolder(fa.id), await a.getFolder(sub.id)], fas);
        assert.deepEqual(ids(await a.changesSince(fa.id, 0, 10)), [ia.id]);
        assert.deepEqual(await b.getItem(ib.id), ib, "the refused move left b's item");
        assert.equal((await b.getFolder(fb.id))?.modseq, ib.modseq);
      }),
    );
  });

  describe('blobs', () => {
    it(
      'keeps blobs by sha256, once; refuses a part whose hash does not match; hands out copies',
      run(async ({ a, b }) => {
        const p = part('message source');
        const q = part('an attachment');
        assert.equal(await a.getBlob(p.sha256), null);
        await a.putBlobs([p, q, p]);
        assert.deepEqual(await a.getBlob(p.sha256), p.data);
        assert.deepEqual(await a.getBlob(q.sha256), q.data);
        await a.putBlobs([p]);
        await a.putBlobs([]);
        assert.deepEqual(await a.getBlob(p.sha256), p.data);
        // Blobs are shared by content (a message delivered to many keeps one copy).
        assert.deepEqual(await b.getBlob(q.sha256), q.data);

        const r = part('never stored');
        await rejectsWith(a.putBlobs([{ sha256: r.sha256, data: Buffer.from('other bytes') }]), 'invalid', 'wrong hash');
        await rejectsWith(a.putBlobs([r, { sha256: 'not-hex', data: r.data }]), 'invalid', 'not a hash');
        await rejectsWith(a.putBlobs([{ sha256: r.sha256.toUpperCase(), data: r.data }]), 'invalid', 'uppercase hex');
        assert.equal(await a.getBlob(r.sha256), null, 'a refused call keeps nothing');

        const copy = (await a.getBlob(p.sha256))!;
        copy.fill(0);
        p.data.fill(0);
        assert.deepEqual(await a.getBlob(p.sha256), Buffer.from('message source'));
      }),
    );
  });

  describe('write token', () => {
    it(
      'changes after every kind of write',
      run(async ({ a, b }) => {
        const token = async () => await a.writeToken();
        if ((await token()) === undefined) return; // this backend cannot tell: nothing to check
        const changes = async (what: string, write: () => Promise<unknown>) => {
          const before = await token();
          await write();
          assert.notEqual(await token(), before, what);
        };
        let f = await mkFolder(a);
        let item = await mkItem(a, f);
        await changes('createFolder', async () => (f = await mkFolder(a, 'Other')));
        await changes('updateFolder', () => a.updateFolder(f.id, { displayName: 'Renamed' }));
        await changes('putItem', async () => (item = await mkItem(a, f)));
        await changes('updateItem', async () => (item = await a.updateItem(item.id, { data: { v: 2 } })));
        const g = await mkFolder(a, 'Target');
        await changes('moveItem', async () => (item = await a.moveItem(item.id, g.id)));
        await changes('deleteItem', () => a.deleteItem(item.id));
        await changes('deleteFolder', () => a.deleteFolder(f.id));
        await changes('ensureDefaultFolders', () => a.ensureDefaultFolders());
        await changes('putBlobs', () => a.putBlobs([part(`blob ${Date.now()}`)]));
        await changes("another user's write", () => mkFolder(b));
      }),
    );
  });

  describe('watch', () => {
    it(
      "reports each item write in its folder and each hierarchy write as null, only the user's",
      run(async ({ a, b, provider, harness }) => {
        const w = recorder();
        const stop = provider.watch(a.userId, null, w.onChange);
        try {
          const f = await mkFolder(a, 'F');
          await w.heard(null, 'createFolder');
          const g = await mkFolder(a, 'G');
          await w.heard(null, 'createFolder', 2);
          const sub = await mkFolder(a, 'Sub', f.id);
          await w.heard(null, 'createFolder (child)', 3);
          const item = await mkItem(a, f);
          await w.heard(f.id, 'putItem');
          await a.updateItem(item.id, { data: { v: 2 } });
          await w.heard(f.id, 'updateItem', 2);
          const moved = await a.moveItem(item.id, g.id);
          await w.until((ev) => ev.filter((e) => e === f.id).length >= 3 && ev.includes(g.id), 'moveItem: both folders');
          await a.deleteItem(moved.id);
          await w.heard(g.id, 'deleteItem', 2);
          await a.updateFolder(g.id, { displayName: 'G2' });
          await w.heard(null, 'updateFolder', 4);
          await mkItem(a, sub);
          await w.heard(sub.id, 'putItem (sub)');
          await a.deleteFolder(f.id);
          const n = (ev: readonly (string | null)[], id: string | null) => ev.filter((e) => e === id).length;
          await w.until((ev) => n(ev, null) >= 5 && n(ev, f.id) >= 4 && n(ev, sub.id) >= 2, 'deleteFolder: the hierarchy and each deleted folder');
          if (harness.exactWatch) {
            // Nothing from another user's writes, nor from failed ones: a last write of a's,
            // delivered in order after them, shows nothing else came.
            const fb = await mkFolder(b, 'B');
            await mkItem(b, fb);
            await rejectsWith(mkItem(a, f), 'not_found');
            await rejectsWith(a.updateFolder('nope', { displayName: 'x' }), 'not_found');
            const seen = w.events.length;
            await mkItem(a, g);
            await w.heard(g.id, 'the last putItem', 3);
            assert.deepEqual(w.events.slice(seen), [g.id]);
            assert.deepEqual(counts(w.events), counts([null, null, null, null, null, f.id, f.id, f.id, f.id, g.id, g.id, g.id, sub.id, sub.id]));
          }
        } finally {
          stop();
        }
      }),
    );

    it(
      'calls a listener after the write is visible, so it can read the change',
      run(async ({ a, provider }) => {
        const f = await mkFolder(a);
        const read = new Promise<string[]>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no notification')), 5000);
          const stop = provider.watch(a.userId, [f.id], (folderId) => {
            if (folderId !== f.id) return;
            stop();
            clearTimeout(timer);
            a.changesSince(f.id, 0, 10).then((items) => resolve(ids(items)), reject);
          });
        });
        const item = await mkItem(a, f);
        assert.deepEqual(await read, [item.id]);
      }),
    );

    it(
      'with a folder filter, reports the watched folders and the hierarchy',
      run(async ({ a, provider, harness }) => {
        const f = await mkFolder(a, 'F');
        const g = await mkFolder(a, 'G');
        const h = await mkFolder(a, 'H');
        const w = recorder();
        const stop = provider.watch(a.userId, [f.id, h.id], w.onChange);
        try {
          await mkItem(a, g);
          await mkItem(a, f);
          await w.heard(f.id, 'putItem in F');
          await mkItem(a, h);
          await w.heard(h.id, 'putItem in H');
          await mkFolder(a, 'New');
          await w.heard(null, 'a hierarchy change');
          await a.deleteFolder(h.id);
          await w.heard(h.id, 'the watched folder deleted', 2);
          if (harness.exactWatch) assert.ok(!w.events.includes(g.id), `an unwatched folder was reported: ${JSON.stringify(w.events)}`);
        } finally {
          stop();
        }
      }),
    );

    it(
      'stops reporting once stopped, also when stopped by another listener of the same change',
      run(async ({ a, provider }) => {
        const f = await mkFolder(a);
        const first = recorder();
        const second = recorder();
        const last = recorder();
        // Item changes only: the folder's creation may still arrive (PostgreSQL delivers later).
        const itemsOf = (r: { onChange: (id: string | null) => void }) => (id: string | null) => {
          if (id === f.id) r.onChange(id);
        };
        let stopSecond = (): void => {};
        // The first listener stops the second while one change is being reported to both.
        const stopFirst = provider.watch(a.userId, [f.id], (id) => {
          itemsOf(first)(id);
          if (id === f.id && first.events.length === 2) stopSecond();
        });
        stopSecond = provider.watch(a.userId, [f.id], itemsOf(second));
        const stopLast = provider.watch(a.userId, [f.id], itemsOf(last));
        try {
          await mkItem(a, f);
          await last.heard(f.id, 'first put');
          assert.equal(second.events.length, 1);
          await mkItem(a, f);
          await last.heard(f.id, 'second put', 2);
          assert.equal(first.events.length, 2);
          assert.equal(second.events.length, 1, 'stopped during the change it was about to hear');
          stopFirst();
          stopFirst(); // twice is harmless
          await mkItem(a, f);
          await last.heard(f.id, 'third put', 3);
          assert.equal(first.events.length, 2);
          assert.equal(second.events.length, 1);
        } finally {
          stopLast();
        }
      }),
    );

    it(
      'a throwing or rejecting listener breaks neither the write nor the other listeners, and is reported',
      run(async ({ a, provider, harness }) => {
        const f = await mkFolder(a);
        const boom = new Error('listener boom');
        const stops = [
          provider.watch(a.userId, null, () => {
            throw boom;
          }),
          provider.watch(a.userId, null, async () => {
            throw boom;
          }),
        ];
        const w = recorder();
        stops.push(provider.watch(a.userId, null, w.onChange));
        try {
          const item = await mkItem(a, f, { ok: true });
          await w.heard(f.id, 'putItem');
          assert.deepEqual(await a.getItem(item.id), item);
          await a.updateItem(item.id, { data: {} });
          await w.heard(f.id, 'updateItem', 2);
          const errors = harness.listenerErrors;
          if (errors) {
            // The rejection is reported a tick later.
            // Both failing listeners hear what the recording one hears (with PostgreSQL that may
            // include the folder's creation): each of those changes failed twice.
            const expected = 2 * w.events.length;
            for (let i = 0; i < 100 && errors.length < expected; i++) await new Promise((r) => setTimeout(r, 10));
            assert.equal(errors.length, expected, `two listeners failed on each change: ${errors.map(String)}`);
            for (const err of errors) assert.ok(err === boom || (err as Error).cause === boom, String(err));
          }
        } finally {
          for (const stop of stops) stop();
        }
      }),
    );
  });
}

/** How many times each folder (null: the hierarchy) was reported. */
function counts(events: readonly (string | null)[]): Map<string | null, number> {
  const m = new Map<string | null, number>();
  for (const e of [...events].sort()) m.set(e, (m.get(e) ?? 0) + 1);
  return m;
}
