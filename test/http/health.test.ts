/**
 * /healthz and /readyz (issue 18 item 11): on the ActiveSync listener without credentials and on
 * the metrics listener; "ok" while the store answers, 503 with the reason when it does not
 * (test/http/store-down.test.ts cuts a real PostgreSQL), /readyz 503 while shutting down; a
 * healthy probe is logged at debug so a balancer probing every few seconds does not fill the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkHealth } from '../../src/http/health.ts';
import { startMetricsListener } from '../../src/http/metrics.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('health checks', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({});
  });
  after(async () => {
    await srv.close();
  });

  it('answer ok on the ActiveSync listener without credentials, logged at debug', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${srv.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), 'ok\n');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const line = [...srv.logs].reverse().find((l) => l.msg === 'request' && l.path === path);
      assert.ok(line, `a request line for ${path}`);
      assert.equal(line.level, 20, 'debug');
    }
  });

  it('answer on the metrics listener too; other paths stay 404', async () => {
    let closing = false;
    const m = await startMetricsListener('127.0.0.1', 0, { storeCheck: () => srv.store.writeToken(), closing: () => closing });
    try {
      const base = `http://127.0.0.1:${m.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      closing = true;
      const r = await fetch(`${base}/readyz`);
      assert.equal(r.status, 503, 'not ready while shutting down');
      assert.equal(await r.text(), 'shutting down\n');
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'but alive');
      assert.equal((await fetch(`${base}/other`)).status, 404);
    } finally {
      await m.close();
    }
  });

  it('a store check that fails or hangs is unavailable', async () => {
    const failing = await checkHealth({ storeCheck: () => Promise.reject(new Error('connect ECONNREFUSED')), closing: () => false }, false);
    assert.deepEqual(failing, { status: 503, body: 'store unavailable: connect ECONNREFUSED\n' });
  });
});
