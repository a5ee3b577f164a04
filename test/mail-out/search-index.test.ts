/**
 * The full-text index (store.search and src/mail/search-index.ts) on SQLite and PostgreSQL:
 * matching, ranges, folder and conversation scope, and staying in step with item changes,
 * moves and deletes through the change feed. Also the ClientId claims of store.sending.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catchUpSearchIndex } from '../../src/mail/search-index.ts';
import { searchWords } from '../../src/store/search-store.ts';
import { StoreMailbox } from '../../src/store/store-mailbox.ts';
import type { Store } from '../../src/store/types.ts';
import type { IndexExpr } from '../../src/ports/search.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped } from '../helpers/db.ts';

async function setup(store: Store) {
  const user = await store.createUser({ email: 'a@example.com', passwordHash: 'x' });
  const other = await store.createUser({ email: 'b@example.com', passwordHash: 'x' });
  const inbox = await store.createFolder({ userId: user.id, parentId: null, displayName: 'Inbox', type: 2 });
  const archive = await store.createFolder({ userId: user.id, parentId: null, displayName: 'Archive', type: 12 });
  const otherInbox = await store.createFolder({ userId: other.id, parentId: null, displayName: 'Inbox', type: 2 });
  return { user, other, inbox, archive, otherInbox };
}

const mail = (subject: string, text: string, extra: Record<string, string> = {}) => ({
  subject,
  from: '"Bob Müller" <bob@example.org>',
  to: 'a@example.com',
  dateReceived: extra.dateReceived ?? '2024-01-01T00:00:00.000Z',
  body: { text },
  ...extra,
});

async function search(store: Store, userId: string, text: string, more: { folderIds?: string[]; conversationId?: string; offset?: number; limit?: number } = {}) {
  const folders = await store.listFolders(userId);
  await catchUpSearchIndex(store.search, new StoreMailbox(store, userId), folders);
  return store.search.search({ userId, text, offset: more.offset ?? 0, limit: more.limit ?? 100, folderIds: more.folderIds, conversationId: more.conversationId });
}

function contract(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>) {
  it('finds words and word prefixes in subject, addresses and body, case and accents ignored', async () => {
    const { store, cleanup } = await open();
    try {
      const { user, inbox } = await setup(store);
      const a = await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail('Quarterly Presentation', 'see the numbers') });
      const b = await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail('Lunch', 'café at noon', { from: 'carol@example.net' }) });
      assert.deepEqual((await search(store, user.id, 'presentation')).hits.map((h) => h.itemId), [a.id]);
      assert.deepEqual((await search(store, user.id, 'PRES')).hits.map((h) => h.itemId), [a.id]);
      assert.deepEqual((await search(store, user.id, 'cafe')).hits.map((h) => h.itemId), [b.id]);
      assert.deepEqual((await search(store, user.id, 'muller')).hits.map((h) => h.itemId), [a.id]);
      assert.deepEqual((await search(store, user.id, 'carol@example.net')).hits.map((h) => h.itemId), [b.id]);
      assert.equal((await search(store, user.id, 'presentation lunch')).total, 0, 'every word must match');
      assert.equal((await search(store, user.id, '"; drop table items; --')).total, 0, 'query syntax is never interpreted');
      assert.equal((await search(store, user.id, '*** ')).total, 0);
    } finally {
      await cleanup();
    }
  });

  it('answers word queries with And and Or, words cleaned of query syntax; all lists the scope', async () => {
    const { store, cleanup } = await open();
    try {
      const { user, inbox, archive } = await setup(store);
      const a = await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail('Quarterly Presentation', 'see the numbers', { dateReceived: '2024-01-02T00:00:00.000Z' }) });
      const b = await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail('Lunch', 'café at noon', { dateReceived: '2024-01-01T00:00:00.000Z' }) });
      await store.putItem({ userId: user.id, folderId: archive.id, class: 'Email', data: mail('Lunch again', 'more') });
      await search(store, user.id, 'x');
      const ids = async (match: IndexExpr) => (await store.search.search({ userId: user.id, match, folderIds: [inbox.id], offset: 0, limit: 10 })).hits.map((h) => h.itemId);
      const w = (word: string): IndexExpr => ({ kind: 'word', word });
      assert.deepEqual(await ids({ kind: 'or', children: [w('pres'), w('cafe')] }), [a.id, b.id]);
      assert.deepEqual(await ids({ kind: 'and', children: [w('lunch'), { kind: 'or', children: [w('noon'), w('zebra')] }] }), [b.id]);
      assert.deepEqual(await ids({ kind: 'and', children: [w('lunch'), w('zebra')] }), []);
      assert.deepEqual(await ids({ kind: 'or', children: [w('zebra'), { kind: 'all' }] }), [a.id, b.id], 'all: every document in scope');
      assert.deepEqual(await ids(w('"noon" | * -')), [b.id], 'syntax in a word is not query syntax');
      assert.deepEqual(await ids({ kind: 'or', children: [w('muller'), w("' | '")] }), [a.id, b.id], 'a word of no letters matches everything');
    } finally {
      await cleanup();
    }
  });

  it('pages newest first with a total, and scopes by folder and conversation', async () => {
    const { store, cleanup } = await open();
    try {
      const { user, inbox, archive } = await setup(store);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const it = await store.putItem({
          userId: user.id,
          folderId: i < 3 ? inbox.id : archive.id,
          class: 'Email',
          data: mail(`report ${i}`, 'body', { dateReceived: `2024-01-0${i + 1}T00:00:00.000Z`, conversationId: i % 2 === 0 ? 'conv-even' : 'conv-odd' }),
        });
        ids.push(it.id);
      }
      const page = await search(store, user.id, 'report', { offset: 1, limit: 2 });
      assert.equal(page.total, 5);
      assert.deepEqual(page.hits.map((h) => h.itemId), [ids[3], ids[2]]);
      assert.deepEqual((await search(store, user.id, 'report', { folderIds: [archive.id] })).hits.map((h) => h.itemId), [ids[4], ids[3]]);
      assert.deepEqual((await search(store, user.id, '', { conversationId: 'conv-odd' })).hits.map((h) => h.itemId), [ids[3], ids[1]]);
    } finally {
      await cleanup();
    }
  });

  it('follows changes, moves and deletes; never returns another user\'s items', async () => {
    const { store, cleanup } = await open();
    try {
      const { user, other, inbox, archive, otherInbox } = await setup(store);
      const a = await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail('alpha', 'one') });
      const b = await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail('beta', 'two') });
      await store.putItem({ userId: other.id, folderId: otherInbox.id, class: 'Email', data: mail('alpha', 'secret') });
      assert.equal((await search(store, user.id, 'alpha')).total, 1);
      await store.updateItem(user.id, a.id, { data: mail('gamma', 'one') });
      assert.equal((await search(store, user.id, 'alpha')).total, 0);
      assert.deepEqual((await search(store, user.id, 'gamma')).hits.map((h) => h.itemId), [a.id]);
      const moved = await store.moveItem(user.id, b.id, archive.id);
      const hits = (await search(store, user.id, 'beta')).hits;
      assert.deepEqual(hits, [{ itemId: moved.id, folderId: archive.id }]);
      await store.deleteItem(user.id, moved.id);
      assert.equal((await search(store, user.id, 'beta')).total, 0);
      // A deleted item is never returned, even before the index catches up.
      await store.deleteItem(user.id, a.id);
      assert.equal((await store.search.search({ userId: user.id, text: 'gamma', offset: 0, limit: 10 })).total, 0);
      assert.equal((await search(store, other.id, 'alpha')).total, 1);
      assert.equal((await search(store, other.id, 'gamma')).total, 0);
    } finally {
      await cleanup();
    }
  });

  it('reset rebuilds the index from the change feed', async () => {
    const { store, cleanup } = await open();
    try {
      const { user, inbox } = await setup(store);
      for (let i = 0; i < 3; i++) await store.putItem({ userId: user.id, folderId: inbox.id, class: 'Email', data: mail(`note ${i}`, 'x') });
      assert.equal((await search(store, user.id, 'note')).total, 3);
      await store.search.reset(user.id);
      assert.equal(await store.search.getPosition(user.id, inbox.id), 0);
      assert.equal((await search(store, user.id, 'note')).total, 3);
      // A stale catch-up (position moved by another) writes nothing.
      assert.equal(await store.search.applyBatch(user.id, inbox.id, 0, 99, [], []), false);
    } finally {
      await cleanup();
    }
  });

  it('a ClientId is claimed once per device; released after a failed send', async () => {
    const { store, cleanup } = await open();
    try {
      const { user } = await setup(store);
      await store.upsertDevice({ userId: user.id, deviceId: 'dev1', deviceType: 'Phone' });
      await store.upsertDevice({ userId: user.id, deviceId: 'dev2', deviceType: 'Phone' });
      const claims = await Promise.all([1, 2, 3].map(() => store.sending.claimClientId(user.id, 'dev1', 'c-1')));
      assert.deepEqual(claims.filter(Boolean).length, 1);
      assert.equal(await store.sending.claimClientId(user.id, 'dev2', 'c-1'), true, 'per device');
      await store.sending.releaseClientId(user.id, 'dev1', 'c-1');
      assert.equal(await store.sending.claimClientId(user.id, 'dev1', 'c-1'), true);
      await assert.rejects(store.sending.claimClientId(user.id, 'nodev', 'c-1'), { name: 'StoreError', code: 'not_found' });
    } finally {
      await cleanup();
    }
  });
}

it('searchWords splits at non-letters, lowercases and removes accents', () => {
  assert.deepEqual(searchWords('Re: Café-Meeting, bob@EXAMPLE.com'), ['re', 'cafe', 'meeting', 'bob', 'example', 'com']);
});

describe('search index on SQLite', () => contract(openTempSqliteStore));
describe('search index on PostgreSQL', { skip: pgSkipped() }, () => contract(openTempPostgresStore));
