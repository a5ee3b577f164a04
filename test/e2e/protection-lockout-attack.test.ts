/**
 * Lockout as a weapon (kb-2.10, issue 15 item 3, src/auth/lockout.ts) through a real server: an
 * attacker rotating device ids and addresses, and one sending bad OPTIONS without a device id,
 * never lock the user out of devices that know the password. Addresses come from
 * X-Forwarded-For (the server trusts the loopback proxy, as behind a TLS-terminating proxy).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENDPOINT } from '../../src/http/activesync.ts';
import { countLockout, registry } from '../../src/http/metrics.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = { email: 'alice@example.com', password: 'right-password-123' };
const LOCKOUT = { perOrigin: 3, perAccount: 6, recordPollMs: 0 };

/** One request as a device or tool sends it; returns the HTTP status (401: refused or wrong). */
async function send(server: TestServer, o: { method?: 'OPTIONS' | 'POST'; deviceId?: string; address: string; password: string }): Promise<number> {
  const query = o.deviceId ? `?${o.method === 'OPTIONS' ? '' : 'Cmd=FolderSync&'}User=${encodeURIComponent(ALICE.email)}&DeviceId=${o.deviceId}&DeviceType=iPhone` : '';
  const res = await fetch(`${server.url}${ENDPOINT}${query}`, {
    method: o.method ?? 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${ALICE.email}:${o.password}`).toString('base64')}`,
      'x-forwarded-for': o.address,
      'ms-asprotocolversion': '14.1',
      'content-type': 'application/vnd.ms-sync.wbxml',
    },
    // FolderSync with SyncKey 0 (WBXML), so a let-in device gets a real answer.
    ...(o.method === 'OPTIONS' ? {} : { body: Buffer.from([0x03, 0x01, 0x6a, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03, 0x30, 0x00, 0x01, 0x01]) }),
  });
  await res.arrayBuffer();
  return res.status;
}

const serverConfig = { trustProxy: '127.0.0.1', allowPlainHttp: true, protection: { lockout: LOCKOUT } };

describe('lockout as a weapon (kb-2.10)', () => {
  it('kb-2.10: rotating device ids lock out unproven devices only; known devices and a new device at a known address go on', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'info', config: serverConfig });
    try {
      const phone = { deviceId: 'PHONE', address: '198.51.100.7', password: ALICE.password };
      assert.equal(await send(server, phone), 200);
      const from = server.logs.length;
      // 60 guesses from 60 device ids over 20 addresses: only perAccount of them are checked.
      for (let i = 0; i < 60; i++) assert.equal(await send(server, { deviceId: `BOT${i}`, address: `192.0.2.${i % 20}`, password: `guess-${i}` }), 401);
      const reasons = server.requestLogs(from).map((l) => l.reason);
      assert.equal(reasons.filter((r) => r === 'wrong user name or password').length, LOCKOUT.perAccount, 'perAccount password checks');
      assert.equal(reasons.filter((r) => r === 'account blocked').length, 60 - LOCKOUT.perAccount);
      const warns = server.logs.slice(from).filter((l) => l.level === 40 && String(l.msg).includes('account locked out'));
      assert.equal(warns.length, 1, 'one warn line when the block starts, none per refusal');
      assert.equal(JSON.stringify(warns).includes('guess-'), false, 'no password in the log');

      // The user's phone goes on, also from a new address (mobile data).
      assert.equal(await send(server, phone), 200);
      assert.equal(await send(server, { ...phone, address: '203.0.113.50' }), 200);
      // A new tablet at home (the phone's address, a proof) gets in with the right password;
      // a new device elsewhere waits, even with the right password.
      assert.equal(await send(server, { deviceId: 'TABLET', address: '198.51.100.7', password: ALICE.password }), 200);
      assert.equal(await send(server, { deviceId: 'LAPTOP', address: '192.0.2.200', password: ALICE.password }), 401);

      // The block is in the store for the admin, and the admin's unlock admits the laptop.
      const rec = await server.store.protection.getAccountLockout(ALICE.email);
      assert.ok(rec?.blockedUntil && rec.blockedUntil > new Date(), 'the block is recorded');
      assert.equal(rec.blocks, 1);
      await server.store.protection.unlockAccount(ALICE.email, 'LAPTOP', new Date(Date.now() + 3600_000));
      // The attacker goes on at once: the account blocks again, the admitted laptop still gets in.
      for (let i = 0; i < 10; i++) await send(server, { deviceId: `BOTB${i}`, address: `192.0.2.${i}`, password: `again-${i}` });
      assert.equal(await send(server, { deviceId: 'LAPTOP', address: '192.0.2.200', password: ALICE.password }), 200);
      assert.ok(server.logs.slice(from).some((l) => String(l.msg).includes('lockout ended by the admin')));
    } finally {
      await server.close();
    }
  });

  it('kb-2.10: 30 bad OPTIONS without a device id from the phone’s address do not lock out its OPTIONS', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn', config: serverConfig });
    try {
      const home = '198.51.100.7';
      // The phone's OPTIONS names its device id (as iOS sends it); a tool's OPTIONS names none.
      assert.equal(await send(server, { method: 'OPTIONS', deviceId: 'PHONE', address: home, password: ALICE.password }), 200);
      assert.equal(await send(server, { method: 'OPTIONS', address: home, password: ALICE.password }), 200);
      for (let i = 0; i < 30; i++) assert.equal(await send(server, { method: 'OPTIONS', address: home, password: `guess-${i}` }), 401);
      assert.equal(await send(server, { method: 'OPTIONS', deviceId: 'PHONE', address: home, password: ALICE.password }), 200, 'the phone’s OPTIONS goes on');
      assert.equal(await send(server, { deviceId: 'PHONE', address: home, password: ALICE.password }), 200, 'and its Sync');
      // Requests without a device id from one address are one origin: that one is blocked (the limit).
      assert.equal(await send(server, { method: 'OPTIONS', address: home, password: ALICE.password }), 401);

      // Bad OPTIONS from rotating addresses block the account for unproven origins; the known
      // address's OPTIONS without a device id is not one of them.
      for (let i = 0; i < 30; i++) await send(server, { method: 'OPTIONS', address: `192.0.2.${i}`, password: `guess-${i}` });
      assert.equal(await send(server, { method: 'OPTIONS', address: '203.0.113.1', password: ALICE.password }), 401, 'an unproven address waits');
      assert.equal(await send(server, { method: 'OPTIONS', deviceId: 'PHONE', address: home, password: ALICE.password }), 200);
    } finally {
      await server.close();
    }
  });

  it('block starts and refusals are counted in the metrics', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn', config: { ...serverConfig, metrics: true } });
    const value = async (name: string, label: string) => {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      return (m?.values ?? []).filter((v) => Object.values(v.labels).includes(label)).reduce((n, v) => n + v.value, 0);
    };
    try {
      assert.equal(typeof countLockout, 'function');
      const started = await value('easd_lockouts_started_total', 'account');
      const refused = await value('easd_login_refused_total', 'account blocked');
      for (let i = 0; i < 10; i++) await send(server, { deviceId: `BOT${i}`, address: `192.0.2.${i}`, password: `guess-${i}` });
      assert.equal((await value('easd_lockouts_started_total', 'account')) - started, 1);
      assert.equal((await value('easd_login_refused_total', 'account blocked')) - refused, 10 - LOCKOUT.perAccount);
    } finally {
      await server.close();
    }
  });
});
