/**
 * Mailbox contract, the hierarchy: folders, the hierarchy sequence and its tombstones, and the
 * default folders.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FOLDERS, isJunkFolder } from '../../src/ports/default-folders.ts';
import { isStoreError, type Folder } from '../../src/ports/types.ts';
import { idSet, ids, mkFolder, mkItem, rejectsWith, type Run } from './mailbox-contract-support.ts';

export function folderTests(run: Run): void {
  describe('folders', () => {
    it(
      'creates, lists, gets and finds folders by serverId',
      run(async ({ a, clock }) => {
        assert.deepEqual(await a.listFolders(), []);
        const t0 = clock.now();
        const top = await mkFolder(a, 'Projects', null, 12);
        clock.advance(1000);
        const sub = await mkFolder(a, 'Receipts', top.id, 13, 'f-7');

        assert.equal(top.serverId, top.id, 'serverId defaults to the id');
        assert.equal(top.userId, a.userId);
        assert.equal(top.parentId, null);
        assert.equal(top.displayName, 'Projects');
        assert.equal(top.type, 12);
        assert.equal(top.modseq, 0, 'no item change yet');
        assert.equal(top.deleted, false);
        assert.deepEqual(top.createdAt, t0);
        assert.deepEqual(top.updatedAt, t0);
        assert.equal(sub.serverId, 'f-7');
        assert.equal(sub.parentId, top.id);
        assert.deepEqual(sub.createdAt, clock.now());
        assert.notEqual(sub.id, top.id);

        const listed = await a.listFolders();
        assert.equal(listed.length, 2);
        assert.deepEqual(listed.find((f) => f.id === top.id), top);
        assert.deepEqual(listed.find((f) => f.id === sub.id), sub);
        assert.deepEqual(await a.getFolder(sub.id), sub);
        assert.deepEqual(await a.getFolderByServerId('f-7'), sub);
        assert.deepEqual(await a.getFolderByServerId(top.serverId), top);
        assert.equal(await a.getFolderByServerId('f-8'), null);
        assert.equal(await a.getFolder('no-such-id'), null);
      }),
    );

    it(
      "refuses a taken serverId (a deleted folder's too), a missing parent and bad input; failures take no sequence",
      run(async ({ a }) => {
        const first = await mkFolder(a, 'A', null, 1, 's1');
        const gen = await mkFolder(a, 'Gen');
        const gone = await mkFolder(a, 'G', null, 1, 's2');
        await a.deleteFolder(gone.id);
        const seq = await a.hierarchyModseq();
        await rejectsWith(mkFolder(a, 'B', null, 1, 's1'), 'conflict', 'live serverId');
        await rejectsWith(mkFolder(a, 'B', null, 1, 's2'), 'conflict', "a tombstone's serverId");
        await rejectsWith(mkFolder(a, 'B', null, 1, gen.id), 'conflict', 'a generated serverId');
        await rejectsWith(mkFolder(a, 'C', 'nope'), 'not_found', 'missing parent');
        await rejectsWith(mkFolder(a, 'C', gone.id), 'not_found', 'deleted parent');
        await rejectsWith(mkFolder(a, ''), 'invalid', 'empty name');
        await rejectsWith(mkFolder(a, 'D', null, 1.5), 'invalid', 'fractional type');
        await rejectsWith(mkFolder(a, 'E', null, 1, ''), 'invalid', 'empty serverId');
        assert.deepEqual(idSet(await a.listFolders()), idSet([first, gen]));
        assert.equal(await a.hierarchyModseq(), seq);
        assert.deepEqual(await a.folderChangesSince(seq), []);
      }),
    );

    it(
      'with uniqueName, refuses a live sibling of the same name (case-insensitive) on create, rename and move, also when two creates race',
      run(async ({ a }) => {
        const parent = await mkFolder(a, 'Projects');
        const raced = await Promise.allSettled([
          a.createFolder({ parentId: parent.id, displayName: 'Acme', type: 12, uniqueName: true }),
          a.createFolder({ parentId: parent.id, displayName: 'ACME', type: 12, uniqueName: true }),
        ]);
        assert.deepEqual(raced.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
        const lost = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.ok(isStoreError(lost.reason, 'conflict'), String(lost.reason));
        await rejectsWith(a.createFolder({ parentId: null, displayName: 'projects', type: 12, uniqueName: true }), 'conflict');
        // Without the flag nothing is checked; elsewhere, or once the sibling is deleted, the name is free.
        await a.createFolder({ parentId: null, displayName: 'PROJECTS', type: 12 });
        const other = await a.createFolder({ parentId: null, displayName: 'Acme', type: 12, uniqueName: true });
        const acme = (await a.listFolders()).find((f) => f.parentId === parent.id)!;
        await a.deleteFolder(acme.id);
        await a.createFolder({ parentId: parent.id, displayName: 'acme', type: 12, uniqueName: true });
        // Moves and renames into a clash are refused; its own name in another case is not a clash.
        await rejectsWith(a.updateFolder(other.id, { parentId: parent.id, uniqueName: true }), 'conflict', 'move');
        await rejectsWith(a.updateFolder(other.id, { displayName: 'Projects', uniqueName: true }), 'conflict', 'rename');
        assert.equal((await a.updateFolder(other.id, { displayName: 'ACME', uniqueName: true })).displayName, 'ACME');
        assert.equal((await a.getFolder(other.id))!.parentId, null, 'the refused move changed nothing');
      }),
    );

    it(
      'updates a folder: rename, retype, move; refuses itself or a descendant as parent',
      run(async ({ a, clock }) => {
        const top = await mkFolder(a, 'A');
        const mid = await mkFolder(a, 'B', top.id);
        const leaf = await mkFolder(a, 'C', mid.id);
        clock.advance(5000);

        const renamed = await a.updateFolder(mid.id, { displayName: 'B2', type: 13 });
        assert.equal(renamed.id, mid.id);
        assert.equal(renamed.serverId, mid.serverId);
        assert.equal(renamed.displayName, 'B2');
        assert.equal(renamed.type, 13);
        assert.equal(renamed.parentId, top.id);
        assert.deepEqual(renamed.createdAt, mid.createdAt);
        assert.deepEqual(renamed.updatedAt, clock.now());
        assert.deepEqual(await a.getFolder(mid.id), renamed);

        assert.equal((await a.updateFolder(leaf.id, { parentId: null })).parentId, null);
        assert.equal((await a.updateFolder(leaf.id, { parentId: top.id })).parentId, top.id);
        assert.equal((await a.updateFolder(leaf.id, { parentId: mid.id })).parentId, mid.id);

        const before = await a.hierarchyModseq();
        await rejectsWith(a.updateFolder(top.id, { parentId: top.id }), 'invalid', 'under itself');
        await rejectsWith(a.updateFolder(top.id, { parentId: mid.id }), 'invalid', 'under its child');
        await rejectsWith(a.updateFolder(top.id, { parentId: leaf.id }), 'invalid', 'under its grandchild');
        await rejectsWith(a.updateFolder(top.id, { parentId: 'nope' }), 'not_found', 'missing parent');
        await rejectsWith(a.updateFolder('nope', { displayName: 'X' }), 'not_found', 'missing folder');
        await rejectsWith(a.updateFolder(top.id, { displayName: '' }), 'invalid', 'empty name');
        await rejectsWith(a.updateFolder(top.id, { type: 2.5 }), 'invalid', 'fractional type');
        assert.equal((await a.getFolder(top.id))!.parentId, null, 'refused moves changed nothing');
        assert.equal(await a.hierarchyModseq(), before, 'refused updates take no sequence');

        // An update with nothing to change is not a change.
        const same = await a.updateFolder(mid.id, {});
        assert.deepEqual(same, await a.getFolder(mid.id));
        assert.equal(await a.hierarchyModseq(), before);
      }),
    );

    it(
      'stamps each folder write with the next hierarchy sequence and reports changes, tombstones included, in order',
      run(async ({ a }) => {
        assert.equal(await a.hierarchyModseq(), 0, 'a new mailbox has had no hierarchy change');
        assert.deepEqual(await a.folderChangesSince(0), []);
        const x = await mkFolder(a, 'X');
        const y = await mkFolder(a, 'Y');
        assert.ok(x.hierarchyModseq > 0);
        assert.ok(y.hierarchyModseq > x.hierarchyModseq);
        assert.equal(await a.hierarchyModseq(), y.hierarchyModseq);

        const seen = await a.hierarchyModseq();
        const x2 = await a.updateFolder(x.id, { displayName: 'X2' });
        assert.ok(x2.hierarchyModseq > seen);
        await a.deleteFolder(y.id);
        const now = await a.hierarchyModseq();
        assert.ok(now > x2.hierarchyModseq);

        const changes = await a.folderChangesSince(seen);
        assert.deepEqual(
          changes.map((f) => [f.id, f.displayName, f.deleted]),
          [
            [x.id, 'X2', false],
            [y.id, 'Y', true],
          ],
        );
        const tomb = changes[1]!;
        assert.equal(tomb.hierarchyModseq, now);
        assert.equal(tomb.serverId, y.serverId, 'a tombstone keeps its serverId');
        assert.deepEqual(changes[0], x2);
        assert.deepEqual(ids(await a.folderChangesSince(0)), [x.id, y.id], 'each folder once, at its last change');
        assert.deepEqual(ids(await a.folderChangesSince(x2.hierarchyModseq)), [y.id]);
        assert.deepEqual(await a.folderChangesSince(now), []);
        await rejectsWith(a.folderChangesSince(-1), 'invalid');
        // Item writes are not hierarchy changes.
        await mkItem(a, x);
        assert.equal(await a.hierarchyModseq(), now);
      }),
    );

    it(
      'gives concurrent folder writes distinct hierarchy sequences, never reused after deletes',
      run(async ({ a }) => {
        const made = await Promise.all(Array.from({ length: 10 }, (_, i) => mkFolder(a, `F${i}`)));
        assert.equal(new Set(made.map((f) => f.hierarchyModseq)).size, 10);
        const after = await a.hierarchyModseq();
        await Promise.all([
          ...made.slice(0, 3).map((f) => a.updateFolder(f.id, { displayName: f.displayName + '!' })),
          ...made.slice(3, 6).map((f) => a.deleteFolder(f.id)),
        ]);
        const changes = await a.folderChangesSince(after);
        assert.equal(changes.length, 6);
        assert.deepEqual(idSet(changes), idSet(made.slice(0, 6)));
        const seqs = changes.map((f) => f.hierarchyModseq);
        for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `strictly increasing: ${seqs}`);
        assert.ok(seqs[0]! > after);
        assert.equal(await a.hierarchyModseq(), seqs[5]);
        assert.equal((await a.listFolders()).length, 7);
        // The next write goes after every sequence given so far, tombstones' included.
        const next = await mkFolder(a, 'Next');
        assert.ok(next.hierarchyModseq > seqs[5]!);
      }),
    );

    it(
      'deletes a folder with its descendants (each a tombstone with its own sequence) and their items',
      run(async ({ a }) => {
        const keep = await mkFolder(a, 'Keep');
        const top = await mkFolder(a, 'Top');
        const mid = await mkFolder(a, 'Mid', top.id);
        const leaf = await mkFolder(a, 'Leaf', mid.id);
        const sibling = await mkFolder(a, 'Sibling', top.id);
        const item = await mkItem(a, leaf, { n: 1 }, { serverId: 'n1', uid: 'U1' });
        const gone = await mkItem(a, mid, { n: 2 }, { serverId: 'n2' });
        await a.deleteItem(gone.id);
        const kept = await mkItem(a, keep, { n: 3 }, { uid: 'U1' });
        const before = await a.hierarchyModseq();

        await a.deleteFolder(top.id);
        assert.deepEqual(ids(await a.listFolders()), [keep.id]);
        for (const f of [top, mid, leaf, sibling]) {
          assert.equal(await a.getFolder(f.id), null);
          assert.equal(await a.getFolderByServerId(f.serverId), null);
        }
        // The items go with their folders: not live, and no tombstone left to find either.
        assert.equal(await a.getItem(item.id), null);
        assert.equal(await a.getItemByServerId('n1'), null);
        assert.equal(await a.getItemByServerId('n1', true), null);
        assert.equal(await a.getItemByServerId('n2', true), null);
        assert.deepEqual(ids(await a.getItemsByUid('U1')), [kept.id]);
        assert.deepEqual(await a.getItem(kept.id), kept);

        const tombstones = await a.folderChangesSince(before);
        assert.deepEqual(idSet(tombstones), idSet([top, mid, leaf, sibling]));
        assert.ok(tombstones.every((f) => f.deleted));
        assert.equal(new Set(tombstones.map((f) => f.hierarchyModseq)).size, 4, 'each tombstone has its own sequence');
        assert.equal(await a.hierarchyModseq(), Math.max(...tombstones.map((f) => f.hierarchyModseq)));

        await rejectsWith(a.deleteFolder(top.id), 'not_found', 'deleted twice');
        await rejectsWith(a.deleteFolder(mid.id), 'not_found', 'a deleted descendant');
        await rejectsWith(mkItem(a, leaf), 'not_found', 'put into a deleted folder');
        await rejectsWith(a.changesSince(leaf.id, 0, 10), 'not_found', 'changes of a deleted folder');
        await rejectsWith(a.updateFolder(mid.id, { displayName: 'X' }), 'not_found', 'update a deleted folder');
        await rejectsWith(mkFolder(a, 'X', mid.id), 'not_found', 'create under a deleted folder');
        await rejectsWith(a.updateFolder(keep.id, { parentId: leaf.id }), 'not_found', 'move under a deleted folder');
        await rejectsWith(mkFolder(a, 'X', null, 1, top.serverId), 'conflict', "a deleted folder's serverId is not reused");
        assert.equal(await a.hierarchyModseq(), Math.max(...tombstones.map((f) => f.hierarchyModseq)));
      }),
    );
  });

  describe('default folders', () => {
    // The typed defaults (2-10) and Junk E-mail (a type-12 folder known by its ServerId).
    const defaultsOf = (folders: Folder[]) => folders.filter((f) => (f.type >= 2 && f.type <= 10) || isJunkFolder(f)).map((f) => f.type).sort((x, y) => x - y);
    const DEFAULT_TYPES = DEFAULT_FOLDERS.map((d) => d.type).sort((x, y) => x - y);

    it(
      'creates the defaults at the root once; a second call changes nothing',
      run(async ({ a }) => {
        const mine = await mkFolder(a, 'Mine', null, 12);
        const first = await a.ensureDefaultFolders();
        assert.deepEqual(defaultsOf(first), DEFAULT_TYPES);
        assert.deepEqual(idSet(first), idSet(await a.listFolders()), 'returns the live folders');
        assert.ok(idSet(first).has(mine.id));
        for (const d of DEFAULT_FOLDERS) {
          // The user's own type-12 folder is not taken for Junk E-mail.
          const f = first.find((x) => x.serverId === d.serverId)!;
          assert.equal(f.type, d.type, d.displayName);
          assert.equal(f.serverId, d.serverId, d.displayName);
          assert.equal(f.displayName, d.displayName);
          assert.equal(f.parentId, null);
        }
        const seq = await a.hierarchyModseq();
        const second = await a.ensureDefaultFolders();
        assert.deepEqual(idSet(second), idSet(first));
        assert.equal(await a.hierarchyModseq(), seq, 'nothing was written');
      }),
    );

    it(
      'two racing calls give one folder of each default type',
      run(async ({ a, provider }) => {
        // Two mailboxes of the same user, as two requests would open.
        const again = provider.open(a.userId);
        const [x, y] = await Promise.all([a.ensureDefaultFolders(), again.ensureDefaultFolders()]);
        const all = await a.listFolders();
        assert.deepEqual(defaultsOf(all), DEFAULT_TYPES);
        assert.equal(all.length, DEFAULT_FOLDERS.length);
        assert.deepEqual(idSet(x), idSet(all));
        assert.deepEqual(idSet(y), idSet(all));
      }),
    );

    it(
      'recreates a deleted default folder as "<serverId>.2", then ".3"',
      run(async ({ a }) => {
        const first = await a.ensureDefaultFolders();
        const inbox = first.find((f) => f.type === 2)!;
        await a.deleteFolder(inbox.id);
        const second = await a.ensureDefaultFolders();
        const inbox2 = second.find((f) => f.type === 2)!;
        assert.notEqual(inbox2.id, inbox.id);
        assert.equal(inbox2.serverId, 'inbox.2');
        assert.equal(inbox2.displayName, 'Inbox');
        assert.deepEqual(defaultsOf(second), DEFAULT_TYPES);
        await a.deleteFolder(inbox2.id);
        const third = await a.ensureDefaultFolders();
        assert.equal(third.find((f) => f.type === 2)!.serverId, 'inbox.3');
        assert.equal(third.length, DEFAULT_FOLDERS.length);
        // Junk E-mail likewise (an administrator may delete it; devices cannot).
        const junk = third.find(isJunkFolder)!;
        await a.deleteFolder(junk.id);
        const fourth = await a.ensureDefaultFolders();
        assert.equal(fourth.find(isJunkFolder)?.serverId, 'junk.2');
        assert.equal(fourth.find(isJunkFolder)?.displayName, 'Junk E-mail');
      }),
    );
  });
}
