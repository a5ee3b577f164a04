import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { isTransientStoreError } from '../../src/store/types.ts';
import { child, childText, el } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from '../e2e/device.ts';

const USER = { email: 'retry@example.com', password: 'retry-password-1' };
let server: TestServer;

before(async () => {
  server = await startTestServer({ users: [USER], logLevel: 'warn' });
});
after(async () => server.close());

it('tells passing database conditions from bugs', () => {
  const withCode = (code: string) => Object.assign(new Error('x'), { code });
  for (const code of ['08006', '40001', '40P01', '57P01', 'SQLITE_BUSY', 'ECONNREFUSED']) assert.ok(isTransientStoreError(withCode(code)), code);
  for (const code of ['23505', '42P01', 'SQLITE_CONSTRAINT']) assert.ok(!isTransientStoreError(withCode(code)), code);
  assert.ok(!isTransientStoreError(new Error('plain')));
  assert.ok(!isTransientStoreError('08006'));
});

it('answers Sync Status 16 (retry) when the store loses its connection, and works again after', async () => {
  const d = new Device({ url: server.url, user: USER.email, password: USER.password, deviceId: 'RETRY1' });
  assert.equal((await d.folderSync()).status, 1);
  const inbox = d.folderByType(2).serverId;
  await d.initialSync(inbox);
  // A write since the last answer, so the Sync below is worked out (not a quiet repeat).
  await server.store.putDeviceData(server.users.get(USER.email)!.id, 'RETRY1', 'test-marker', { n: 1 });
  const store = server.store as unknown as { listFolders: (...a: unknown[]) => Promise<unknown> };
  const real = store.listFolders;
  store.listFolders = async () => {
    throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  };
  try {
    const r = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox))));
    assert.equal(r.status, 200);
    assert.equal(childText(r.wbxml!, 'Status', 'AirSync'), '16');
  } finally {
    delete (store as { listFolders?: unknown }).listFolders;
    assert.equal(store.listFolders, real);
  }
  assert.equal((await d.sync(inbox)).status, 1, 'the key is still good after the retry status');
});

it('a Sync sent again with the same key while the first is still being worked out gets an answer whose state is the one kept: nothing sent twice, nothing lost', async () => {
  // Identical Syncs are not paced here (protection would hold the second one back 2 s).
  const srv = await startTestServer({ users: [USER], logLevel: 'warn', config: { protection: { throttle: { identicalPaceMs: 0 } } } });
  try {
    const userId = srv.users.get(USER.email)!.id;
    const d = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'RETRY2' });
    assert.equal((await d.folderSync()).status, 1);
    const inbox = d.folderByType(2).serverId;
    const inboxId = (await srv.store.getFolderByServerId(userId, inbox))!.id;
    await d.initialSync(inbox);
    await srv.store.putItem({ userId, folderId: inboxId, class: 'Email', data: { subject: 'one' } });
    const body = el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox)));

    // The first request's state is saved slowly (a slow disk), so the second overtakes it.
    const store = srv.store as unknown as { saveSyncState: (...a: unknown[]) => Promise<void> };
    const real = store.saveSyncState.bind(srv.store);
    let slowed: () => void = () => {};
    const firstSaving = new Promise<void>((r) => (slowed = r));
    let calls = 0;
    store.saveSyncState = async (...a: unknown[]) => {
      if (++calls === 1) {
        slowed();
        await new Promise((r) => setTimeout(r, 400));
      }
      return real(...a);
    };
    try {
      const first = d.syncRaw(body);
      await firstSaving;
      // Arrives while the first is saving; the device gives up on the first and keeps this answer.
      await srv.store.putItem({ userId, folderId: inboxId, class: 'Email', data: { subject: 'two' } });
      const second = await d.syncRaw(body);
      await first;
      // The device keeps the second answer.
      const kept = d.apply(inbox, child(child(second.wbxml!, 'Collections', 'AirSync')!, 'Collection', 'AirSync')!);
      assert.deepEqual(kept.adds.map((a) => childText(a.appData, 'Subject', 'Email')), ['one', 'two'], 'the second answer has both');
    } finally {
      delete (store as { saveSyncState?: unknown }).saveSyncState;
    }
    const next = await d.sync(inbox);
    assert.equal(next.status, 1, 'the key of the answer the device kept is good');
    assert.deepEqual(
      next.adds.map((a) => childText(a.appData, 'Subject', 'Email')),
      [],
      'nothing sent again',
    );
  } finally {
    await srv.close();
  }
});
