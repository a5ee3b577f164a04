/**
 * `easd user unlock` and the lockout lines of `user show` / `device show` (issue 15 item 3, issue
 * 18 item 9; src/cli/lockout.ts): ./bin/easd as a child process against a temporary SQLite data
 * directory holding a block as a server writes it when it starts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { easd } from '../logging/cli-helpers.ts';

describe('easd user unlock', () => {
  let dir: string;
  const run = (...args: string[]) => easd([...args, '--data', dir]);
  const withStore = async <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const s = await openStore({ dataDir: dir });
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'easd-cli-unlock-'));
    await withStore(async (s) => {
      const u = await s.createUser({ email: 'Alice@example.com', passwordHash: 'h' });
      await s.upsertDevice({ userId: u.id, deviceId: 'PHONE1', deviceType: 'iPhone', protocolVersion: '16.1' });
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('shows a block in user show and device show, and ends it', async () => {
    assert.match((await run('user', 'show', 'alice@example.com')).stdout, /lockout: never locked out/);
    const start = new Date();
    await withStore((s) =>
      s.protection.recordAccountLockout({ login: 'alice@example.com', startedAt: start, blockedUntil: new Date(start.getTime() + 900_000), failures: 20, lastAddress: '192.0.2.9' }),
    );
    const show = await run('user', 'show', 'alice@example.com');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /lockout: LOCKED OUT for unproven devices since .* \(20 failures, last from 192\.0\.2\.9\)/);
    assert.match((await run('device', 'show', 'PHONE1')).stdout, /account lockout\s+LOCKED OUT/);
    const json = JSON.parse((await run('user', 'show', 'alice@example.com', '--json')).stdout) as { lockout: { failures: number; blocks: number } };
    assert.equal(json.lockout.failures, 20);

    const unlock = await run('user', 'unlock', 'alice@example.com', '--device', 'NEWPHONE');
    assert.equal(unlock.code, 0, unlock.stderr);
    assert.match(unlock.stdout, /unlocked alice@example.com; device NEWPHONE admitted until /i);
    const rec = await withStore((s) => s.protection.getAccountLockout('alice@example.com'));
    assert.equal(rec?.blockedUntil, null);
    assert.equal(rec?.admitDevice, 'NEWPHONE');
    assert.ok(rec?.unlockedAt && rec.unlockedAt >= start);
    const after = (await run('user', 'show', 'alice@example.com')).stdout;
    assert.doesNotMatch(after, /LOCKED OUT/);
    assert.match(after, /last lockout .*; 1 lockout\(s\); unlocked by the admin .*; device NEWPHONE admitted until/);
  });

  it('refuses an unknown user and a malformed device id', async () => {
    const nobody = await run('user', 'unlock', 'nobody@example.com');
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /no user nobody@example.com/);
    const bad = await run('user', 'unlock', 'alice@example.com', '--device', 'not/an id');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--device takes a device id/);
  });
});
