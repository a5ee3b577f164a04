/**
 * Passwords over plain HTTP: Basic credentials are refused (403) from a non-loopback address
 * unless the request came through a trusted TLS-terminating proxy or the admin allows plain
 * HTTP; X-Forwarded-* headers count only from the proxies `--trust-proxy` names.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { hashPassword } from '../../src/auth/password.ts';
import { trustedProxies } from '../../src/cli/serve.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES, type ServerConfig } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import type { Store } from '../../src/store/types.ts';
import { basicAuth } from '../helpers/eas-client.ts';
import { openTempSqliteStore } from '../helpers/db.ts';

const USER = { email: 'tls@example.com', password: 'pw-tls-123456' };

/** A non-loopback IPv4 address of this machine, to connect from something other than loopback. */
function externalAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this test needs a non-loopback IPv4 interface');
}

function options(host: string, port: number, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method: 'OPTIONS', path: '/Microsoft-Server-ActiveSync', headers: { authorization: basicAuth(USER.email, USER.password), ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('Basic credentials over plain HTTP', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  const servers: FastifyInstance[] = [];
  const external = externalAddress();

  before(async () => {
    const temp = await openTempSqliteStore();
    store = temp.store;
    cleanup = temp.cleanup;
    await store.createUser({ email: USER.email, passwordHash: await hashPassword(USER.password) });
  });
  after(async () => {
    for (const s of servers) await s.close();
    await cleanup();
  });

  const start = async (config: Partial<ServerConfig>): Promise<number> => {
    const app = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, ...config }, requireProvisioning: false }, {
      store,
      log: pino({ level: 'silent' }),
      handlers: commandHandlers()
    })).app;
    servers.push(app);
    await app.listen({ host: '0.0.0.0', port: 0 });
    return (app.server.address() as { port: number }).port;
  };

  it('accepts them from loopback and refuses them from another address', async () => {
    const port = await start({});
    assert.equal(await options('127.0.0.1', port), 200);
    assert.equal(await options(external, port), 403);
  });

  it('believes a trusted proxy about the client and about TLS, and nobody else', async () => {
    const port = await start({ trustProxy: trustedProxies(true) });
    // Through the proxy on loopback: a remote client over HTTPS is fine, over plain HTTP is not.
    assert.equal(await options('127.0.0.1', port, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'https' }), 200);
    assert.equal(await options('127.0.0.1', port, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'http' }), 403);
    // A client that is not the proxy cannot claim HTTPS.
    assert.equal(await options(external, port, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' }), 403);
  });

  it('ignores forwarded headers when no proxy is trusted', async () => {
    const port = await start({ trustProxy: false });
    // Loopback stays loopback whatever the headers say; the outside stays outside.
    assert.equal(await options('127.0.0.1', port, { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'http' }), 200);
    assert.equal(await options(external, port, { 'x-forwarded-proto': 'https' }), 403);
  });

  it('--allow-plain-http lets them through from anywhere', async () => {
    const port = await start({ allowPlainHttp: true });
    assert.equal(await options(external, port), 200);
  });

  it('reads --trust-proxy values', () => {
    assert.equal(trustedProxies(undefined), false);
    assert.equal(trustedProxies(false), false);
    assert.equal(trustedProxies(true), 'loopback');
    assert.equal(trustedProxies('yes'), 'loopback');
    assert.equal(trustedProxies('off'), false);
    assert.equal(trustedProxies(' 10.0.0.5, 10.1.0.0/16 '), '10.0.0.5,10.1.0.0/16');
  });
});
