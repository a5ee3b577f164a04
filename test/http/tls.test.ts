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
import { ENDPOINT } from '../../src/http/activesync.ts';
import { basicAuth } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = { email: 'tls@example.com', password: 'tls-password-55' };

function httpsRequest(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, protocol: url.split(':')[0]! }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
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
