import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { isTransientStoreError } from '../../src/store/types.ts';
import { childText, el } from '../../src/wbxml/index.ts';
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
