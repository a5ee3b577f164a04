/**
 * HTTPS served directly (config.tls): a throwaway self-signed certificate from openssl, and an
 * OPTIONS over https with certificate checks off.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Agent } from 'node:https';
import { ENDPOINT, WBXML_CONTENT_TYPE } from '../../src/http/activesync.ts';
import { heldConnectionsOf } from '../../src/http/server.ts';
import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { childText, decodeWbxml, el, encodeWbxml } from '../../src/wbxml/index.ts';
import { basicAuth, encodePlainQuery } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { email: 'tls@example.com', password: 'tls-password-55' };

function httpsRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
  agent?: Agent,
): Promise<{ status: number; headers: Record<string, unknown>; protocol: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, rejectUnauthorized: false, timeout: 10_000, ...(agent ? { agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, protocol: url.split(':')[0]!, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS', () => {
  let dir: string;
  let srv: TestServer | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easd-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], {
      timeout: 30_000,
    });
    srv = await startTestServer({ users: [USER], config: { tls: { cert: await readFile(cert), key: await readFile(key) } } });
  });

  after(async () => {
    await srv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers OPTIONS over https', async () => {
    assert.ok(srv);
    assert.ok(srv.url.startsWith('https://'));
    const res = await httpsRequest(srv.url + ENDPOINT, 'OPTIONS', { Authorization: basicAuth(USER.email, USER.password) });
    assert.equal(res.status, 200);
    assert.equal(res.headers['ms-asprotocolversions'], '12.0,12.1,14.0,14.1,16.0,16.1');
  });

  it('detaches a held Ping over TLS and answers it on the same connection; the request still knows it came over TLS', async () => {
    assert.ok(srv);
    const userId = srv.users.get(USER.email)!.id;
    const inbox = (await ensureDefaultFolders(srv.store, userId)).find((f) => f.type === 2)!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    try {
      const auth = { Authorization: basicAuth(USER.email, USER.password) };
      // Autodiscover builds its URL from the request's protocol: https, through the proxy.
      const body = Buffer.from(
        encodeWbxml(el('Ping', 'Ping', [el('Ping', 'HeartbeatInterval', '600'), el('Ping', 'Folders', el('Ping', 'Folder', [el('Ping', 'Id', inbox.serverId), el('Ping', 'Class', 'Email')]))])),
      );
      const url = `${srv.url}${ENDPOINT}?${encodePlainQuery({ cmd: 'Ping', user: USER.email, deviceId: 'TLSPING1', deviceType: 'SmartPhone' })}`;
      const answered = httpsRequest(url, 'POST', { ...auth, 'Content-Type': WBXML_CONTENT_TYPE, 'MS-ASProtocolVersion': '14.1' }, body, agent);
      const connections = heldConnectionsOf(srv.app)!;
      for (let i = 0; i < 500 && connections.detached === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(connections.detached, 1, 'the Ping over TLS is detached');
      await srv.store.putItem({ userId, folderId: inbox.id, class: 'Email', data: { subject: 'over tls' } });
      const res = await answered;
      assert.equal(res.status, 200);
      assert.equal(childText(decodeWbxml(res.body), 'Status', 'Ping'), '2');
      const xml = Buffer.from(
        `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>${USER.email}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>`,
      );
      const ad = await httpsRequest(`${srv.url}/autodiscover/autodiscover.xml`, 'POST', { ...auth, 'Content-Type': 'text/xml' }, xml, agent);
      assert.equal(ad.status, 200);
      assert.match(ad.body.toString(), /<Url>https:\/\//, 'the same kept-alive connection, known to be TLS');
    } finally {
      agent.destroy();
    }
  });

  it('does not answer plain http on the TLS port', async () => {
    assert.ok(srv);
    const plain = srv.url.replace(/^https:/, 'http:') + ENDPOINT;
    const res = await fetch(plain, { method: 'OPTIONS', headers: { Authorization: basicAuth(USER.email, USER.password) } }).then(
      (r) => r.status,
      () => 'failed',
    );
    assert.notEqual(res, 200);
  });
});
