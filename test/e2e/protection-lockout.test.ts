/**
 * Lockout protection scenarios (kb-2.10, src/auth/lockout.ts) through a real server: a phone that
 * keeps the old password after a change cannot lock the account for the user's other devices;
 * guessing from one device and address blocks that origin first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword } from '../../src/auth/password.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const OLD = 'old-password-123';
const NEW = 'new-password-456';
const ALICE = { email: 'alice@example.com', password: OLD };

describe('lockout protection', () => {
  it('kb-2.10: a device retries the old password 100 times, another device with the new password still works', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'info', config: { protection: { lockout: { perOrigin: 5, perAccount: 10 } } } });
    try {
      const phone = new Device({ url: server.url, user: ALICE.email, password: OLD, deviceId: 'OLDPHONE' });
      const tablet = new Device({ url: server.url, user: ALICE.email, password: OLD, deviceId: 'TABLET' });
      assert.equal((await phone.folderSync()).status, 1);
      assert.equal((await tablet.folderSync()).status, 1);
      // The password changes; the tablet gets the new one, the phone keeps the old.
      await server.store.setPasswordHash(server.users.get(ALICE.email)!.id, await hashPassword(NEW));
      const tabletNew = new Device({ url: server.url, user: ALICE.email, password: NEW, deviceId: 'TABLET' });
      const from = server.logs.length;
      for (let i = 0; i < 100; i++) assert.equal((await phone.client.post('FolderSync', undefined)).status, 401);
      const reasons = server.requestLogs(from).map((l) => l.reason);
      assert.equal(reasons.filter((r) => r === 'wrong user name or password').length, 1, 'the old password is checked once');
      assert.equal(reasons.filter((r) => r === 'known wrong password').length, 99, 'then refused without a check');
      assert.equal(server.logs.slice(from).some((l) => JSON.stringify(l).includes(OLD)), false, 'the password is never logged');
      // The other device works, and so does a third device set up now.
      assert.equal((await tabletNew.folderSync()).status, 1);
      const laptop = new Device({ url: server.url, user: ALICE.email, password: NEW, deviceId: 'LAPTOP' });
      assert.equal((await laptop.folderSync()).status, 1);
      // The phone gets the new password and works at once.
      const phoneNew = new Device({ url: server.url, user: ALICE.email, password: NEW, deviceId: 'OLDPHONE' });
      assert.equal((await phoneNew.folderSync()).status, 1);
    } finally {
      await server.close();
    }
  });

  it('kb-2.10: different wrong passwords block that device and address, not the account', async () => {
    const server = await startTestServer({ users: [ALICE], logLevel: 'warn', config: { protection: { lockout: { perOrigin: 3, perAccount: 10 } } } });
    try {
      const good = new Device({ url: server.url, user: ALICE.email, password: OLD, deviceId: 'GOOD' });
      assert.equal((await good.folderSync()).status, 1);
      for (const p of ['guess-1', 'guess-2', 'guess-3']) {
        const bad = new Device({ url: server.url, user: ALICE.email, password: p, deviceId: 'GUESSER' });
        assert.equal((await bad.client.post('FolderSync', undefined)).status, 401);
      }
      const from = server.logs.length;
      const right = new Device({ url: server.url, user: ALICE.email, password: OLD, deviceId: 'GUESSER' });
      assert.equal((await right.client.post('FolderSync', undefined)).status, 401, 'the guessing device is blocked, even with the right password');
      // Over loopback every request has one address, where GOOD logged in: the guesser is a new
      // device at a known address and has used up that address's budget for new devices.
      assert.equal(server.requestLogs(from)[0]!.reason, 'address blocked');
      assert.equal((await good.folderSync()).status, 1, 'the user’s device goes on');
      // Autodiscover (no device id) counts per address with its own origin and is not blocked by it.
      const ad = await fetch(`${server.url}/autodiscover/autodiscover.xml`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${ALICE.email}:${OLD}`).toString('base64')}`, 'content-type': 'text/xml' },
        body: `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>${ALICE.email}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>`,
      });
      assert.equal(ad.status, 200);
    } finally {
      await server.close();
    }
  });
});
