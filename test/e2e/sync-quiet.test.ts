/**
 * A device polling Sync without news: a byte-identical repeat is answered from the last quiet
 * answer while nothing has been written (src/commands/sync.ts), and never once anything has.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { PG_TEST_URL } from '../helpers/db.ts';
import { childText } from '../../src/wbxml/tree.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const USER = { email: 'quiet@example.com', password: 'pw-quiet-123456' };

/** Counts the engine's sync-state reads: the work a quiet repeat skips. */
function countStateReads(store: Store): { n: number } {
  const counter = { n: 0 };
  const orig = store.getSyncState.bind(store);
  store.getSyncState = (...a) => {
    counter.n++;
    return orig(...a);
  };
  return counter;
}

it('a repeated no-change Sync is answered without working it out again, and a write in between always shows', async () => {
  // Pacing of identical Syncs (protection) is off: this test repeats the same Sync on purpose.
  const srv = await startTestServer({ users: [USER], config: { protection: { throttle: { identicalPaceMs: 0 } } } });
  try {
    const userId = srv.users.get(USER.email)!.id;
    const d = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'QUIET1', version: '16.1' });
    const other = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'QUIET2', version: '16.1' });
    await d.folderSync();
    await other.folderSync();
    const inbox = d.folderByType(2).serverId;
    const inboxId = (await srv.store.getFolderByServerId(userId, inbox))!.id;
    await srv.store.putItem({ userId, folderId: inboxId, class: 'Email', data: { subject: 'first' } });
    assert.equal((await d.initialSync(inbox)).length, 1);
    await other.initialSync(inbox);

    const reads = countStateReads(srv.store);
    const quiet1 = await d.sync(inbox);
    assert.equal(quiet1.adds.length, 0);
    const afterFirst = reads.n;
    assert.ok(afterFirst >= 1, 'the first no-change Sync is worked out');
    const quiet2 = await d.sync(inbox);
    const quiet3 = await d.sync(inbox);
    assert.deepEqual([quiet2.status, quiet3.status, quiet2.adds.length, quiet3.adds.length], [1, 1, 0, 0]);
    assert.equal(reads.n, afterFirst, 'identical repeats with nothing written were answered from the last answer');

    // Another device's quiet answer is its own.
    assert.equal((await other.sync(inbox)).adds.length, 0);

    // A new message: the very next identical request sees it.
    await srv.store.putItem({ userId, folderId: inboxId, class: 'Email', data: { subject: 'second' } });
    const news = await d.sync(inbox);
    assert.deepEqual(news.adds.map((a) => childText(a.appData, 'Subject', 'Email')), ['second']);

    // A write that is not in this folder (another device's state) also ends the shortcut, and
    // the answer worked out again is still "no news".
    await d.sync(inbox);
    const before = reads.n;
    await d.sync(inbox);
    assert.equal(reads.n, before, 'quiet again');
    await other.sync(inbox); // other gets "second": writes its new state
    await d.sync(inbox);
    assert.ok(reads.n > before, 'after any write the request is worked out again');
  } finally {
    await srv.close();
  }
});

it('on PostgreSQL, a write through another node shows on the very next identical Sync (the token is the database\'s, not the node\'s)', async () => {
  const srv = await startTestServer({ users: [USER], backend: 'postgres', config: { protection: { throttle: { identicalPaceMs: 0 } } } });
  const nodeB = await openPostgresStore(PG_TEST_URL, { schema: srv.pgSchema! });
  try {
    const userId = srv.users.get(USER.email)!.id;
    const t0 = await srv.store.writeToken();
    assert.equal(typeof t0, 'string', 'PostgreSQL has a write token');
    const d = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'QUIETPG1', version: '16.1' });
    await d.folderSync();
    const inbox = d.folderByType(2).serverId;
    const inboxId = (await srv.store.getFolderByServerId(userId, inbox))!.id;
    await d.initialSync(inbox);
    assert.notEqual(await srv.store.writeToken(), t0, 'writes move it');
    for (let round = 1; round <= 3; round++) {
      assert.equal((await d.sync(inbox)).adds.length, 0);
      assert.equal((await d.sync(inbox)).adds.length, 0);
      // Stored by the other node: this node hears of it only through the database.
      await nodeB.putItem({ userId, folderId: inboxId, class: 'Email', data: { subject: `from B ${round}` } });
      const news = await d.sync(inbox);
      assert.deepEqual(news.adds.map((a) => childText(a.appData, 'Subject', 'Email')), [`from B ${round}`], `round ${round}`);
    }
  } finally {
    await nodeB.close();
    await srv.close();
  }
});
