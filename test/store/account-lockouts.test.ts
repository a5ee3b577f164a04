/**
 * Account lockout records (src/store/protection-store.ts, migration 0017) on both backends: a
 * server records a block when it starts, `easd user unlock` ends it, and a server reading the
 * record takes both in (src/auth/lockout.ts `adopt`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lockout } from '../../src/auth/lockout.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, withTempStore, type TestStore } from '../helpers/db.ts';

const backends: Array<[string, () => Promise<TestStore>]> = [['sqlite', () => openTempSqliteStore()]];
if (!pgSkipped()) backends.push(['postgres', () => openTempPostgresStore()]);

for (const [name, open] of backends) {
  describe(`account lockout records: ${name}`, () => {
    it('a block is recorded, counted, unlocked with an admitted device, and recorded again', () =>
      withTempStore(open, async (store) => {
        const p = store.protection;
        assert.equal(await p.getAccountLockout('alice@example.com'), null);
        const t0 = new Date(Date.now() - 1000);
        await p.recordAccountLockout({ login: 'alice@example.com', startedAt: t0, blockedUntil: new Date(t0.getTime() + 900_000), failures: 20, lastAddress: '192.0.2.9' });
        let r = await p.getAccountLockout('alice@example.com');
        assert.deepEqual({ ...r, unlockedAt: null }, {
          login: 'alice@example.com',
          startedAt: t0,
          blockedUntil: new Date(t0.getTime() + 900_000),
          failures: 20,
          lastAddress: '192.0.2.9',
          blocks: 1,
          unlockedAt: null,
          admitDevice: null,
          admitUntil: null,
        });
        // A server reading it refuses unproven origins too (a block started on another node).
        const l = new Lockout({ perAccount: 1000 });
        l.adopt(r!);
        assert.equal(l.accountBlocked('alice@example.com'), true);

        const admitUntil = new Date(Date.now() + 3600_000);
        await p.unlockAccount('alice@example.com', 'NEWPHONE', admitUntil);
        r = await p.getAccountLockout('alice@example.com');
        assert.equal(r?.blockedUntil, null);
        assert.equal(r?.blocks, 1, 'the history stays');
        assert.ok(r?.unlockedAt);
        assert.deepEqual([r.admitDevice, r.admitUntil], ['NEWPHONE', admitUntil]);
        l.adopt(r);
        assert.equal(l.accountBlocked('alice@example.com'), false, 'the unlock reaches the server');
        assert.equal(l.standing({ login: 'alice@example.com', deviceId: 'NEWPHONE', address: '203.0.113.1' }), 'known device', 'admitted');

        const t1 = new Date(r.unlockedAt.getTime() + 1000);
        await p.recordAccountLockout({ login: 'alice@example.com', startedAt: t1, blockedUntil: new Date(t1.getTime() + 900_000), failures: 21, lastAddress: '192.0.2.10' });
        r = await p.getAccountLockout('alice@example.com');
        assert.equal(r?.blocks, 2);
        assert.equal(r?.failures, 21);
        // Unlocking an account never blocked makes a row of its own.
        await p.unlockAccount('bob@example.com', null, null);
        assert.equal((await p.getAccountLockout('bob@example.com'))?.blocks, 0);
      }));
  });
}
