/**
 * The Store contract: one suite every backend runs (sqlite.test.ts, postgres.test.ts).
 * Each test opens a fresh, empty store with a fake clock and cleans it up after.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeOptions } from '../../src/store/changes.ts';
import {
  HIERARCHY_COLLECTION,
  isStoreError,
  StoreError,
  type ChangeEvent,
  type Folder,
  type Store,
  type StoreErrorCode,
  type StoreOptions,
  type User,
} from '../../src/store/types.ts';

export interface OpenedStore {
  store: Store;
  cleanup: () => Promise<void>;
  /** Opens a second Store on the same database; enables the migration idempotency test. */
  reopen?: () => Promise<Store>;
}

export type OpenStore = (opts?: StoreOptions & ChangeOptions) => Promise<OpenedStore>;

class FakeClock {
  ms = Date.parse('2025-03-01T08:00:00.000Z');
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** How long a test waits for an expected change notification before failing. */
const NOTIFY_TIMEOUT_MS = 5000;

/**
 * Records the change notifications a store delivers. Both backends deliver in commit order
 * (SQLite synchronously after the commit, PostgreSQL when the NOTIFY arrives), so sequential
 * writes can be checked step by step.
 */
export function watchChanges(store: Store) {
  const events: ChangeEvent[] = [];
  let wake: (() => void) | undefined;
  const off = store.subscribeChanges((e) => {
    events.push(e);
    wake?.();
  });
  /** Resolves once `n` events have arrived in all; fails after a timeout instead of hanging. */
  const until = async (n: number, what: string, ms = NOTIFY_TIMEOUT_MS): Promise<void> => {
    const deadline = Date.now() + ms;
    while (events.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`timed out after ${ms} ms waiting for ${what}; events so far: ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  return { events, off, until };
}

const byKey = (a: ChangeEvent, b: ChangeEvent) => JSON.stringify(a).localeCompare(JSON.stringify(b));

export function runStoreContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    /** Runs `fn` against a fresh store, always cleaning up. */
    const withStore = (fn: (store: Store, clock: FakeClock, opened: OpenedStore) => Promise<void>) => async () => {
      const clock = new FakeClock();
      const opened = await open({ now: clock.now });
      try {
        await fn(opened.store, clock, opened);
      } finally {
        await opened.cleanup();
      }
    };

    const mkUser = (store: Store, email = 'alice@example.com') =>
      store.createUser({ email, passwordHash: 'scrypt$hash-of-' + email, displayName: 'Someone' });

    const mkFolder = (store: Store, user: User, displayName = 'Inbox', parentId: string | null = null, type = 2) =>
      store.createFolder({ userId: user.id, parentId, displayName, type });

    describe('users', () => {
      it(
        'creates and reads a user, email lowercased and trimmed',
        withStore(async (store, clock) => {
          const u = await store.createUser({ email: '  Alice@Example.COM ', passwordHash: 'h1', displayName: 'Alice' });
          assert.equal(u.email, 'alice@example.com');
          assert.equal(u.displayName, 'Alice');
          assert.equal(u.passwordHash, 'h1');
          assert.equal(typeof u.id, 'string');
          assert.ok(u.id.length > 0);
          assert.deepEqual(u.createdAt, clock.now());

          assert.deepEqual(await store.getUserById(u.id), u);
          assert.deepEqual(await store.getUserByEmail('ALICE@example.com'), u);
          assert.deepEqual(await store.getUserByEmail(' alice@example.com'), u);
          assert.equal(await store.getUserByEmail('bob@example.com'), null);
          assert.equal(await store.getUserById('no-such-id'), null);

          const noName = await store.createUser({ email: 'x@example.com', passwordHash: 'h' });
          assert.equal(noName.displayName, null);
        }),
      );

      it(
        'rejects a duplicate email, whatever its case, with conflict',
        withStore(async (store) => {
          await mkUser(store, 'alice@example.com');
          await rejectsWith(store.createUser({ email: 'ALICE@example.com', passwordHash: 'x' }), 'conflict');
          assert.equal(await store.countUsers(), 1);
        }),
      );

      it(
        'rejects an empty email or password hash with invalid',
        withStore(async (store) => {
          await rejectsWith(store.createUser({ email: '  ', passwordHash: 'x' }), 'invalid');
          await rejectsWith(store.createUser({ email: 'a@b.c', passwordHash: '' }), 'invalid');
        }),
      );

      it(
        'lists users by email and counts them',
        withStore(async (store) => {
          assert.equal(await store.countUsers(), 0);
          assert.deepEqual(await store.listUsers(), []);
          await mkUser(store, 'carol@example.com');
          await mkUser(store, 'alice@example.com');
          await mkUser(store, 'bob@example.com');
          assert.equal(await store.countUsers(), 3);
          assert.deepEqual(
            (await store.listUsers()).map((u) => u.email),
            ['alice@example.com', 'bob@example.com', 'carol@example.com'],
          );
        }),
      );

      it(
        'sets a password hash',
        withStore(async (store) => {
          const u = await mkUser(store);
          await store.setPasswordHash(u.id, 'h2');
          assert.equal((await store.getUserById(u.id))?.passwordHash, 'h2');
          await rejectsWith(store.setPasswordHash('no-such-id', 'h3'), 'not_found');
        }),
      );

      it(
        "deletes a user with their folders, items and devices, leaving others' alone",
        withStore(async (store) => {
          const a = await mkUser(store, 'a@example.com');
          const b = await mkUser(store, 'b@example.com');
          const fa = await mkFolder(store, a);
          const sub = await mkFolder(store, a, 'Sub', fa.id, 12);
          const ia = await store.putItem({ userId: a.id, folderId: sub.id, class: 'Email', data: { s: 1 } });
          await store.upsertDevice({ userId: a.id, deviceId: 'DEVA', deviceType: 'iPhone' });
          const fb = await mkFolder(store, b);
          const ib = await store.putItem({ userId: b.id, folderId: fb.id, class: 'Email', data: { s: 2 } });
          await store.upsertDevice({ userId: b.id, deviceId: 'DEVB', deviceType: 'Android' });

          await store.deleteUser(a.id);
          assert.equal(await store.getUserById(a.id), null);
          assert.equal(await store.getUserByEmail('a@example.com'), null);
          assert.deepEqual(await store.listFolders(a.id), []);
          assert.equal(await store.getFolder(a.id, fa.id), null);
          assert.equal(await store.getItem(a.id, ia.id), null);
          assert.deepEqual(await store.listDevices(a.id), []);
          assert.equal(await store.getDevice(a.id, 'DEVA'), null);
          await rejectsWith(store.deleteUser(a.id), 'not_found');

          assert.equal(await store.countUsers(), 1);
          assert.deepEqual(await store.getItem(b.id, ib.id), ib);
          assert.equal((await store.listFolders(b.id)).length, 1);
          assert.equal((await store.listDevices()).length, 1);

          // The email is free again.
          await mkUser(store, 'a@example.com');
        }),
      );
    });

    describe('folders', () => {
      it(
        'creates, lists, gets and finds folders by serverId',
        withStore(async (store, clock) => {
          const u = await mkUser(store);
          const inbox = await mkFolder(store, u, 'Inbox', null, 2);
          clock.advance(1000);
          const sub = await store.createFolder({ userId: u.id, parentId: inbox.id, displayName: 'Receipts', type: 12, serverId: 'f-7' });

          assert.equal(inbox.serverId, inbox.id, 'serverId defaults to the id');
          assert.equal(inbox.parentId, null);
          assert.equal(inbox.type, 2);
          assert.equal(inbox.modseq, 0);
          assert.equal(inbox.deleted, false);
          assert.equal(typeof inbox.hierarchyModseq, 'number');
          assert.deepEqual(inbox.createdAt, new Date('2025-03-01T08:00:00.000Z'));
          assert.equal(sub.serverId, 'f-7');
          assert.equal(sub.parentId, inbox.id);

          assert.deepEqual(await store.listFolders(u.id), [inbox, sub]);
          assert.deepEqual(await store.getFolder(u.id, sub.id), sub);
          assert.deepEqual(await store.getFolderByServerId(u.id, 'f-7'), sub);
          assert.equal(await store.getFolderByServerId(u.id, 'f-8'), null);
          assert.equal(await store.getFolder(u.id, 'no-such-id'), null);
        }),
      );

      it(
        'rejects a taken serverId, a missing parent, a missing user and bad input',
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          await store.createFolder({ userId: u.id, parentId: null, displayName: 'A', type: 1, serverId: 's1' });
          await rejectsWith(store.createFolder({ userId: u.id, parentId: null, displayName: 'B', type: 1, serverId: 's1' }), 'conflict');
          // serverIds are per user.
          await store.createFolder({ userId: v.id, parentId: null, displayName: 'B', type: 1, serverId: 's1' });
          await rejectsWith(store.createFolder({ userId: u.id, parentId: 'nope', displayName: 'C', type: 1 }), 'not_found');
          await rejectsWith(store.createFolder({ userId: 'nobody', parentId: null, displayName: 'C', type: 1 }), 'not_found');
          await rejectsWith(store.createFolder({ userId: u.id, parentId: null, displayName: '', type: 1 }), 'invalid');
          await rejectsWith(store.createFolder({ userId: u.id, parentId: null, displayName: 'D', type: 1.5 }), 'invalid');
          assert.equal((await store.listFolders(u.id)).length, 1);
        }),
      );

      it(
        'with uniqueName, refuses a live sibling of the same name (case-insensitive), also when two creates race',
        withStore(async (store) => {
          const u = await mkUser(store);
          const parent = await store.createFolder({ userId: u.id, parentId: null, displayName: 'Projects', type: 12 });
          // Racing: both looked before either wrote; exactly one may win.
          const raced = await Promise.allSettled([
            store.createFolder({ userId: u.id, parentId: parent.id, displayName: 'Acme', type: 12, uniqueName: true }),
            store.createFolder({ userId: u.id, parentId: parent.id, displayName: 'ACME', type: 12, uniqueName: true }),
          ]);
          assert.deepEqual(raced.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
          const lost = raced.find((r) => r.status === 'rejected') as PromiseRejectedResult;
          assert.ok(isStoreError(lost.reason, 'conflict'), String(lost.reason));
          await rejectsWith(store.createFolder({ userId: u.id, parentId: null, displayName: 'projects', type: 12, uniqueName: true }), 'conflict');
          // Elsewhere, or once the sibling is deleted, the name is free; without the flag nothing is checked.
          const other = await store.createFolder({ userId: u.id, parentId: null, displayName: 'Acme', type: 12, uniqueName: true });
          const acme = (await store.listFolders(u.id)).find((f) => f.parentId === parent.id)!;
          await store.deleteFolder(u.id, acme.id);
          await store.createFolder({ userId: u.id, parentId: parent.id, displayName: 'acme', type: 12, uniqueName: true });
          // Renames and moves: into a clash refused, onto its own name (another case) allowed.
          await rejectsWith(store.updateFolder(u.id, other.id, { parentId: parent.id, uniqueName: true }), 'conflict');
          await rejectsWith(store.updateFolder(u.id, other.id, { displayName: 'PROJECTS', uniqueName: true }), 'conflict');
          assert.equal((await store.updateFolder(u.id, other.id, { displayName: 'ACME', uniqueName: true })).displayName, 'ACME');
          assert.equal((await store.getFolder(u.id, other.id))!.parentId, null, 'the refused move changed nothing');
        }),
      );

      it(
        'updates a folder: rename, retype, move; refuses cycles',
        withStore(async (store, clock) => {
          const u = await mkUser(store);
          const a = await mkFolder(store, u, 'A');
          const b = await mkFolder(store, u, 'B', a.id);
          const c = await mkFolder(store, u, 'C', b.id);
          clock.advance(5000);

          const renamed = await store.updateFolder(u.id, b.id, { displayName: 'B2', type: 13 });
          assert.equal(renamed.displayName, 'B2');
          assert.equal(renamed.type, 13);
          assert.equal(renamed.parentId, a.id);
          assert.deepEqual(renamed.updatedAt, clock.now());
          assert.deepEqual(renamed.createdAt, b.createdAt);

          const moved = await store.updateFolder(u.id, c.id, { parentId: null });
          assert.equal(moved.parentId, null);
          assert.equal((await store.updateFolder(u.id, c.id, { parentId: a.id })).parentId, a.id);

          await rejectsWith(store.updateFolder(u.id, a.id, { parentId: a.id }), 'invalid');
          await rejectsWith(store.updateFolder(u.id, a.id, { parentId: b.id }), 'invalid');
          await rejectsWith(store.updateFolder(u.id, a.id, { parentId: 'nope' }), 'not_found');
          await rejectsWith(store.updateFolder(u.id, 'nope', { displayName: 'X' }), 'not_found');
          await rejectsWith(store.updateFolder(u.id, a.id, { displayName: '' }), 'invalid');
          assert.deepEqual(await store.getFolder(u.id, b.id), renamed);
        }),
      );

      it(
        'counts hierarchy changes and reports them, tombstones included, in order',
        withStore(async (store) => {
          const u = await mkUser(store);
          assert.equal(await store.getHierarchyModseq(u.id), 0);
          const a = await mkFolder(store, u, 'A');
          const b = await mkFolder(store, u, 'B');
          assert.equal(a.hierarchyModseq, 1);
          assert.equal(b.hierarchyModseq, 2);
          assert.equal(await store.getHierarchyModseq(u.id), 2);

          const seen = await store.getHierarchyModseq(u.id);
          const a2 = await store.updateFolder(u.id, a.id, { displayName: 'A2' });
          assert.equal(a2.hierarchyModseq, 3);
          await store.deleteFolder(u.id, b.id);
          assert.equal(await store.getHierarchyModseq(u.id), 4);

          const changes = await store.listFolderChangesSince(u.id, seen);
          assert.deepEqual(
            changes.map((f) => [f.id, f.displayName, f.deleted, f.hierarchyModseq]),
            [
              [a.id, 'A2', false, 3],
              [b.id, 'B', true, 4],
            ],
          );
          assert.equal((await store.listFolderChangesSince(u.id, 0)).length, 2);
          assert.deepEqual(await store.listFolderChangesSince(u.id, 4), []);
          // An update with nothing to change is not a change.
          await store.updateFolder(u.id, a.id, {});
          assert.equal(await store.getHierarchyModseq(u.id), 4);
          await rejectsWith(store.getHierarchyModseq('nobody'), 'not_found');
        }),
      );

      it(
        'assigns distinct hierarchy sequences to concurrent folder changes',
        withStore(async (store) => {
          const u = await mkUser(store);
          const made = await Promise.all(Array.from({ length: 10 }, (_, i) => mkFolder(store, u, `F${i}`)));
          await Promise.all([
            ...made.slice(0, 3).map((f) => store.updateFolder(u.id, f.id, { displayName: f.displayName + '!' })),
            ...made.slice(3, 6).map((f) => store.deleteFolder(u.id, f.id)),
          ]);
          assert.deepEqual(made.map((f) => f.hierarchyModseq).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          const changes = await store.listFolderChangesSince(u.id, 10);
          assert.deepEqual(
            changes.map((f) => f.hierarchyModseq),
            [11, 12, 13, 14, 15, 16],
          );
          assert.deepEqual(new Set(changes.map((f) => f.id)), new Set(made.slice(0, 6).map((f) => f.id)));
          assert.equal(await store.getHierarchyModseq(u.id), 16);
          assert.equal((await store.listFolders(u.id)).length, 7);
        }),
      );

      it(
        'deletes a folder with its descendants and their items',
        withStore(async (store) => {
          const u = await mkUser(store);
          const keep = await mkFolder(store, u, 'Keep');
          const top = await mkFolder(store, u, 'Top');
          const mid = await mkFolder(store, u, 'Mid', top.id);
          const leaf = await mkFolder(store, u, 'Leaf', mid.id);
          const item = await store.putItem({ userId: u.id, folderId: leaf.id, class: 'Notes', data: { n: 1 }, serverId: 'n1' });
          const kept = await store.putItem({ userId: u.id, folderId: keep.id, class: 'Notes', data: { n: 2 } });
          // A device synced the doomed leaf and the kept folder.
          await store.upsertDevice({ userId: u.id, deviceId: 'DEVDEL', deviceType: 'iPhone' });
          for (const f of [leaf, keep]) {
            await store.saveSyncState({ userId: u.id, deviceId: 'DEVDEL', collectionId: f.id, syncKey: 'k1', data: { modseq: 1 } }, []);
            await store.putClientAdd(u.id, 'DEVDEL', f.id, 'client-1', f === leaf ? item.id : kept.id);
          }
          const before = await store.getHierarchyModseq(u.id);

          await store.deleteFolder(u.id, top.id);
          // The deleted folders' sync states and ClientId maps are gone; the kept folder's stay.
          assert.equal(await store.getSyncState(u.id, 'DEVDEL', leaf.id, 'k1'), null);
          assert.equal(await store.getClientAdd(u.id, 'DEVDEL', leaf.id, 'client-1'), null);
          assert.ok(await store.getSyncState(u.id, 'DEVDEL', keep.id, 'k1'));
          assert.equal(await store.getClientAdd(u.id, 'DEVDEL', keep.id, 'client-1'), kept.id);
          assert.deepEqual(
            (await store.listFolders(u.id)).map((f) => f.id),
            [keep.id],
          );
          for (const f of [top, mid, leaf]) assert.equal(await store.getFolder(u.id, f.id), null);
          assert.equal(await store.getItem(u.id, item.id), null);
          assert.equal(await store.getItemByServerId(u.id, 'n1'), null);
          assert.deepEqual(await store.getItem(u.id, kept.id), kept);

          const tombstones = await store.listFolderChangesSince(u.id, before);
          assert.deepEqual(new Set(tombstones.map((f) => f.id)), new Set([top.id, mid.id, leaf.id]));
          assert.ok(tombstones.every((f) => f.deleted));
          assert.equal(new Set(tombstones.map((f) => f.hierarchyModseq)).size, 3, 'each tombstone has its own sequence');
          assert.equal(await store.getHierarchyModseq(u.id), before + 3);

          await rejectsWith(store.deleteFolder(u.id, top.id), 'not_found');
          await rejectsWith(store.putItem({ userId: u.id, folderId: leaf.id, class: 'Notes', data: {} }), 'not_found');
          await rejectsWith(store.listChangesSince(u.id, leaf.id, 0, 10), 'not_found');
          await rejectsWith(store.updateFolder(u.id, mid.id, { displayName: 'X' }), 'not_found');
          await rejectsWith(store.createFolder({ userId: u.id, parentId: mid.id, displayName: 'X', type: 1 }), 'not_found');
          // A deleted folder's serverId is not reused.
          await rejectsWith(
            store.createFolder({ userId: u.id, parentId: null, displayName: 'X', type: 1, serverId: top.serverId }),
            'conflict',
          );
        }),
      );
    });

    describe('items', () => {
      it(
        'records the sequence an item was created or moved in at, kept across updates',
        withStore(async (store) => {
          const u = await mkUser(store);
          const a = await mkFolder(store, u, 'A');
          const b = await mkFolder(store, u, 'B');
          const first = await store.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: { n: 1 } });
          await store.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: { n: 2 } });
          assert.equal(first.createdModseq, first.modseq);
          const updated = await store.updateItem(u.id, first.id, { data: { n: 3 } });
          assert.equal(updated.createdModseq, first.createdModseq, 'an update keeps the creation sequence');
          assert.ok(updated.modseq > updated.createdModseq);
          await store.putItem({ userId: u.id, folderId: b.id, class: 'Email', data: { n: 4 } });
          const moved = await store.moveItem(u.id, first.id, b.id);
          assert.equal(moved.createdModseq, moved.modseq, 'a moved-in item is new to its folder');
          assert.equal(moved.createdModseq, 2);
          const [tombstone] = (await store.listChangesSince(u.id, a.id, 2, 10)).filter((i) => i.deleted);
          assert.equal(tombstone?.createdModseq, first.createdModseq, 'the tombstone keeps its creation sequence');
        }),
      );

      it(
        'puts, gets, updates and deletes an item with strictly increasing modseq',
        withStore(async (store, clock) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u, 'Calendar', null, 8);
          const data = { subject: 'Réunion ☕', start: '2025-03-02T09:00:00Z', attendees: [{ email: 'b@x', status: 0 }], allDay: false, note: null };

          const it1 = await store.putItem({ userId: u.id, folderId: f.id, class: 'Calendar', data, uid: 'UID-1' });
          assert.equal(it1.serverId, it1.id, 'serverId defaults to the id');
          assert.equal(it1.class, 'Calendar');
          assert.deepEqual(it1.data, data);
          assert.equal(it1.uid, 'UID-1');
          assert.equal(it1.modseq, 1);
          assert.equal(typeof it1.modseq, 'number');
          assert.equal(it1.deleted, false);
          assert.equal(it1.folderId, f.id);
          assert.equal(it1.userId, u.id);
          assert.deepEqual(await store.getItem(u.id, it1.id), it1);
          assert.equal((await store.getFolder(u.id, f.id))?.modseq, 1);

          const it2 = await store.putItem({ userId: u.id, folderId: f.id, class: 'Calendar', data: { subject: 'x' }, serverId: '8:2' });
          assert.equal(it2.modseq, 2);
          assert.equal(it2.uid, null);
          assert.deepEqual(await store.getItemByServerId(u.id, '8:2'), it2);

          clock.advance(60_000);
          const up = await store.updateItem(u.id, it1.id, { data: { subject: 'moved' } });
          assert.equal(up.modseq, 3);
          assert.equal(up.id, it1.id);
          assert.equal(up.serverId, it1.serverId);
          assert.equal(up.uid, 'UID-1', 'uid is kept when not in the patch');
          assert.deepEqual(up.data, { subject: 'moved' });
          assert.deepEqual(up.createdAt, it1.createdAt);
          assert.deepEqual(up.updatedAt, clock.now());
          assert.equal((await store.updateItem(u.id, it1.id, { uid: null })).uid, null);

          await store.deleteItem(u.id, it2.id);
          assert.equal(await store.getItem(u.id, it2.id), null);
          assert.equal(await store.getItemByServerId(u.id, '8:2'), null);
          assert.equal((await store.getFolder(u.id, f.id))?.modseq, 5);
          await rejectsWith(store.deleteItem(u.id, it2.id), 'not_found');
          await rejectsWith(store.updateItem(u.id, it2.id, { data: {} }), 'not_found');
          await rejectsWith(store.updateItem(u.id, 'nope', { data: {} }), 'not_found');
        }),
      );

      it(
        'keeps one sequence per folder',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f1 = await mkFolder(store, u, 'One');
          const f2 = await mkFolder(store, u, 'Two');
          const seqs: number[] = [];
          for (let i = 0; i < 3; i++) seqs.push((await store.putItem({ userId: u.id, folderId: f1.id, class: 'Email', data: { i } })).modseq);
          const other = await store.putItem({ userId: u.id, folderId: f2.id, class: 'Email', data: {} });
          assert.deepEqual(seqs, [1, 2, 3]);
          assert.equal(other.modseq, 1);
        }),
      );

      it(
        'lists changes and tombstones since a modseq, in order, up to a limit',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          const a = await store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { n: 'a' } }); // 1
          const b = await store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { n: 'b' } }); // 2
          const c = await store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { n: 'c' }, uid: 'U' }); // 3
          await store.updateItem(u.id, a.id, { data: { n: 'a2' } }); // 4
          await store.deleteItem(u.id, c.id); // 5

          const all = await store.listChangesSince(u.id, f.id, 0, 100);
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
            (await store.listChangesSince(u.id, f.id, 2, 100)).map((i) => i.modseq),
            [4, 5],
          );
          assert.deepEqual(
            (await store.listChangesSince(u.id, f.id, 0, 2)).map((i) => i.modseq),
            [2, 4],
          );
          assert.deepEqual(
            (await store.listChangesSince(u.id, f.id, 4, 1)).map((i) => i.modseq),
            [5],
          );
          assert.deepEqual(await store.listChangesSince(u.id, f.id, 5, 100), []);
          await rejectsWith(store.listChangesSince(u.id, f.id, 0, 0), 'invalid');
          await rejectsWith(store.listChangesSince(u.id, f.id, -1, 10), 'invalid');
          await rejectsWith(store.listChangesSince(u.id, 'nope', 0, 10), 'not_found');
        }),
      );

      it(
        'refuses a stale update when expectedModseq is given',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          const it1 = await store.putItem({ userId: u.id, folderId: f.id, class: 'Contacts', data: { v: 1 } });
          const it2 = await store.updateItem(u.id, it1.id, { data: { v: 2 }, expectedModseq: it1.modseq });
          await rejectsWith(store.updateItem(u.id, it1.id, { data: { v: 3 }, expectedModseq: it1.modseq }), 'conflict');
          assert.deepEqual(await store.getItem(u.id, it1.id), it2);
          assert.equal((await store.getFolder(u.id, f.id))?.modseq, it2.modseq, 'a refused update takes no sequence');
        }),
      );

      it(
        'rejects a taken serverId per user, unknown classes and non-object data',
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          const fu = await mkFolder(store, u);
          const fv = await mkFolder(store, v);
          await store.putItem({ userId: u.id, folderId: fu.id, class: 'Tasks', data: {}, serverId: 'x1' });
          await rejectsWith(store.putItem({ userId: u.id, folderId: fu.id, class: 'Tasks', data: {}, serverId: 'x1' }), 'conflict');
          await store.putItem({ userId: v.id, folderId: fv.id, class: 'Tasks', data: {}, serverId: 'x1' });
          await rejectsWith(store.putItem({ userId: u.id, folderId: fu.id, class: 'Memo' as 'Notes', data: {} }), 'invalid');
          await rejectsWith(store.putItem({ userId: u.id, folderId: fu.id, class: 'Notes', data: [] as unknown as {} }), 'invalid');
          await rejectsWith(store.putItem({ userId: u.id, folderId: 'nope', class: 'Notes', data: {} }), 'not_found');
          assert.equal((await store.getFolder(u.id, fu.id))?.modseq, 1, 'failed puts take no sequence');
        }),
      );

      it(
        'finds live items by uid',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f1 = await mkFolder(store, u, 'Cal', null, 8);
          const f2 = await mkFolder(store, u, 'Inbox', null, 2);
          const a = await store.putItem({ userId: u.id, folderId: f1.id, class: 'Calendar', data: {}, uid: 'G1' });
          const b = await store.putItem({ userId: u.id, folderId: f2.id, class: 'Email', data: {}, uid: 'G1' });
          const c = await store.putItem({ userId: u.id, folderId: f2.id, class: 'Email', data: {}, uid: 'G1' });
          await store.putItem({ userId: u.id, folderId: f1.id, class: 'Calendar', data: {}, uid: 'G2' });
          await store.deleteItem(u.id, c.id);
          assert.deepEqual(new Set((await store.getItemsByUid(u.id, 'G1')).map((i) => i.id)), new Set([a.id, b.id]));
          assert.deepEqual(await store.getItemsByUid(u.id, 'G3'), []);
        }),
      );

      it(
        'moves an item: tombstone in the source, new item in the target',
        withStore(async (store) => {
          const u = await mkUser(store);
          const src = await mkFolder(store, u, 'Inbox');
          const dst = await mkFolder(store, u, 'Archive');
          const item = await store.putItem({ userId: u.id, folderId: src.id, class: 'Email', data: { subject: 'hi' }, uid: 'M1' });
          const moved = await store.moveItem(u.id, item.id, dst.id, 'arch:1');
          assert.notEqual(moved.id, item.id);
          assert.equal(moved.serverId, 'arch:1');
          assert.equal(moved.folderId, dst.id);
          assert.deepEqual(moved.data, { subject: 'hi' });
          assert.equal(moved.uid, 'M1');
          assert.equal(moved.modseq, 1);
          assert.equal(await store.getItem(u.id, item.id), null);
          assert.deepEqual(await store.getItem(u.id, moved.id), moved);
          assert.deepEqual(
            (await store.listChangesSince(u.id, src.id, item.modseq, 10)).map((i) => [i.id, i.deleted, i.modseq]),
            [[item.id, true, 2]],
          );
          assert.deepEqual(
            (await store.listChangesSince(u.id, dst.id, 0, 10)).map((i) => i.id),
            [moved.id],
          );
          const back = await store.moveItem(u.id, moved.id, src.id);
          assert.equal(back.serverId, back.id);
          await rejectsWith(store.moveItem(u.id, back.id, src.id), 'invalid');
          await rejectsWith(store.moveItem(u.id, back.id, 'nope'), 'not_found');
          await rejectsWith(store.moveItem(u.id, item.id, dst.id), 'not_found');
          await rejectsWith(store.moveItem(u.id, back.id, dst.id, 'arch:1'), 'conflict');
          assert.deepEqual(await store.getItem(u.id, back.id), back, 'a failed move changes nothing');
        }),
      );

      it(
        'assigns distinct, gap-free sequences to concurrent writes in one folder',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          const items = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { i } })),
          );
          const updates = await Promise.all(items.slice(0, 10).map((it) => store.updateItem(u.id, it.id, { data: { up: true } })));
          const seqs = [...items.map((i) => i.modseq).slice(10), ...updates.map((i) => i.modseq)].sort((x, y) => x - y);
          assert.equal(new Set(items.map((i) => i.modseq)).size, 20);
          assert.deepEqual(
            (await store.listChangesSince(u.id, f.id, 0, 100)).map((i) => i.modseq),
            seqs,
          );
          assert.equal((await store.getFolder(u.id, f.id))?.modseq, 30);
        }),
      );
    });

    describe('isolation between users', () => {
      it(
        "never lets one user read, change or delete another user's folders and items",
        withStore(async (store) => {
          const a = await mkUser(store, 'a@example.com');
          const b = await mkUser(store, 'b@example.com');
          const fa = await mkFolder(store, a, 'A-Inbox');
          const fb = await mkFolder(store, b, 'B-Inbox');
          const ia = await store.putItem({ userId: a.id, folderId: fa.id, class: 'Email', data: { secret: 'a' }, serverId: 'sa', uid: 'UA' });

          // Items, named by A's ids but asked as B.
          assert.equal(await store.getItem(b.id, ia.id), null);
          assert.equal(await store.getItemByServerId(b.id, 'sa'), null);
          assert.deepEqual(await store.getItemsByUid(b.id, 'UA'), []);
          await rejectsWith(store.updateItem(b.id, ia.id, { data: { secret: 'b' } }), 'not_found');
          await rejectsWith(store.deleteItem(b.id, ia.id), 'not_found');
          await rejectsWith(store.moveItem(b.id, ia.id, fb.id), 'not_found');
          await rejectsWith(store.moveItem(a.id, ia.id, fb.id), 'not_found');
          await rejectsWith(store.putItem({ userId: b.id, folderId: fa.id, class: 'Email', data: {} }), 'not_found');
          await rejectsWith(store.listChangesSince(b.id, fa.id, 0, 10), 'not_found');

          // Folders.
          assert.equal(await store.getFolder(b.id, fa.id), null);
          assert.equal(await store.getFolderByServerId(b.id, fa.serverId), null);
          assert.deepEqual(
            (await store.listFolders(b.id)).map((f) => f.id),
            [fb.id],
          );
          assert.deepEqual(
            (await store.listFolderChangesSince(b.id, 0)).map((f) => f.id),
            [fb.id],
          );
          await rejectsWith(store.updateFolder(b.id, fa.id, { displayName: 'pwned' }), 'not_found');
          await rejectsWith(store.updateFolder(b.id, fb.id, { parentId: fa.id }), 'not_found');
          await rejectsWith(store.deleteFolder(b.id, fa.id), 'not_found');
          await rejectsWith(store.createFolder({ userId: b.id, parentId: fa.id, displayName: 'x', type: 1 }), 'not_found');

          // Devices.
          await store.upsertDevice({ userId: a.id, deviceId: 'DEV1', deviceType: 'iPhone' });
          assert.equal(await store.getDevice(b.id, 'DEV1'), null);
          await rejectsWith(store.deleteDevice(b.id, 'DEV1'), 'not_found');

          // A's data is untouched.
          assert.deepEqual(await store.getItem(a.id, ia.id), ia);
          assert.deepEqual(await store.getFolder(a.id, fa.id), { ...fa, modseq: 1 });
          assert.deepEqual(await store.listFolders(a.id), [{ ...fa, modseq: 1 }]);
          assert.ok(await store.getDevice(a.id, 'DEV1'));
        }),
      );
    });

    describe('devices', () => {
      it(
        'upserts a device, refreshing lastSeen and protocol version',
        withStore(async (store, clock) => {
          const u = await mkUser(store);
          const t0 = clock.now();
          const d1 = await store.upsertDevice({ userId: u.id, deviceId: 'ApplF17XYZ', deviceType: 'iPhone', userAgent: 'Apple-iPhone/1', protocolVersion: '14.1' });
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
          const d2 = await store.upsertDevice({ userId: u.id, deviceId: 'ApplF17XYZ', deviceType: 'iPhone', protocolVersion: '16.1' });
          assert.deepEqual(d2.firstSeen, t0);
          assert.deepEqual(d2.lastSeen, clock.now());
          assert.ok(d2.lastSeen > d1.lastSeen);
          assert.equal(d2.protocolVersion, '16.1');
          assert.equal(d2.userAgent, 'Apple-iPhone/1', 'an absent userAgent keeps the stored one');
          assert.deepEqual(await store.getDevice(u.id, 'ApplF17XYZ'), d2);

          const d3 = await store.upsertDevice({ userId: u.id, deviceId: 'ApplF17XYZ', deviceType: 'iPhone', userAgent: null });
          assert.equal(d3.userAgent, null);
          assert.equal(d3.protocolVersion, '16.1');
        }),
      );

      it(
        'lists and deletes devices',
        withStore(async (store) => {
          const a = await mkUser(store, 'a@example.com');
          const b = await mkUser(store, 'b@example.com');
          await store.upsertDevice({ userId: a.id, deviceId: 'D2', deviceType: 'Android' });
          await store.upsertDevice({ userId: a.id, deviceId: 'D1', deviceType: 'iPhone' });
          await store.upsertDevice({ userId: b.id, deviceId: 'D1', deviceType: 'WindowsMail' });
          assert.deepEqual(
            (await store.listDevices(a.id)).map((d) => d.deviceId),
            ['D1', 'D2'],
          );
          assert.equal((await store.listDevices()).length, 3);
          assert.equal((await store.getDevice(b.id, 'D1'))?.deviceType, 'WindowsMail');

          await store.deleteDevice(a.id, 'D1');
          assert.equal(await store.getDevice(a.id, 'D1'), null);
          assert.ok(await store.getDevice(b.id, 'D1'));
          await rejectsWith(store.deleteDevice(a.id, 'D1'), 'not_found');
          await rejectsWith(store.upsertDevice({ userId: 'nobody', deviceId: 'D9', deviceType: 'x' }), 'not_found');
        }),
      );
    });

    describe('device sync data', () => {
      const mkDevice = (store: Store, user: User, deviceId = 'DEV1') =>
        store.upsertDevice({ userId: user.id, deviceId, deviceType: 'iPhone' });

      it(
        'saves, gets and replaces a sync state',
        withStore(async (store, clock) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          await mkDevice(store, u);
          const t0 = clock.now();
          await store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: '{a}1', data: { seen: ['x', 1], n: null } }, []);
          assert.deepEqual(await store.getSyncState(u.id, 'DEV1', f.id, '{a}1'), {
            userId: u.id,
            deviceId: 'DEV1',
            collectionId: f.id,
            syncKey: '{a}1',
            data: { seen: ['x', 1], n: null },
            createdAt: t0,
          });
          assert.equal(await store.getSyncState(u.id, 'DEV1', f.id, '{a}2'), null);
          assert.equal(await store.getSyncState(u.id, 'DEV1', 'other', '{a}1'), null);

          clock.advance(1000);
          await store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: '{a}1', data: { v: 2 } }, []);
          const replaced = await store.getSyncState(u.id, 'DEV1', f.id, '{a}1');
          assert.deepEqual(replaced?.data, { v: 2 });
          assert.deepEqual(replaced?.createdAt, clock.now());

          // The folder hierarchy's states live under HIERARCHY_COLLECTION.
          await store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: HIERARCHY_COLLECTION, syncKey: '1', data: { h: 1 } }, []);
          assert.deepEqual((await store.getSyncState(u.id, 'DEV1', HIERARCHY_COLLECTION, '1'))?.data, { h: 1 });
          assert.deepEqual((await store.getSyncState(u.id, 'DEV1', f.id, '{a}1'))?.data, { v: 2 });
        }),
      );

      it(
        'deleteSyncStates says how many states it removed',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          await mkDevice(store, u);
          assert.equal(await store.deleteSyncStates(u.id, 'DEV1', f.id), 0);
          await store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: 'k1', data: {} }, []);
          await store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: f.id, syncKey: 'k2', data: {} }, ['k1']);
          await store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: 'other', syncKey: 'k1', data: {} }, []);
          assert.equal(await store.deleteSyncStates(u.id, 'DEV1', f.id), 2);
          assert.equal(await store.deleteSyncStates(u.id, 'DEV1'), 1);
        }),
      );

      it(
        'keeps only the saved key and the keys in `keep` of that collection',
        withStore(async (store) => {
          const u = await mkUser(store);
          await mkDevice(store, u);
          const save = (syncKey: string, keep: string[]) =>
            store.saveSyncState({ userId: u.id, deviceId: 'DEV1', collectionId: 'c', syncKey, data: { k: syncKey } }, keep);
          const keys = async () => {
            const out: string[] = [];
            for (const k of ['k1', 'k2', 'k3', 'k4']) if (await store.getSyncState(u.id, 'DEV1', 'c', k)) out.push(k);
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
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          await mkDevice(store, u, 'D1');
          await mkDevice(store, u, 'D2');
          await mkDevice(store, v, 'D1');
          const all: [string, string, string][] = [
            [u.id, 'D1', 'c1'],
            [u.id, 'D1', 'c2'],
            [u.id, 'D1', HIERARCHY_COLLECTION],
            [u.id, 'D2', 'c1'],
            [v.id, 'D1', 'c1'],
          ];
          for (const [userId, deviceId, collectionId] of all) {
            await store.saveSyncState({ userId, deviceId, collectionId, syncKey: '1', data: { userId, deviceId, collectionId } }, []);
          }
          await store.saveSyncState({ userId: u.id, deviceId: 'D1', collectionId: 'c1', syncKey: '2', data: {} }, []);
          assert.equal(await store.getSyncState(u.id, 'D1', 'c1', '1'), null);
          for (const [userId, deviceId, collectionId] of all.slice(1)) {
            assert.deepEqual((await store.getSyncState(userId, deviceId, collectionId, '1'))?.data, { userId, deviceId, collectionId });
          }

          // One collection of one device.
          await store.deleteSyncStates(u.id, 'D1', 'c2');
          assert.equal(await store.getSyncState(u.id, 'D1', 'c2', '1'), null);
          assert.ok(await store.getSyncState(u.id, 'D1', HIERARCHY_COLLECTION, '1'));
          assert.ok(await store.getSyncState(u.id, 'D1', 'c1', '2'));
          // All collections of one device.
          await store.deleteSyncStates(u.id, 'D1');
          assert.equal(await store.getSyncState(u.id, 'D1', HIERARCHY_COLLECTION, '1'), null);
          assert.equal(await store.getSyncState(u.id, 'D1', 'c1', '2'), null);
          assert.ok(await store.getSyncState(u.id, 'D2', 'c1', '1'));
          assert.ok(await store.getSyncState(v.id, 'D1', 'c1', '1'));
          // Another user's device, by its id: nothing happens.
          await store.deleteSyncStates(u.id, 'D1', 'c1');
          await store.deleteSyncStates(v.id, 'nope');
          assert.ok(await store.getSyncState(v.id, 'D1', 'c1', '1'));
        }),
      );

      it(
        "never reads or writes another user's device states; rejects unknown devices and bad input",
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          await mkDevice(store, u, 'DU');
          await store.saveSyncState({ userId: u.id, deviceId: 'DU', collectionId: 'c', syncKey: '1', data: { secret: 1 } }, []);
          assert.equal(await store.getSyncState(v.id, 'DU', 'c', '1'), null);
          await rejectsWith(store.saveSyncState({ userId: v.id, deviceId: 'DU', collectionId: 'c', syncKey: '2', data: {} }, []), 'not_found');
          await rejectsWith(store.saveSyncState({ userId: u.id, deviceId: 'nope', collectionId: 'c', syncKey: '2', data: {} }, []), 'not_found');
          await rejectsWith(store.saveSyncState({ userId: u.id, deviceId: 'DU', collectionId: 'c', syncKey: '', data: {} }, []), 'invalid');
          await rejectsWith(
            store.saveSyncState({ userId: u.id, deviceId: 'DU', collectionId: 'c', syncKey: '2', data: [] as unknown as {} }, []),
            'invalid',
          );
          await store.deleteSyncStates(v.id, 'DU');
          assert.deepEqual((await store.getSyncState(u.id, 'DU', 'c', '1'))?.data, { secret: 1 }, 'failed saves and deletes changed nothing');
        }),
      );

      it(
        'maps Client Adds per device, collection and ClientId',
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          await mkDevice(store, u, 'D1');
          await mkDevice(store, u, 'D2');
          await mkDevice(store, v, 'D1');
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid-1'), null);
          await store.putClientAdd(u.id, 'D1', 'c', 'cid-1', 'item-1');
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-1');
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid-2'), null);
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c2', 'cid-1'), null);
          assert.equal(await store.getClientAdd(u.id, 'D2', 'c', 'cid-1'), null);
          assert.equal(await store.getClientAdd(v.id, 'D1', 'c', 'cid-1'), null);
          await store.putClientAdd(v.id, 'D1', 'c', 'cid-1', 'item-v');
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-1');
          // Putting again replaces the mapping.
          await store.putClientAdd(u.id, 'D1', 'c', 'cid-1', 'item-2');
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-2');
          // Mappings outlive sync states.
          await store.deleteSyncStates(u.id, 'D1');
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid-1'), 'item-2');
          await rejectsWith(store.putClientAdd(u.id, 'nope', 'c', 'cid-1', 'x'), 'not_found');
        }),
      );

      it(
        'counts sync resets per device',
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          assert.equal((await mkDevice(store, u)).syncResets, 0);
          await mkDevice(store, v);
          assert.equal(await store.recordSyncReset(u.id, 'DEV1'), 1);
          assert.equal(await store.recordSyncReset(u.id, 'DEV1'), 2);
          assert.equal((await store.getDevice(u.id, 'DEV1'))?.syncResets, 2);
          assert.equal((await store.listDevices(u.id))[0]?.syncResets, 2);
          assert.equal((await mkDevice(store, u)).syncResets, 2, 'a refresh keeps the count');
          assert.equal((await store.getDevice(v.id, 'DEV1'))?.syncResets, 0);
          await rejectsWith(store.recordSyncReset(u.id, 'nope'), 'not_found');
          await rejectsWith(store.recordSyncReset('nobody', 'DEV1'), 'not_found');
        }),
      );

      it(
        'keeps named device data per device',
        withStore(async (store) => {
          const u = await mkUser(store);
          const v = await mkUser(store, 'v@example.com');
          await mkDevice(store, u, 'D1');
          await mkDevice(store, u, 'D2');
          await mkDevice(store, v, 'D1');
          assert.equal(await store.getDeviceData(u.id, 'D1', 'ping'), null);
          const ping = { heartbeat: 480, folders: [{ id: 'f1', class: 'Email' }] };
          await store.putDeviceData(u.id, 'D1', 'ping', ping);
          assert.deepEqual(await store.getDeviceData(u.id, 'D1', 'ping'), ping);
          await store.putDeviceData(u.id, 'D1', 'ping', { heartbeat: 60 });
          assert.deepEqual(await store.getDeviceData(u.id, 'D1', 'ping'), { heartbeat: 60 });
          assert.equal(await store.getDeviceData(u.id, 'D1', 'sync'), null);
          assert.equal(await store.getDeviceData(u.id, 'D2', 'ping'), null);
          assert.equal(await store.getDeviceData(v.id, 'D1', 'ping'), null);
          await store.putDeviceData(v.id, 'D1', 'ping', { other: true });
          assert.deepEqual(await store.getDeviceData(u.id, 'D1', 'ping'), { heartbeat: 60 });
          await rejectsWith(store.putDeviceData(u.id, 'nope', 'ping', {}), 'not_found');
          await rejectsWith(store.putDeviceData('nobody', 'D1', 'ping', {}), 'not_found');
          await rejectsWith(store.putDeviceData(u.id, 'D1', 'ping', null as unknown as {}), 'invalid');
        }),
      );

      it(
        "deleting a device deletes its states, data and Client Adds, not other devices'",
        withStore(async (store) => {
          const u = await mkUser(store);
          for (const d of ['D1', 'D2']) {
            await mkDevice(store, u, d);
            await store.saveSyncState({ userId: u.id, deviceId: d, collectionId: 'c', syncKey: '1', data: {} }, []);
            await store.putDeviceData(u.id, d, 'ping', { d });
            await store.putClientAdd(u.id, d, 'c', 'cid', 'item');
            await store.recordSyncReset(u.id, d);
          }
          await store.deleteDevice(u.id, 'D1');
          // The same device coming back starts from nothing.
          assert.equal((await mkDevice(store, u, 'D1')).syncResets, 0);
          assert.equal(await store.getSyncState(u.id, 'D1', 'c', '1'), null);
          assert.equal(await store.getDeviceData(u.id, 'D1', 'ping'), null);
          assert.equal(await store.getClientAdd(u.id, 'D1', 'c', 'cid'), null);
          assert.ok(await store.getSyncState(u.id, 'D2', 'c', '1'));
          assert.deepEqual(await store.getDeviceData(u.id, 'D2', 'ping'), { d: 'D2' });
          assert.equal(await store.getClientAdd(u.id, 'D2', 'c', 'cid'), 'item');
        }),
      );
    });

    describe('change notifications', () => {
      it(
        'notifies each item write of its folder and each hierarchy write of the user, after commit',
        withStore(async (store) => {
          const u = await mkUser(store);
          const other = await mkUser(store, 'other@example.com');
          const w = watchChanges(store);
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

          const a = await step('createFolder', () => mkFolder(store, u, 'A'), () => [hier]);
          const b = await step('createFolder', () => mkFolder(store, u, 'B'), () => [hier]);
          const sub = await step('createFolder (child)', () => mkFolder(store, u, 'Sub', a.id), () => [hier]);
          const item = await step('putItem', () => store.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: {} }), () => [inFolder(a)]);
          await step('updateItem', () => store.updateItem(u.id, item.id, { data: { v: 2 } }), () => [inFolder(a)]);
          const moved = await step('moveItem', () => store.moveItem(u.id, item.id, b.id), () => [inFolder(a), inFolder(b)]);
          await step('deleteItem', () => store.deleteItem(u.id, moved.id), () => [inFolder(b)]);
          await step('updateFolder', () => store.updateFolder(u.id, b.id, { displayName: 'B2' }), () => [hier]);
          await step('putItem (sub)', () => store.putItem({ userId: u.id, folderId: sub.id, class: 'Email', data: {} }), () => [inFolder(sub)]);
          await step('deleteFolder', () => store.deleteFolder(u.id, a.id), () => [hier, inFolder(a), inFolder(sub)]);

          // Failed and empty writes notify nothing.
          await rejectsWith(store.putItem({ userId: u.id, folderId: a.id, class: 'Email', data: {} }), 'not_found');
          const it2 = await step('putItem', () => store.putItem({ userId: u.id, folderId: b.id, class: 'Email', data: {} }), () => [inFolder(b)]);
          await rejectsWith(store.updateItem(u.id, it2.id, { data: {}, expectedModseq: 0 }), 'conflict');
          await rejectsWith(store.createFolder({ userId: u.id, parentId: 'nope', displayName: 'X', type: 1 }), 'not_found');
          await store.updateFolder(u.id, b.id, {});
          await store.upsertDevice({ userId: u.id, deviceId: 'D', deviceType: 'x' });
          await store.saveSyncState({ userId: u.id, deviceId: 'D', collectionId: b.id, syncKey: '1', data: {} }, []);
          // Another user's write: it arrives after anything the writes above might have sent.
          await step('createFolder (other user)', () => mkFolder(store, other), () => [{ userId: other.id, folderId: null }]);

          await step('deleteUser', () => store.deleteUser(u.id), () => [hier]);
          w.off();
        }),
      );

      it(
        'calls listeners after the commit, so they read the change',
        withStore(async (store) => {
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          const read = new Promise<string[]>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no notification')), NOTIFY_TIMEOUT_MS);
            const off = store.subscribeChanges((e) => {
              if (e.folderId !== f.id) return;
              off();
              clearTimeout(timer);
              store.listChangesSince(u.id, f.id, 0, 10).then((items) => resolve(items.map((i) => i.id)), reject);
            });
          });
          const item = await store.putItem({ userId: u.id, folderId: f.id, class: 'Notes', data: {} });
          assert.deepEqual(await read, [item.id]);
        }),
      );

      it(
        'stops delivering to a listener once unsubscribed',
        withStore(async (store) => {
          // Subscribed before every write: with PostgreSQL a change committed before subscribing
          // may still be delivered after.
          const a = watchChanges(store);
          const b = watchChanges(store);
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          await store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
          await a.until(2, 'the folder and the first put (a)');
          await b.until(2, 'the folder and the first put (b)');
          a.off();
          a.off(); // twice is harmless
          await store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
          await b.until(3, 'the second put (b)');
          assert.equal(a.events.length, 2);
          b.off();
        }),
      );

      it('a throwing listener breaks neither the write nor the other listeners', async () => {
        const errors: unknown[] = [];
        const opened = await open({ onError: (err) => errors.push(err) });
        try {
          const { store } = opened;
          const w = watchChanges(store);
          const u = await mkUser(store);
          const f = await mkFolder(store, u);
          await w.until(1, 'createFolder');
          const boom = new Error('listener boom');
          store.subscribeChanges(() => {
            throw boom;
          });
          store.subscribeChanges(async () => {
            throw boom;
          });
          const item = await store.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: { ok: true } });
          await w.until(2, 'putItem');
          assert.deepEqual(w.events[1], { userId: u.id, folderId: f.id });
          assert.deepEqual(await store.getItem(u.id, item.id), item);
          // The async listener's rejection is reported a tick later.
          for (let i = 0; i < 50 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
          assert.equal(errors.length, 2);
          for (const err of errors) assert.equal((err as Error).cause, boom);
          // And the store keeps working.
          await store.updateItem(u.id, item.id, { data: {} });
          await w.until(3, 'updateItem');
        } finally {
          await opened.cleanup();
        }
      });
    });

    describe('migrations', () => {
      it(
        'are idempotent: opening the same database again keeps the data',
        withStore(async (store, _clock, opened) => {
          assert.ok(opened.reopen, 'the backend harness must provide reopen()');
          const u = await mkUser(store);
          const f: Folder = await mkFolder(store, u);
          await store.close();
          const again = await opened.reopen();
          const third = await opened.reopen();
          assert.deepEqual(await again.getUserById(u.id), u);
          assert.deepEqual(await third.getFolder(u.id, f.id), f);
          await again.putItem({ userId: u.id, folderId: f.id, class: 'Email', data: {} });
          assert.equal((await third.getFolder(u.id, f.id))?.modseq, 1);
        }),
      );
    });
  });
}
