/**
 * The database going away under a running server (issue 18 item 13): devices are answered 503
 * with Retry-After (not 500), Sync says Status 16 (Retry) where it gets that far, the log has one
 * error line for the outage instead of one per request, and everything works again when the
 * database is back. The database is the real PostgreSQL behind a TCP relay the test can cut.
 */
import assert from 'node:assert/strict';
import { connect as tcp } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/auth/password.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES, STORE_DOWN_RETRY_AFTER_S } from '../../src/http/server.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { el } from '../../src/wbxml/tree.ts';
import { PG_TEST_URL, pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { collectingLogger, startTestServer, type LogLine } from '../helpers/server.ts';
import { CuttableRelay } from '../helpers/tcp-relay.ts';

const PASSWORD = 'pa55word-for-outage-7c';

describe('the database down under a running server (PostgreSQL)', { skip: pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
  const relay = new CuttableRelay(Number(new URL(PG_TEST_URL).port || 5432));
  const schema = `easd_test_${randomBytes(6).toString('hex')}`;
  const logs: LogLine[] = [];
  let store: Store;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    await relay.up();
    const target = new URL(PG_TEST_URL);
    target.host = `127.0.0.1:${relay.port}`;
    store = await openPostgresStore(target.toString(), { schema, maxConnections: 2, connectTimeoutMs: 2_000, onError: () => {} });
    const passwordHash = await hashPassword(PASSWORD);
    for (const email of ['early@example.com', 'late@example.com']) await store.createUser({ email, passwordHash });
    // No account cache: every request asks the store who the user is.
    app = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, accountCacheMs: 0 }, requireProvisioning: false }, { store, log: collectingLogger(logs, 'info'), handlers: commandHandlers() })).app;
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  after(async () => {
    await app?.close();
    await relay.up();
    await store?.close().catch(() => {});
    await relay.cut();
    const client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });

  it('answers 503 with Retry-After while it is down, one error line for the outage, and works again after', async () => {
    const device = new EasClient({ url, user: 'early@example.com', password: PASSWORD, deviceId: 'OUTAGE1', deviceType: 'iPhone', version: '16.1' });
    const folderSync = () => device.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
    assert.equal((await folderSync()).status, 200, 'works before the outage');

    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'healthy before the outage');
    await relay.cut();
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 503, 'unhealthy while the database is down');
    assert.match(await health.text(), /^store unavailable: /);
    assert.equal((await fetch(`${url}/readyz`)).status, 503);
    const errorsBefore = logs.filter((l) => l.level >= 50).length;
    for (let i = 0; i < 4; i++) {
      const res = await folderSync();
      assert.equal(res.status, 503, `request ${i} while the database is down`);
      assert.equal(res.headers.get('retry-after'), String(STORE_DOWN_RETRY_AFTER_S));
      const options = await device.options();
      assert.equal(options.status, 503);
    }
    const errors = logs.filter((l) => l.level >= 50).slice(errorsBefore);
    assert.equal(errors.length, 1, `one error line for the outage, not one per request: ${errors.map((l) => l.msg).join(' | ')}`);
    assert.match(String(errors[0]!.msg), /store is unavailable/);
    assert.equal(errors[0]!.stack, undefined);
    const lines = logs.filter((l) => l.msg === 'request' && l.httpStatus === 503 && l.path !== '/healthz' && l.path !== '/readyz');
    assert.ok(lines.length >= 8 && lines.every((l) => /store unavailable/.test(String(l.reason))), `each request line names the reason: ${JSON.stringify(lines.map((l) => [l.cmd, l.reason]))}`);
    assert.equal(logs.filter((l) => l.msg === 'request' && l.httpStatus === 500).length, 0, 'no 500');

    await relay.up();
    const back = await new EasClient({ url, user: 'late@example.com', password: PASSWORD, deviceId: 'OUTAGE2', deviceType: 'iPhone', version: '16.1' }).post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')));
    assert.equal(back.status, 200, 'the pool connects again once the database is back');
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'healthy again');
  });
});

describe('a client that drops its request body is not a store outage', () => {
  it('is answered (or dropped) as the client\'s fault: no 503, no error line', async () => {
    const srv = await startTestServer({ users: [{ email: 'drop@example.com', password: PASSWORD }] });
    try {
      const port = Number(new URL(srv.url).port);
      const auth = Buffer.from(`drop@example.com:${PASSWORD}`).toString('base64');
      await new Promise<void>((resolve) => {
        const s = tcp({ host: '127.0.0.1', port }, () => {
          s.write(`POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=drop&DeviceId=DROP1&DeviceType=iPhone HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\nMS-ASProtocolVersion: 16.1\r\nContent-Type: application/vnd.ms-sync.wbxml\r\nContent-Length: 100000\r\n\r\n`);
          s.write(Buffer.alloc(1000, 1));
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 200);
        });
        s.on('error', () => {});
      });
      // The server notices the reset when it reads on; give it that moment, then ask something else.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
      assert.equal(srv.logs.filter((l) => l.level >= 50).length, 0, 'no error line');
      assert.equal(srv.logs.filter((l) => /store is unavailable/.test(String(l.msg))).length, 0);
    } finally {
      await srv.close();
    }
  });
});
