/**
 * Which accounts exist cannot be told from timing (issue: hardening): a login that names nobody
 * costs the same password check as a wrong password for a real user, so both answers take about
 * as long. Interleaved requests, compared by median, so a busy machine slows both alike.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { basicAuth } from '../helpers/eas-client.ts';
import { startTestServer } from '../helpers/server.ts';

const USER = { email: 'timing@example.com', password: 'pw-timing-123456' };
const ROUNDS = 9;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('an unknown user is answered about as slowly as a wrong password (the same scrypt check)', async () => {
  // Lockout off: every attempt here is a fresh wrong password and must reach the check.
  const srv = await startTestServer({ users: [USER], config: { protection: { lockout: { enabled: false } } } });
  try {
    const timeOptions = async (user: string, password: string) => {
      const t = performance.now();
      const res = await fetch(`${srv.endpoint}`, { method: 'OPTIONS', headers: { authorization: basicAuth(user, password) } });
      await res.arrayBuffer();
      assert.equal(res.status, 401);
      return performance.now() - t;
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      unknown.push(await timeOptions(`nobody${i}@example.com`, `guess-${i}`));
      wrong.push(await timeOptions(USER.email, `guess-${i}`));
    }
    const ratio = median(unknown) / median(wrong);
    // Without the equal check an unknown user was answered ~40x faster (ratio ~0.02).
    assert.ok(ratio > 0.4 && ratio < 2.5, `unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(wrong).toFixed(1)} ms (ratio ${ratio.toFixed(2)})`);
  } finally {
    await srv.close();
  }
});
