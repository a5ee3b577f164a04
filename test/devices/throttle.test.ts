/** Throttle (src/devices/throttle.ts): budgets per device and user, with an injected clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Throttle, throttleHeaders } from '../../src/devices/throttle.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}
const req = (deviceId = 'D1', userId = 'U1', command = 'FolderSync', fingerprint?: string) => ({ userId, deviceId, command, ...(fingerprint ? { fingerprint } : {}) });

describe('Throttle', () => {
  it('kb-2.9: identical Syncs past the budget block the device, the block ends by itself', () => {
    const c = clock();
    const t = new Throttle({ identicalSyncs: 30, identicalWindowMs: 10_000, identicalPaceMs: 0, blockMs: 5_000 }, c.now);
    let refused: ReturnType<Throttle['admit']> | undefined;
    for (let i = 0; i < 60; i++) {
      c.t += 100; // 60 in 6 s
      const d = t.admit(req('D1', 'U1', 'Sync', 'same'));
      if (d.ok) d.release();
      else {
        refused ??= d;
      }
    }
    assert.ok(refused && !refused.ok);
    assert.equal(refused.reason, 'RecentCommands');
    assert.equal(refused.scope, 'device');
    assert.ok(refused.blockedUntil !== undefined, 'the first refusal starts the block');
    assert.equal(refused.retryAfter, 5);
    // Other requests of the blocked device are refused too; another device of the user is not.
    const other = t.admit(req('D1', 'U1', 'FolderSync'));
    assert.equal(other.ok, false);
    assert.equal(t.admit(req('D2', 'U1', 'Sync', 'same')).ok, true);
    assert.ok(t.blockedUntil('U1', 'D1'));
    c.t += 5_001;
    assert.equal(t.blockedUntil('U1', 'D1'), undefined);
    const again = t.admit(req('D1', 'U1', 'Sync', 'same'));
    assert.equal(again.ok, true, 'served again after the block');
  });

  it('identical Syncs spread beyond the window, or different bodies, are not throttled', () => {
    const c = clock();
    const t = new Throttle({ identicalSyncs: 5, identicalWindowMs: 10_000, identicalPaceMs: 0 }, c.now);
    for (let i = 0; i < 20; i++) {
      c.t += 3_000; // one every 3 s: at most 4 in any 10 s run start
      const d = t.admit(req('D1', 'U1', 'Sync', 'same'));
      assert.equal(d.ok, true, `request ${i}`);
      if (d.ok) d.release();
    }
    for (let i = 0; i < 20; i++) {
      const d = t.admit(req('D1', 'U1', 'Sync', `body-${i}`));
      assert.equal(d.ok, true);
      if (d.ok) d.release();
    }
  });

  it('identical Syncs past the free ones are paced, the pace doubling while the device asks early, then blocked', () => {
    const c = clock();
    const t = new Throttle({ identicalFree: 2, identicalPaceMs: 1_000, identicalPaceMaxMs: 8_000, pacedBlockAfter: 4, identicalSyncs: 100 }, c.now);
    const delays: number[] = [];
    let last: ReturnType<Throttle['admit']> | undefined;
    for (let i = 0; i < 7; i++) {
      last = t.admit(req('D1', 'U1', 'Sync', 'same'));
      if (!last.ok) break;
      delays.push(last.delayMs);
      last.release();
      c.t += last.delayMs + 100; // a looping device asks again 100 ms after each answer
    }
    assert.deepEqual(delays, [0, 0, 900, 1900, 3900, 7900], 'waits of 1, 2, 4, 8 s after the previous one');
    assert.ok(last && !last.ok, 'the fifth wait in a row blocks the device');
    if (!last.ok) {
      assert.equal(last.reason, 'RecentCommands');
      assert.ok(last.blockedUntil);
    }
    c.t += 60_001;
    // A different body starts a new run, without a wait.
    const fresh = t.admit(req('D1', 'U1', 'Sync', 'other'));
    assert.ok(fresh.ok && fresh.delayMs === 0);
    // Other devices and other commands are not paced.
    const other = t.admit(req('D2', 'U1', 'Sync', 'same'));
    assert.ok(other.ok && other.delayMs === 0);
    const spaced = new Throttle({ identicalFree: 2, identicalPaceMs: 1_000 }, c.now);
    for (let i = 0; i < 5; i++) {
      const d = spaced.admit(req('D3', 'U1', 'Sync', 'same'));
      assert.ok(d.ok && d.delayMs === 0, 'a device polling every 2 s never waits');
      d.release();
      c.t += 2_000;
    }
  });

  it('the device request rate blocks the device with CommandFrequency', () => {
    const c = clock();
    const t = new Throttle({ deviceRequests: 10, windowMs: 60_000, blockMs: 30_000 }, c.now);
    for (let i = 0; i < 10; i++) {
      const d = t.admit(req());
      assert.equal(d.ok, true);
      if (d.ok) d.release();
    }
    const d = t.admit(req());
    assert.equal(d.ok, false);
    if (!d.ok) {
      assert.equal(d.reason, 'CommandFrequency');
      assert.equal(d.retryAfter, 30);
    }
  });

  it('the user request rate refuses only the request over budget, without a device block', () => {
    const c = clock();
    const t = new Throttle({ userRequests: 4, deviceRequests: 100, windowMs: 10_000 }, c.now);
    for (const dev of ['A', 'B', 'A', 'B']) {
      const d = t.admit(req(dev));
      assert.equal(d.ok, true);
      if (d.ok) d.release();
    }
    const d = t.admit(req('C'));
    assert.equal(d.ok, false);
    if (!d.ok) {
      assert.equal(d.scope, 'user');
      assert.equal(d.blockedUntil, undefined);
      assert.equal(d.retryAfter, 10);
    }
    assert.equal(t.blockedUntil('U1', 'C'), undefined);
    c.t += 10_000;
    assert.equal(t.admit(req('C')).ok, true);
  });

  it('concurrent requests per device and per user: OutOfBudgets until one is released', () => {
    const c = clock();
    const t = new Throttle({ deviceConcurrent: 2, userConcurrent: 3 }, c.now);
    const a = t.admit(req('A'));
    const b = t.admit(req('A'));
    assert.ok(a.ok && b.ok);
    const x = t.admit(req('A'));
    assert.equal(x.ok, false);
    if (!x.ok) assert.equal(x.reason, 'OutOfBudgets');
    const d = t.admit(req('B'));
    assert.ok(d.ok);
    const y = t.admit(req('C'));
    assert.equal(y.ok, false, 'the user has 3 in progress');
    if (a.ok) {
      a.release();
      a.release(); // twice is harmless
    }
    assert.equal(t.admit(req('C')).ok, true);
  });

  it('turned off, nothing is counted', () => {
    const t = new Throttle({ enabled: false, deviceRequests: 1, identicalSyncs: 1 });
    for (let i = 0; i < 100; i++) assert.equal(t.admit(req('D', 'U', 'Sync', 'x')).ok, true);
    assert.equal(t.size, 0);
  });

  it('idle entries are forgotten', () => {
    const c = clock();
    const t = new Throttle({ windowMs: 1_000, identicalWindowMs: 1_000 }, c.now);
    for (let i = 0; i < 100; i++) {
      const d = t.admit(req(`D${i}`, `U${i}`));
      if (d.ok) d.release();
    }
    assert.equal(t.size, 200);
    c.t += 5_000;
    const d = t.admit(req('X', 'Y'));
    if (d.ok) d.release();
    assert.equal(t.size, 2);
  });

  it('headers: Retry-After and X-MS-ASThrottle (MS-ASHTTP 2.2.2.1.2.13)', () => {
    assert.deepEqual(throttleHeaders('RecentCommands', 7), { 'Retry-After': '7', 'X-MS-ASThrottle': 'RecentCommands' });
  });
});
