/**
 * Held Pings are parked records (src/http/parked-requests.ts): one that a change answers, or
 * whose device goes away, leaves nothing behind on the server.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { heldConnectionsOf } from '../../src/http/server.ts';
import { el, encodeWbxml } from '../../src/wbxml/index.ts';
import { childText } from '../../src/wbxml/tree.ts';
import { basicAuth, encodePlainQuery } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const USER = { email: 'ping@example.com', password: 'pw-ping-123456' };

/** A device of USER that has synced its Inbox, and a raw Ping of that Inbox (held: nothing new). */
async function syncedDevice(srv: TestServer, deviceId: string) {
  const d = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId, version: '14.1' });
  await d.folderSync();
  const inbox = d.folderByType(2).serverId;
  await d.initialSync(inbox);
  const body = encodeWbxml(
    el('Ping', 'Ping', [el('Ping', 'HeartbeatInterval', '600'), el('Ping', 'Folders', el('Ping', 'Folder', [el('Ping', 'Id', inbox), el('Ping', 'Class', 'Email')]))]),
  );
  const url = new URL(`/Microsoft-Server-ActiveSync?${encodePlainQuery({ cmd: 'Ping', user: USER.email, deviceId, deviceType: 'SmartPhone' })}`, srv.url);
  /** Sends the Ping on a connection of its own (the caller ends it with the body). */
  const ping = (headers: Record<string, string> = {}) =>
    http.request(url, {
      method: 'POST',
      headers: { authorization: basicAuth(USER.email, USER.password), 'content-type': 'application/vnd.ms-sync.wbxml', 'ms-asprotocolversion': '14.1', ...headers },
    });
  return { d, inbox, body, ping };
}

// On easd's own store, and with the mailboxes in memory (the mailbox port's second backend).
for (const backend of ['sqlite', 'memory'] as const) {
  describe(`held Pings (${backend})`, () => {
    it('a held Ping whose device disconnects is dropped: its watch is closed, a later change wakes nothing', async () => {
      const srv = await startTestServer({ users: [USER], backend });
      try {
        const { d, inbox, body, ping } = await syncedDevice(srv, 'PINGDROP1');
        const hub = srv.runtime.services.changes;
        const req = ping();
        req.on('error', () => {});
        req.end(body);
        for (let i = 0; i < 200 && hub.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(hub.size, 1, 'the Ping is held');
        req.destroy();
        for (let i = 0; i < 200 && hub.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(hub.size, 0, 'the dropped Ping left no watch behind');
        const inboxFolder = (await srv.store.listFolders(srv.users.get(USER.email)!.id)).find((f) => f.serverId === inbox)!;
        await srv.store.putItem({ userId: inboxFolder.userId, folderId: inboxFolder.id, class: 'Email', data: { subject: 'after' } });
        // The device comes back and Pings again: the change is reported at once.
        const again = await d.ping([inbox], 120);
        assert.equal(childText(again.wbxml!, 'Status', 'Ping'), '2');
      } finally {
        await srv.close();
      }
    });

    it('a held Ping lets go of its headers and body while it waits, yet its log line and mailbox log entry keep them', async () => {
      // Behind a trusted proxy: the client address comes from X-Forwarded-For, a header the held Ping lets go of.
      const srv = await startTestServer({ users: [USER], backend, config: { trustProxy: '127.0.0.1' } });
      try {
        const userId = srv.users.get(USER.email)!.id;
        await srv.store.mailboxLog.enable(userId, new Date(Date.now() + 3_600_000));
        const { inbox, body, ping: sendPing } = await syncedDevice(srv, 'PINGLOG1');
        const hub = srv.runtime.services.changes;
        const from = srv.logs.length;
        const answered = new Promise<number>((resolve, reject) => {
          const req = sendPing({ 'user-agent': 'PingLogTest/1.0', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' });
          req.on('response', (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(body);
        });
        for (let i = 0; i < 200 && heldConnectionsOf(srv.app)!.detached === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(hub.size, 1, 'the Ping is held');
        assert.equal(heldConnectionsOf(srv.app)!.detached, 1, 'and detached from node:http: its log fields and mailbox log mark are carried to its answer');
        const inboxFolder = (await srv.store.listFolders(userId)).find((f) => f.serverId === inbox)!;
        await srv.store.putItem({ userId, folderId: inboxFolder.id, class: 'Email', data: { subject: 'wake' } });
        assert.equal(await answered, 200);

        const line = srv.requestLogs(from).find((l) => l.cmd === 'Ping')!;
        assert.equal(line.bytesIn, body.length, 'bytes in counted before the body was let go');
        assert.equal(line.remote, '203.0.113.9', 'the client behind the proxy');
        assert.equal(line.easStatus, 2);
        const entries = await srv.store.mailboxLog.list(userId);
        const ping = entries.find((e) => e.cmd === 'Ping')!;
        assert.ok(ping, 'the held Ping has a mailbox log entry');
        assert.match(ping.request ?? '', /<HeartbeatInterval>600<\/HeartbeatInterval>/);
        assert.match(ping.response ?? '', /<Status>2<\/Status>/);
        assert.equal((ping.meta as { remote: string }).remote, '203.0.113.9', 'the client behind the proxy');
        const headers = (ping.meta as { requestHeaders: Record<string, string> }).requestHeaders;
        assert.equal(headers['user-agent'], 'PingLogTest/1.0');
        assert.equal(headers.authorization, undefined, 'never the credentials');
        assert.match((ping.meta as { url: string }).url, /\?Cmd=Ping&User=ping%40example\.com&DeviceId=PINGLOG1/, 'the query as the device sent it');
      } finally {
        await srv.close();
      }
    });
  });
}
