/**
 * Throttling scenarios (kb-2.9, src/devices/throttle.ts) through a real server: identical Syncs
 * past the budget get HTTP 503 with Retry-After and X-MS-ASThrottle (MS-ASHTTP 2.2.2.1.2.13,
 * 3.1.5.2.3), the user's other devices go on, the block ends by itself, and the admin sees it in
 * `easd device show` / `list`. On SQLite and PostgreSQL (the block is recorded in the store).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { hashPassword } from '../../src/auth/password.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { el } from '../../src/wbxml/index.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { startTestServer } from '../helpers/server.ts';
import { easd as runEasd } from '../logging/cli-helpers.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
/** ./bin/easd's standard output; a non-zero exit fails the test with its stderr. */
async function easd(args: string[]): Promise<string> {
  const r = await runEasd(args);
  if (r.code !== 0) throw new Error(`easd ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

// No pacing here (identicalPaceMs 0): the 60 Syncs come as fast as the device sends them.
/** Polls until the store has the record (blocks are written at most a second later). */
async function recorded<T>(get: () => Promise<T | null>): Promise<T | null> {
  for (let i = 0; i < 40; i++) {
    const v = await get();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

const THROTTLE = { identicalSyncs: 30, identicalWindowMs: 10_000, identicalPaceMs: 0, blockMs: 1_500, tarpitMs: 0 };

/** 60 identical Syncs of the Inbox as fast as one device sends them; the statuses seen. */
async function loopSyncs(url: string, deviceId: string) {
  const d = new Device({ url, user: ALICE.email, password: ALICE.password, deviceId, deviceType: 'LoopPhone' });
  assert.equal((await d.folderSync()).status, 1);
  const inbox = d.folderByType(2).serverId;
  await d.initialSync(inbox);
  const body = el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox)));
  const statuses: number[] = [];
  let first503: Headers | undefined;
  let elapsed = 0;
  let refusalMs = 0;
  const started = Date.now();
  for (let i = 0; i < 60; i++) {
    const t0 = Date.now();
    const r = await d.client.post('Sync', body);
    statuses.push(r.status);
    if (r.status === 503 && !first503) {
      first503 = r.headers;
      refusalMs = Date.now() - t0;
      elapsed = t0 - started;
    }
  }
  return { d, body, statuses, first503, elapsed, refusalMs };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`throttling (${backend})`, () => {
    it('kb-2.9: 60 identical Syncs in 10 s are throttled with 503, then served again after the block', async () => {
      // A short tarpit: each refusal is held 50 ms before it is sent.
      const server = await startTestServer({ users: [ALICE], backend, logLevel: 'info', config: { protection: { throttle: { ...THROTTLE, blockMs: 3_000, tarpitMs: 50 } } } });
      try {
        const { d, body, statuses, first503, elapsed, refusalMs } = await loopSyncs(server.url, `LOOP${backend}`);
        assert.ok(elapsed < 10_000, `the Syncs up to the first refusal took ${elapsed} ms`);
        assert.ok(refusalMs >= 45, `the refusal was held ${refusalMs} ms (tarpit)`);
        // The initial sync's last poll may already be this request (the same SyncKey): 29 or 30.
        const served = statuses.indexOf(503);
        assert.ok(served === 29 || served === 30, `the budget of identical Syncs is served (${served})`);
        assert.deepEqual(statuses.slice(served), Array(60 - served).fill(503), 'past it every request of the device is refused');
        assert.equal(first503!.get('x-ms-asthrottle'), 'RecentCommands');
        assert.equal(first503!.get('retry-after'), '3');
        // Another device of the user is not affected.
        const other = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `OTHER${backend}`, deviceType: 'GoodPhone' });
        assert.equal((await other.folderSync()).status, 1);
        // Visible to the admin while it lasts (blocks are written within a second, batched).
        const alice = server.users.get(ALICE.email)!;
        const p = await recorded(() => server.store.protection.get(alice.id, `LOOP${backend}`));
        assert.equal(p?.throttles, 1);
        assert.equal(p?.lastThrottleReason, 'RecentCommands');
        assert.ok(p!.throttledUntil! > new Date());
        const logged = server.requestLogs().filter((l) => l.httpStatus === 503);
        assert.equal(logged.length, 60 - served);
        assert.match(String(logged[0]!.reason), /throttled \(device\): RecentCommands/);
        // The block ends by itself.
        await new Promise((r) => setTimeout(r, p!.throttledUntil!.getTime() - Date.now() + 100));
        assert.equal((await d.client.post('Sync', body)).status, 200);
      } finally {
        await server.close();
      }
    });
  });
}

describe('pacing of identical Syncs', () => {
  it('kb-2.2: past the free ones, identical Syncs of a device are handled a pace apart; other devices are not slowed', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn', config: { protection: { throttle: { identicalFree: 2, identicalPaceMs: 300 } } } });
    try {
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: 'PACED' });
      assert.equal((await d.folderSync()).status, 1);
      const inbox = d.folderByType(2).serverId;
      await d.initialSync(inbox);
      const body = el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(inbox)));
      const other = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: 'UNPACED' });
      assert.equal((await other.folderSync()).status, 1);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        assert.equal((await d.client.post('Sync', body)).status, 200);
        times.push(Date.now() - t0);
        const t1 = Date.now();
        assert.equal((await other.client.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', other.folderSyncKey)))).status, 200);
        assert.ok(Date.now() - t1 < 250, 'the other device is answered at once');
      }
      // The initial sync's last poll may have been the first of the run: at least the last 3 wait.
      assert.ok(times.slice(2).every((t) => t >= 150), `paced: ${times.join(', ')} ms`);
      assert.ok(times[0]! < 250, `the first is answered at once: ${times[0]} ms`);
    } finally {
      await server.close();
    }
  });
});

describe('throttling in the admin view', () => {
  it('kb-2.9: easd device show and list show the throttle while it lasts', async () => {
    const temp = await openTempSqliteStore();
    const user = await temp.store.createUser({ email: ALICE.email, passwordHash: await hashPassword(ALICE.password) });
    const app = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false, protection: { throttle: { ...THROTTLE, blockMs: 60_000 } } }, requireProvisioning: false }, {
      store: temp.store,
      log: pino({ level: 'silent' }),
      handlers: commandHandlers()
    })).app;
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as { port: number }).port;
      const { statuses } = await loopSyncs(`http://127.0.0.1:${port}`, 'ADMINLOOP');
      assert.ok(statuses.includes(503));
      assert.ok(await recorded(() => temp.store.protection.get(user.id, 'ADMINLOOP')));
      const show = await easd(['device', 'show', 'ADMINLOOP', '--user', ALICE.email, '--data', temp.dir]);
      assert.match(show, /throttled\s+1 time\(s\), last \S+ \(RecentCommands\), BLOCKED until /);
      assert.match(show, /loops\s+none flagged/);
      const list = await easd(['device', 'list', '--data', temp.dir]);
      const row = list.split('\n').find((l) => l.includes('ADMINLOOP'));
      assert.ok(row && /throttled/.test(row), list);
      assert.ok(user.id);
    } finally {
      await app.close();
      await temp.cleanup();
    }
  });
});
