/** Protection (src/devices/protection.ts): held refusals (tarpit), flushed on shutdown; config from options. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Protection, protectionConfigFrom } from '../../src/devices/protection.ts';
import type { Store } from '../../src/store/types.ts';

const protection = (tarpitMs: number) => new Protection({ throttle: { tarpitMs } }, {} as Store, pino({ level: 'silent' }));

describe('Protection', () => {
  it('holds a refusal for the tarpit, at most its Retry-After', async () => {
    const p = protection(120);
    const t0 = Date.now();
    const sent = await new Promise<number>((res) => p.refuseLater(5, () => res(Date.now() - t0)));
    assert.ok(sent >= 110, `held ${sent} ms`);
    const q = protection(60_000);
    const t1 = Date.now();
    const capped = await new Promise<number>((res) => q.refuseLater(1, () => res(Date.now() - t1)));
    assert.ok(capped >= 900 && capped < 5_000, `capped at the Retry-After: ${capped} ms`);
  });

  it('sends at once without a tarpit, and flushes held refusals on shutdown', () => {
    let n = 0;
    protection(0).refuseLater(5, () => n++);
    assert.equal(n, 1);
    const p = protection(60_000);
    p.refuseLater(30, () => n++);
    p.refuseLater(30, () => n++);
    assert.equal(n, 1);
    p.flushRefusals();
    assert.equal(n, 3);
    p.flushRefusals();
    assert.equal(n, 3, 'each is sent once');
  });

  it('reads easd serve options, refusing nonsense', () => {
    const o = {
      throttle: false, throttleWindow: '60', throttleDeviceRequests: '300', throttleUserRequests: '900', throttleDeviceConcurrent: '4', throttleUserConcurrent: '16',
      throttleIdenticalSyncs: '30', throttleIdenticalWindow: '10', throttleIdenticalPace: '2000', throttleIdenticalPaceMax: '30000', throttlePacedBlockAfter: '6', throttleBlock: '60', throttleTarpit: '5000', loopDetection: true, loopFlagAfter: '10', loopWindow: '300',
      lockout: true, lockoutPerOrigin: '5', lockoutPerAccount: '20', lockoutWindow: '1800', lockoutBlock: '900', maxHeldPerUser: '0',
    };
    const c = protectionConfigFrom(o);
    assert.equal(c.throttle?.enabled, false);
    assert.equal(c.throttle?.identicalWindowMs, 10_000);
    assert.equal(c.throttle?.tarpitMs, 5_000);
    assert.equal(c.throttle?.identicalPaceMs, 2_000);
    assert.equal(c.lockout?.blockMs, 900_000);
    assert.equal(c.maxHeldPerUser, 0);
    assert.throws(() => protectionConfigFrom({ ...o, throttleBlock: '0' }), /--throttle-block/);
    assert.throws(() => protectionConfigFrom({ ...o, maxHeldPerUser: 'many' }), /--max-held-per-user/);
  });
});
