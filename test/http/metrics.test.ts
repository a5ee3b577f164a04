/**
 * Prometheus metrics (src/http/metrics.ts) from a real server: requests by command and HTTP/EAS
 * status, latency histogram, held Pings, throttled answers, store call timings; served only on
 * the separate metrics listener, never on the ActiveSync port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { commandHandlers } from '../../src/commands/index.ts';
import { commandLabel, startMetricsListener } from '../../src/http/metrics.ts';
import { el } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from '../e2e/device.ts';

const USER = { email: 'metrics@example.com', password: 'metrics-password-1' };

/** The value of one sample line (name with its labels exactly as prom-client writes them), 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('metrics', () => {
  let srv: TestServer;
  let metrics: Awaited<ReturnType<typeof startMetricsListener>>;
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    return res.text();
  };

  before(async () => {
    // GetItemEstimate answers as throttled here, the way protection code does (503 + X-MS-ASThrottle).
    const handlers = commandHandlers();
    handlers.set('GetItemEstimate', async () => ({ httpStatus: 503, headers: { 'X-MS-ASThrottle': 'CommandFrequency', 'Retry-After': '30' } }));
    srv = await startTestServer({ users: [USER], handlers, logLevel: 'warn', config: { metrics: true } });
    metrics = await startMetricsListener('127.0.0.1', 0);
  });
  after(async () => {
    await srv.close();
    await metrics.close();
  });

  it('counts requests by command, HTTP and EAS status, with a latency histogram and store timings', async () => {
    const before = await scrape();
    const ok = 'easd_requests_total{cmd="FolderSync",http_status="200",eas_status="1"}';
    const denied = 'easd_requests_total{cmd="FolderSync",http_status="401",eas_status=""}';
    const device = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'METRICS1', deviceType: 'TestPhone', version: '16.1' });
    assert.equal((await device.folderSync()).status, 1);
    assert.equal((await device.folderSync()).status, 1);
    const bad = new EasClient({ url: srv.url, user: USER.email, password: 'wrong-password-9', deviceId: 'METRICS2' });
    assert.equal((await bad.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')))).status, 401);
    const text = await scrape();
    assert.equal(sample(text, ok) - sample(before, ok), 2);
    assert.equal(sample(text, denied) - sample(before, denied), 1);
    const count = 'easd_request_duration_seconds_count{cmd="FolderSync"}';
    assert.equal(sample(text, count) - sample(before, count), 3);
    assert.ok(sample(text, 'easd_request_duration_seconds_bucket{le="+Inf",cmd="FolderSync"}') >= 3);
    // The FolderSync handler read the folders through the timed store.
    assert.match(text, /easd_store_call_duration_seconds_count\{method="\w+"\} [1-9]/);
    assert.match(text, /easd_process_cpu_seconds_total/);
  });

  it('collapses command names the client made up into "other"', async () => {
    assert.equal(commandLabel('sync'), 'Sync');
    assert.equal(commandLabel('NoSuchCommand\u0000'), 'other');
    assert.equal(commandLabel(undefined), 'none');
    const client = new EasClient({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'METRICS3' });
    assert.equal((await client.post('MadeUpCommand12345')).status, 501);
    const text = await scrape();
    assert.doesNotMatch(text, /MadeUpCommand/);
    assert.ok(sample(text, 'easd_requests_total{cmd="other",http_status="501",eas_status=""}') >= 1);
  });

  it('counts throttled answers by their X-MS-ASThrottle reason', async () => {
    const series = 'easd_throttled_requests_total{reason="CommandFrequency"}';
    const before = sample(await scrape(), series);
    const device = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'METRICS4', deviceType: 'TestPhone', version: '16.1' });
    await device.folderSync();
    const res = await device.client.post('GetItemEstimate', el('GetItemEstimate', 'GetItemEstimate'));
    assert.equal(res.status, 503);
    assert.equal(sample(await scrape(), series) - before, 1);
  });

  it('shows held Pings while they are held', async () => {
    const device = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: 'METRICS5', deviceType: 'TestPhone', version: '16.1' });
    await device.folderSync();
    const inbox = device.folderByType(2);
    await device.sync(inbox.serverId);
    const held = device.ping([inbox.serverId], 300);
    let n = 0;
    for (let i = 0; i < 100 && n < 1; i++) {
      n = sample(await scrape(), 'easd_held_requests');
      if (n < 1) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(n, 1);
    const during = await scrape();
    assert.equal(sample(during, 'easd_held_requests_detached'), 1, 'and detached from the HTTP server');
    const pingSeconds = sample(during, 'easd_request_duration_seconds_sum{cmd="Ping"}');
    await new Promise((r) => setTimeout(r, 300));
    // A new message ends the hold.
    const folder = (await srv.store.listFolders(srv.users.get(USER.email)!.id)).find((f) => f.type === 2)!;
    await srv.store.putItem({ userId: folder.userId, folderId: folder.id, class: 'Email', data: { subject: 'wake', read: false } });
    assert.equal((await held).status, 200);
    const after = await scrape();
    assert.equal(sample(after, 'easd_held_requests'), 0);
    assert.equal(sample(after, 'easd_held_requests_detached'), 0);
    assert.ok(sample(after, 'easd_request_duration_seconds_sum{cmd="Ping"}') - pingSeconds >= 0.3, 'the answered Ping counts its whole hold');
  });

  it('is not served on the ActiveSync port, and the listener serves nothing else', async () => {
    assert.equal((await fetch(`${srv.url}/metrics`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${metrics.port}/other`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${metrics.port}/metrics`, { method: 'POST' })).status, 405);
  });
});
