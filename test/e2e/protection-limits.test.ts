/**
 * Resource limits (kb-2.2, kb-2.8) through a real server: request size (413), items per Sync
 * response (WindowSize capped, MS-ASCMD 2.2.3.199), requests in progress per device (503
 * OutOfBudgets), and held Pings per user (past the limit the oldest is answered with Status 1,
 * MS-ASCMD 2.2.3.177.10, and its device simply pings again).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WINDOW_SIZE } from '../../src/sync/collection-sync.ts';
import { childText, el } from '../../src/wbxml/index.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const dev = (url: string, deviceId: string) => new Device({ url, user: ALICE.email, password: ALICE.password, deviceId });

describe('resource limits', () => {
  it('kb-2.2: a request body over the limit gets 413 and is not processed', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'info', config: { maxRequestBytes: 4096 } });
    try {
      const d = dev(server.url, 'BIG');
      assert.equal((await d.folderSync()).status, 1);
      const from = server.logs.length;
      const r = await d.client.post('SendMail', Buffer.alloc(8192, 0x41), { contentType: 'message/rfc822' });
      assert.equal(r.status, 413);
      const line = server.requestLogs(from)[0]!;
      assert.equal(line.httpStatus, 413);
      // Just under the limit is read (and then judged by the command).
      const ok = await d.client.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', d.folderSyncKey)));
      assert.equal(ok.status, 200);
    } finally {
      await server.close();
    }
  });

  it('kb-2.8: items per Sync response are capped whatever WindowSize the device asks for', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn' });
    try {
      const alice = server.users.get(ALICE.email)!;
      const d = dev(server.url, 'WINDOW');
      assert.equal((await d.folderSync()).status, 1);
      const inbox = d.folderByType(2).serverId;
      const folder = (await server.store.listFolders(alice.id)).find((f) => f.serverId === inbox)!;
      for (let i = 0; i < MAX_WINDOW_SIZE + 40; i++) {
        await server.store.putItem({ userId: alice.id, folderId: folder.id, class: 'Email', data: { subject: `m${i}`, from: 'x@example.org', to: ALICE.email, dateReceived: new Date(Date.UTC(2026, 10, 1, 0, 0, i % 60)).toISOString(), read: false, body: { text: 'x' } } });
      }
      await d.sync(inbox); // SyncKey 0 -> 1
      const first = await d.sync(inbox, { windowSize: 5000 });
      assert.equal(first.adds.length, MAX_WINDOW_SIZE);
      assert.equal(first.moreAvailable, true);
      const second = await d.sync(inbox, { windowSize: 5000 });
      assert.equal(second.adds.length, 40);
      assert.equal(second.moreAvailable, false);
    } finally {
      await server.close();
    }
  });

  it('kb-2.2: requests in progress per device are budgeted (503 OutOfBudgets while one waits)', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn', config: { protection: { throttle: { deviceConcurrent: 1 } } } });
    try {
      const d = dev(server.url, 'BUSY');
      assert.equal((await d.folderSync()).status, 1);
      const inbox = d.folderByType(2).serverId;
      await d.initialSync(inbox);
      // A request still being worked out: its store is slow (held requests, parked, cost no budget).
      const store = server.store as unknown as { listFolders: (...a: unknown[]) => Promise<unknown> };
      const real = store.listFolders.bind(server.store);
      let slow = true;
      store.listFolders = async (...a: unknown[]) => {
        if (slow) {
          slow = false;
          await new Promise((r) => setTimeout(r, 1500));
        }
        return real(...a);
      };
      const waiting = d.client.post('Sync', el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox))));
      await new Promise((r) => setTimeout(r, 300));
      const r = await d.client.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', d.folderSyncKey)));
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('x-ms-asthrottle'), 'OutOfBudgets');
      assert.equal(r.headers.get('retry-after'), '1');
      const other = await dev(server.url, 'CALM').folderSync();
      assert.equal(other.status, 1, 'another device of the user is served');
      await server.close();
      assert.equal((await waiting).status, 200);
    } finally {
      await server.close();
    }
  });

  it('kb-2.2: past the held Pings per user, the oldest is answered (Status 1) and the others stay held', { timeout: 60_000 }, async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn', config: { protection: { maxHeldPerUser: 2 } } });
    try {
      const devices = ['P1', 'P2', 'P3'].map((id) => dev(server.url, id));
      for (const d of devices) assert.equal((await d.folderSync()).status, 1);
      const inbox = devices[0]!.folderByType(2).serverId;
      const answered: string[] = [];
      const pings = devices.map((d, i) =>
        (async () => {
          await new Promise((r) => setTimeout(r, i * 300));
          const r = await d.ping([inbox], 600);
          answered.push(d.client.deviceId);
          return r;
        })(),
      );
      const first = await pings[0]!;
      assert.equal(first.status, 200);
      assert.equal(childText(first.wbxml!, 'Status', 'Ping'), '1', 'answered as if its heartbeat had ended');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(answered, ['P1'], 'the two newer Pings are still held');
      await server.close();
      for (const p of pings) assert.equal((await p).status, 200);
    } finally {
      await server.close();
    }
  });
});
