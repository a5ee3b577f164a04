/**
 * `easd report` over a recorded request log: a real server is driven by two users' devices (a
 * sync, a sync-key reset, a wrong password, a throttled answer), its log lines are written to a
 * file as `easd serve` writes them to stdout, and ./bin/easd reads them from the file or stdin.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandHandlers } from '../../src/commands/index.ts';
import { el } from '../../src/wbxml/index.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from '../e2e/device.ts';
import { easd } from '../logging/cli-helpers.ts';

const ANN = { email: 'ann@example.com', password: 'ann-password-881' };
const BOB = { email: 'bob@example.com', password: 'bob-password-882' };

describe('easd report over a recorded log', () => {
  let dir: string;
  let logFile: string;
  let recorded: string;
  let firstTime = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easd-report-'));
    const handlers = commandHandlers();
    // Answers as the throttling code does: 503 with X-MS-ASThrottle and Retry-After.
    handlers.set('GetItemEstimate', async () => ({ httpStatus: 503, headers: { 'X-MS-ASThrottle': 'CommandFrequency', 'Retry-After': '30' } }));
    const srv = await startTestServer({ users: [ANN, BOB], handlers, logLevel: 'info' });
    try {
      const ann = new Device({ url: srv.url, user: ANN.email, password: ANN.password, deviceId: 'ANNPHONE', deviceType: 'iPhone', version: '16.1' });
      assert.equal((await ann.folderSync()).status, 1);
      const inbox = ann.folderByType(2).serverId;
      await ann.sync(inbox);
      await ann.sync(inbox);
      // A sync key the server never gave: Status 3, the device starts over (a reset).
      ann.view(inbox).syncKey = '987654321';
      assert.equal((await ann.sync(inbox)).status, 3);
      assert.equal((await ann.client.post('GetItemEstimate', el('GetItemEstimate', 'GetItemEstimate'))).status, 503);
      const bob = new Device({ url: srv.url, user: BOB.email, password: BOB.password, deviceId: 'BOBTABLET', deviceType: 'Android', version: '14.1' });
      assert.equal((await bob.folderSync()).status, 1);
      const wrong = new EasClient({ url: srv.url, user: BOB.email, password: 'bad-password-1', deviceId: 'BOBTABLET', deviceType: 'Android' });
      assert.equal((await wrong.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', '0')))).status, 401);
    } finally {
      await srv.close();
    }
    // The lines as pino writes them (one JSON object per line), with the server's other lines.
    recorded = srv.logs.map((l) => JSON.stringify(l)).join('\n') + '\nnot a log line\n';
    firstTime = Math.min(...srv.requestLogs().map((l) => l.time as number));
    logFile = join(dir, 'easd.log');
    await writeFile(logFile, recorded);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('summarises per user and device as CSV', async () => {
    const r = await easd(['report', logFile, '--csv']);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\r\n').map((l) => l.split(','));
    const col = (row: string[], name: string) => row[header!.indexOf(name)];
    assert.deepEqual(rows.map((x) => [x[0], x[1], x[2]]), [['ann@example.com', 'ANNPHONE', 'iPhone'], ['bob@example.com', 'BOBTABLET', 'Android']]);
    const [ann, bob] = rows as [string[], string[]];
    assert.equal(col(ann, 'Hits'), '5');
    assert.equal(col(ann, 'Hits FolderSync'), '1');
    assert.equal(col(ann, 'Hits Sync'), '3');
    assert.equal(col(ann, 'Hits GetItemEstimate'), '1');
    assert.equal(col(ann, 'Throttles'), '1');
    assert.equal(col(ann, 'Resets'), '1');
    assert.equal(col(ann, 'EAS Sync:3'), '1');
    assert.equal(col(ann, 'HTTP 503'), '1');
    assert.ok(Number(col(ann, 'BytesOut')) > 0 && Number(col(ann, 'BytesIn')) > 0);
    assert.equal(col(ann, 'ProtocolVersion'), '16.1');
    assert.equal(col(bob, 'Hits'), '2');
    assert.equal(col(bob, 'HTTP 401'), '1');
    assert.equal(col(bob, 'Hits FolderSync'), '2');
    assert.equal(col(bob, 'Errors'), '1');
  });

  it('reads stdin, and --since/--until keep only the requests in the window', async () => {
    const all = await easd(['report', '-'], recorded);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^7 requests, 2 user\/device pairs, \d+ other lines skipped\n/);
    assert.match(all.stdout, /ann@example.com {2}device ANNPHONE \(iPhone, EAS 16.1\)\n {2}requests 5 /);
    assert.match(all.stdout, /throttles 1, resets 1, errors 1/);
    const none = await easd(['report', logFile, '--until', new Date(firstTime).toISOString()]);
    assert.match(none.stdout, /^0 requests, 0 user\/device pairs/);
    const since = await easd(['report', logFile, '--since', new Date(firstTime).toISOString()]);
    assert.match(since.stdout, /^7 requests/);
  });

  it('refuses a missing file and a bad time with one line', async () => {
    let r = await easd(['report', join(dir, 'missing.log')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read .*missing.log: ENOENT/);
    r = await easd(['report', logFile, '--since', 'last week']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a time/);
  });
});
