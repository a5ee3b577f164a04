/** Lockout (src/auth/lockout.ts): failures per device, address and wrong password; injected clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lockout } from '../../src/auth/lockout.ts';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}
const origin = (deviceId: string, address = '192.0.2.1', login = 'alice@example.com') => ({ login, deviceId, address });

/** One login attempt as the Authenticator makes it; returns whether the password was checked. */
function tryLogin(l: Lockout, o: ReturnType<typeof origin>, password: string, correct: string, secret = 'stored-hash'): 'ok' | 'wrong' | string {
  const h = l.attemptHash(password, secret);
  const c = l.check(o, h);
  if (!c.allowed) return c.reason;
  if (password === correct) {
    l.succeeded(o);
    return 'ok';
  }
  l.failed(o, h);
  return 'wrong';
}

describe('Lockout', () => {
  it('kb-2.10: 100 retries of the old password count once; the other device still works', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 3, perAccount: 5 }, c.now);
    const phone = origin('OLDPHONE', '198.51.100.7');
    const tablet = origin('TABLET', '203.0.113.9');
    assert.equal(tryLogin(l, phone, 'old', 'old'), 'ok');
    // The password changes: the stored hash (the secret) changes with it.
    const results = new Set<string>();
    for (let i = 0; i < 100; i++) {
      c.t += 1_000;
      results.add(tryLogin(l, phone, 'old', 'new', 'stored-hash-2'));
    }
    assert.deepEqual([...results], ['wrong', 'known wrong password'], 'checked once, then refused without a check');
    assert.equal(l.accountBlocked('alice@example.com'), false);
    assert.equal(tryLogin(l, tablet, 'new', 'new', 'stored-hash-2'), 'ok');
    // The phone gets the new password and works at once.
    assert.equal(tryLogin(l, phone, 'new', 'new', 'stored-hash-2'), 'ok');
  });

  it('different wrong passwords from one device and address block that origin only', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 3, perAccount: 10, blockMs: 60_000 }, c.now);
    const attacker = origin('X', '192.0.2.66');
    for (const p of ['a', 'b', 'c']) assert.equal(tryLogin(l, attacker, p, 'right'), 'wrong');
    assert.equal(tryLogin(l, attacker, 'right', 'right'), 'origin blocked', 'even the right password waits out the block');
    assert.equal(tryLogin(l, origin('X', '192.0.2.67'), 'right', 'right'), 'ok', 'another address of the device is another origin');
    assert.equal(tryLogin(l, origin('Y', '192.0.2.66'), 'right', 'right'), 'ok');
    c.t += 60_001;
    assert.equal(tryLogin(l, attacker, 'right', 'right'), 'ok', 'the device logged in from .67: a known device draws on its own bucket');
  });

  it('a block lasts blockMs, and as long as the wrong passwords are within the window', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 2, perAccount: 10, blockMs: 60_000, windowMs: 120_000 }, c.now);
    const o = origin('X', '192.0.2.66');
    for (const p of ['a', 'b']) assert.equal(tryLogin(l, o, p, 'right'), 'wrong');
    c.t += 60_001;
    assert.equal(tryLogin(l, o, 'right', 'right'), 'origin blocked', 'two wrong passwords are still within the window');
    c.t += 60_000;
    assert.equal(tryLogin(l, o, 'right', 'right'), 'ok', 'the block ends by itself');
  });

  it('a new device at an address the user logged in from gets in during an account block (the proof); elsewhere it waits', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 2, perAccount: 4 }, c.now);
    assert.equal(tryLogin(l, origin('PHONE', '198.51.100.7'), 'right', 'right'), 'ok');
    for (let i = 0; i < 10; i++) tryLogin(l, origin(`BOT${i}`, `192.0.2.${i}`), `g${i}`, 'right');
    assert.equal(l.accountBlocked('alice@example.com'), true);
    assert.equal(l.standing(origin('TABLET', '198.51.100.7')), 'known address');
    assert.equal(tryLogin(l, origin('TABLET', '198.51.100.7'), 'right', 'right'), 'ok');
    assert.equal(tryLogin(l, origin('LAPTOP', '203.0.113.1'), 'right', 'right'), 'account blocked');
    // Guessers at the known address (a shared NAT) get perOrigin checks there, then new devices
    // there wait; the phone and the tablet, now known, do not.
    for (let i = 0; i < 5; i++) tryLogin(l, origin(`NAT${i}`, '198.51.100.7'), `n${i}`, 'right');
    assert.equal(tryLogin(l, origin('NEW', '198.51.100.7'), 'right', 'right'), 'address blocked');
    assert.equal(tryLogin(l, origin('PHONE', '198.51.100.7'), 'right', 'right'), 'ok');
    assert.equal(tryLogin(l, origin('TABLET', '198.51.100.7'), 'right', 'right'), 'ok');
  });

  it('reports a block once when it starts, and each refusal', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 2, perAccount: 3 }, c.now);
    const phone = origin('PHONE', '198.51.100.7');
    assert.equal(tryLogin(l, phone, 'right', 'right'), 'ok');
    const events: string[] = [];
    l.observe((e) => events.push(e.type === 'block' ? `block ${e.scope}` : e.type === 'refused' ? `refused ${e.reason}` : e.type));
    for (let i = 0; i < 6; i++) tryLogin(l, origin(`BOT${i}`, `192.0.2.${i}`), `g${i}`, 'right');
    assert.deepEqual(events, ['block account', 'refused account blocked', 'refused account blocked', 'refused account blocked']);
    // The known phone with a stale password during the block: checked, no second block start.
    c.t += 20 * 60_000;
    assert.equal(tryLogin(l, phone, 'stale', 'right'), 'wrong');
    assert.equal(events.filter((e) => e === 'block account').length, 1);
  });

  it('an unlock read from the store ends the blocks once; an admitted device goes through new blocks', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 2, perAccount: 3 }, c.now);
    for (let i = 0; i < 4; i++) tryLogin(l, origin(`BOT${i}`, `192.0.2.${i}`), `g${i}`, 'right');
    const rec = { login: 'alice@example.com', startedAt: null, blockedUntil: null, failures: 0, lastAddress: null, blocks: 1, unlockedAt: new Date(c.t), admitDevice: 'NEWPHONE', admitUntil: new Date(c.t + 3600_000) };
    l.adopt(rec);
    assert.equal(l.accountBlocked('alice@example.com'), false);
    for (let i = 0; i < 4; i++) tryLogin(l, origin(`BOTB${i}`, `192.0.2.${i}`), `h${i}`, 'right');
    assert.equal(l.accountBlocked('alice@example.com'), true, 'the attack goes on: blocked again');
    l.adopt(rec);
    assert.equal(l.accountBlocked('alice@example.com'), true, 'the same unlock is applied once');
    assert.equal(tryLogin(l, origin('OTHER', '203.0.113.1'), 'right', 'right'), 'account blocked');
    assert.equal(tryLogin(l, origin('NEWPHONE', '203.0.113.1'), 'right', 'right'), 'ok', 'admitted by the admin');
  });

  it('many origins guessing block the account for new origins, not for devices already logged in', () => {
    const c = clock();
    const l = new Lockout({ perOrigin: 3, perAccount: 6 }, c.now);
    const phone = origin('PHONE', '198.51.100.7');
    assert.equal(tryLogin(l, phone, 'right', 'right'), 'ok');
    for (let i = 0; i < 3; i++) for (const p of ['a', 'b']) assert.equal(tryLogin(l, origin(`BOT${i}`, `192.0.2.${i}`), p, 'right'), 'wrong');
    assert.equal(l.accountBlocked('alice@example.com'), true);
    assert.equal(tryLogin(l, origin('NEW', '192.0.2.200'), 'right', 'right'), 'account blocked');
    assert.equal(tryLogin(l, phone, 'right', 'right'), 'ok', 'a device that logged in before goes on');
  });

  it('a known wrong password is remembered only for the window', () => {
    const c = clock();
    const l = new Lockout({ windowMs: 10_000, perOrigin: 10 }, c.now);
    const o = origin('D');
    assert.equal(tryLogin(l, o, 'x', 'y'), 'wrong');
    assert.equal(tryLogin(l, o, 'x', 'y'), 'known wrong password');
    c.t += 10_001;
    assert.equal(tryLogin(l, o, 'x', 'y'), 'wrong', 'checked again after the window');
  });

  it('keeps a keyed hash, never the password', () => {
    const l = new Lockout();
    const h = l.attemptHash('s3cret-Password', 'stored');
    assert.ok(!h.includes('s3cret'));
    assert.equal(h, l.attemptHash('s3cret-Password', 'stored'));
    assert.notEqual(h, l.attemptHash('s3cret-Password', 'stored-after-change'));
    assert.notEqual(h, new Lockout().attemptHash('s3cret-Password', 'stored'), 'the key is per process');
  });

  it('turned off, nothing blocks', () => {
    const l = new Lockout({ enabled: false, perOrigin: 1 });
    const o = origin('D');
    for (let i = 0; i < 10; i++) assert.equal(tryLogin(l, o, `w${i}`, 'right'), 'wrong');
    assert.equal(tryLogin(l, o, 'right', 'right'), 'ok');
    assert.equal(l.size, 0);
  });
});
