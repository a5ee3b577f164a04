/**
 * MoveItems through the device simulator on SQLite and PostgreSQL (MS-ASCMD 2.2.1.12): every
 * status of 2.2.3.177.10 that a request can cause, the moved item seen by Sync in both folders,
 * and another user's ids refused exactly like ids that do not exist.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { hashPassword } from '../../src/auth/password.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { SQLITE_FILE_NAME } from '../../src/store/sqlite.ts';
import { childText, children, el } from '../../src/wbxml/index.ts';
import { openTempSqliteStore, pgSkipped } from '../helpers/db.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'pw-alice-123456' };
const BOB = { email: 'bob@example.com', password: 'pw-bob-1234567' };
const M = 'Move';

function moveRequest(moves: Array<{ src?: string; from?: string; to?: string }>) {
  return el(
    M,
    'MoveItems',
    moves.map((m) =>
      el(M, 'Move', m.src !== undefined ? el(M, 'SrcMsgId', m.src) : null, m.from !== undefined ? el(M, 'SrcFldId', m.from) : null, m.to !== undefined ? el(M, 'DstFldId', m.to) : null),
    ),
  );
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`MoveItems on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ backend, users: [ALICE, BOB] });
    });
    after(async () => {
      await srv.close();
    });

    it('moves mail between folders with Status 3 and answers each other status', async () => {
      const alice = new Device({ url: srv.url, user: ALICE.email, password: ALICE.password });
      await alice.folderSync();
      const bob = new Device({ url: srv.url, user: BOB.email, password: BOB.password, deviceId: 'BOBPHONE' });
      await bob.folderSync();
      const store = srv.store;
      const a = srv.users.get(ALICE.email)!;
      const b = srv.users.get(BOB.email)!;
      const inbox = alice.folderByType(2);
      const deleted = alice.folderByType(4);
      const calendar = alice.folderByType(8);
      const aInbox = (await store.getFolderByServerId(a.id, inbox.serverId))!;
      const m1 = await store.putItem({ userId: a.id, folderId: aInbox.id, class: 'Email', data: { subject: 'one' } });
      const m2 = await store.putItem({ userId: a.id, folderId: aInbox.id, class: 'Email', data: { subject: 'two' } });
      const bInbox = (await store.listFolders(b.id)).find((f) => f.type === 2)!;
      const bobMail = await store.putItem({ userId: b.id, folderId: bInbox.id, class: 'Email', data: { subject: 'bob only' } });
      await alice.initialSync(inbox.serverId);
      await alice.initialSync(deleted.serverId);

      const res = await alice.client.post(
        'MoveItems',
        moveRequest([
          { src: m1.serverId, from: inbox.serverId, to: deleted.serverId }, // 3
          { src: 'no-such-item', from: inbox.serverId, to: deleted.serverId }, // 1
          { src: m2.serverId, from: 'no-such-folder', to: deleted.serverId }, // 1
          { src: m2.serverId, from: inbox.serverId, to: 'no-such-folder' }, // 2
          { src: m2.serverId, from: inbox.serverId, to: calendar.serverId }, // 2: wrong class
          { src: m2.serverId, from: inbox.serverId, to: inbox.serverId }, // 4
          { src: m2.serverId, from: inbox.serverId }, // 5: malformed
          { src: m1.serverId, from: inbox.serverId, to: deleted.serverId }, // 1: already moved
          { src: bobMail.serverId, from: bInbox.serverId, to: deleted.serverId }, // 1: Bob's
          { src: bobMail.serverId, from: inbox.serverId, to: deleted.serverId }, // 1: Bob's
        ]),
      );
      assert.equal(res.status, 200);
      const responses = children(res.wbxml!, 'Response', M);
      assert.deepEqual(
        responses.map((r) => Number(childText(r, 'Status', M))),
        [3, 1, 1, 2, 2, 4, 5, 1, 1, 1],
      );
      assert.equal(childText(responses[0]!, 'SrcMsgId', M), m1.serverId);
      const dst = childText(responses[0]!, 'DstMsgId', M)!;
      assert.ok(dst && dst !== m1.serverId);
      for (const r of responses.slice(1)) assert.equal(childText(r, 'DstMsgId', M), undefined);

      // Sync sees a Delete in the Inbox and an Add in Deleted Items.
      const fromInbox = await alice.sync(inbox.serverId);
      assert.deepEqual(fromInbox.deletes, [m1.serverId]);
      const toDeleted = await alice.sync(deleted.serverId);
      assert.deepEqual(toDeleted.adds.map((x) => x.serverId), [dst]);
      // Deleted Items takes any class (a contact here); a Contacts folder takes no mail.
      const contacts = alice.folderByType(9);
      const aContacts = (await store.getFolderByServerId(a.id, contacts.serverId))!;
      const card = await store.putItem({ userId: a.id, folderId: aContacts.id, class: 'Contacts', data: { fileAs: 'Doe, Jane' } });
      const more = await alice.client.post(
        'MoveItems',
        moveRequest([
          { src: card.serverId, from: contacts.serverId, to: deleted.serverId },
          { src: m2.serverId, from: inbox.serverId, to: contacts.serverId },
        ]),
      );
      assert.deepEqual(children(more.wbxml!, 'Response', M).map((r) => Number(childText(r, 'Status', M))), [3, 2]);
      // Bob's item is untouched.
      assert.equal((await store.getItem(b.id, bobMail.id))?.folderId, bInbox.id);
    });

    it('a request that is not MoveItems is HTTP 400', async () => {
      const alice = new Device({ url: srv.url, user: ALICE.email, password: ALICE.password });
      const res = await alice.client.post('MoveItems', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
      assert.equal(res.status, 400);
    });
  });
}

describe('MoveItems while the database is locked', () => {
  it('Status 7 and nothing moved; the retry after the lock is gone moves it', async () => {
    // A second connection holds SQLite's write lock (BEGIN IMMEDIATE) longer than the store's
    // busy timeout: the move fails with SQLITE_BUSY, a passing condition (MS-ASCMD: "locked").
    const db = await openTempSqliteStore();
    const logs: LogLine[] = [];
    const app = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false }, requireProvisioning: false }, { store: db.store, log: collectingLogger(logs), handlers: commandHandlers() })).app;
    const locker = new SqliteDatabase(join(db.dir, SQLITE_FILE_NAME));
    try {
      await db.store.createUser({ email: ALICE.email, passwordHash: await hashPassword(ALICE.password) });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const alice = new Device({ url, user: ALICE.email, password: ALICE.password });
      await alice.folderSync();
      const inbox = alice.folderByType(2);
      const deleted = alice.folderByType(4);
      const a = (await db.store.getUserByEmail(ALICE.email))!;
      const folder = (await db.store.getFolderByServerId(a.id, inbox.serverId))!;
      const item = await db.store.putItem({ userId: a.id, folderId: folder.id, class: 'Email', data: { subject: 'locked' } });
      const req = moveRequest([{ src: item.serverId, from: inbox.serverId, to: deleted.serverId }]);

      locker.exec('BEGIN IMMEDIATE');
      const locked = await alice.client.post('MoveItems', req);
      locker.exec('ROLLBACK');
      assert.equal(childText(children(locked.wbxml!, 'Response', M)[0]!, 'Status', M), '7');
      assert.equal((await db.store.getItem(a.id, item.id))?.folderId, folder.id, 'nothing moved');

      const retry = await alice.client.post('MoveItems', req);
      assert.equal(childText(children(retry.wbxml!, 'Response', M)[0]!, 'Status', M), '3');
    } finally {
      locker.close();
      await app.close();
      await db.cleanup();
    }
  });
});

