/**
 * The lockout model (src/auth/lockout.ts header) as properties over random attacks (kb-2.10):
 * the user's devices (named, and one without a device id as OPTIONS may come) always send the
 * right password; attackers rotate device ids, addresses and passwords, share the user's address
 * (a NAT), copy a known device id at other addresses, and send requests without a device id.
 *  (a) an origin that succeeded within trustMs is never refused because of others' failures;
 *  (b) unproven origins together get at most perAccount distinct password checks in any window,
 *      and every known device or address adds at most perOrigin.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Lockout, type Origin, type Standing } from '../../src/auth/lockout.ts';

const LOGIN = 'alice@example.com';
const RIGHT = 'right-password';
const CONFIG = { perOrigin: 3, perAccount: 8, windowMs: 60_000, blockMs: 20_000, trustMs: 10 * 60_000 };

/** The user's origins: two phones (one at the shared address) and OPTIONS without a device id. */
const GOOD: Origin[] = [
  { login: LOGIN, deviceId: 'PHONE1', address: '198.51.100.1' },
  { login: LOGIN, deviceId: 'PHONE2', address: '203.0.113.99' },
  { login: LOGIN, deviceId: '', address: '198.51.100.2' },
];
const ATTACK_ADDRESSES = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '203.0.113.99'];

type Step = { kind: 'good'; who: number; dt: number } | { kind: 'attack'; device: number; address: number; password: number; dt: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('good' as const), who: fc.integer({ min: 0, max: GOOD.length - 1 }), dt: fc.integer({ min: 0, max: 30_000 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('attack' as const),
      // -1: no device id; 0..1: a copied device id of the user; otherwise a fresh one.
      device: fc.integer({ min: -1, max: 40 }),
      address: fc.integer({ min: 0, max: ATTACK_ADDRESSES.length - 1 }),
      password: fc.integer({ min: 0, max: 30 }),
      dt: fc.integer({ min: 0, max: 5_000 }),
    }),
  },
);

function attacker(s: Extract<Step, { kind: 'attack' }>): Origin {
  const deviceId = s.device < 0 ? '' : s.device < 2 ? GOOD[s.device]!.deviceId : `BOT${s.device}`;
  const o = { login: LOGIN, deviceId, address: ATTACK_ADDRESSES[s.address]! };
  // The same device id and address as a user's device is that device (one origin): not an other's failure.
  return GOOD.some((g) => g.deviceId === o.deviceId && g.address === o.address) ? { ...o, address: '192.0.2.250' } : o;
}

/** The bucket an attempt of this standing draws on (the header's model, written out again). */
function bucketOf(o: Origin, s: Standing): string {
  if (s === 'known device') return `device ${o.deviceId}`;
  if (s === 'known address') return o.deviceId === '' ? `origin ${o.address}` : `address ${o.address}`;
  return s === 'unproven' ? 'account' : `origin ${o.deviceId} ${o.address}`;
}

function mostInAnyWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

test('lockout model: known origins always get in; checks per window are bounded (a, b)', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 300 }), (steps) => {
      const c = { t: 1_000_000 };
      const l = new Lockout(CONFIG, () => c.t);
      const lastSuccess = new Map<number, number>();
      const checks = new Map<string, number[]>();
      for (const s of steps) {
        c.t += s.dt;
        if (s.kind === 'good') {
          const o = GOOD[s.who]!;
          const h = l.attemptHash(RIGHT, 'tag');
          const r = l.check(o, h);
          const known = lastSuccess.has(s.who) && c.t - lastSuccess.get(s.who)! < CONFIG.trustMs;
          if (known) assert.deepEqual(r, { allowed: true }, `(a) known origin ${JSON.stringify(o)} refused at ${c.t}`);
          if (r.allowed) {
            l.succeeded(o);
            lastSuccess.set(s.who, c.t);
          }
        } else {
          const o = attacker(s);
          const h = l.attemptHash(`wrong-${s.password}`, 'tag');
          const standing = l.standing(o);
          if (!l.check(o, h).allowed) continue;
          // A password check that failed: charge it where the model says.
          l.failed(o, h);
          const b = bucketOf(o, standing);
          checks.set(b, [...(checks.get(b) ?? []), c.t]);
        }
      }
      for (const [b, times] of checks) {
        const most = mostInAnyWindow(times, CONFIG.windowMs);
        const bound = b === 'account' ? CONFIG.perAccount : CONFIG.perOrigin;
        assert.ok(most <= bound, `(b) ${most} checks within one window from ${b} (bound ${bound})`);
      }
    }),
    { numRuns: 300 },
  );
});

test('lockout model: a rotating-device attack cannot exceed perAccount checks however long it runs', () => {
  const c = { t: 0 };
  const l = new Lockout(CONFIG, () => c.t);
  const times: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    c.t += 250;
    const o = { login: LOGIN, deviceId: `BOT${i}`, address: `192.0.2.${i % 200}` };
    const h = l.attemptHash(`guess-${i}`, 'tag');
    if (!l.check(o, h).allowed) continue;
    l.failed(o, h);
    times.push(c.t);
  }
  assert.ok(mostInAnyWindow(times, CONFIG.windowMs) <= CONFIG.perAccount);
  // 20,000 guesses over 5,000 s: about perAccount per window (84 windows), not 20,000.
  assert.ok(times.length <= CONFIG.perAccount * Math.ceil((c.t + CONFIG.windowMs) / CONFIG.windowMs), `${times.length} checks`);
});
