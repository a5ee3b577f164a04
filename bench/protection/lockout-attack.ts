/**
 * What a lockout attack costs the user and gains the attacker (issue 15 item 3, kb-2.10;
 * src/auth/lockout.ts), simulated against the Lockout class with a virtual clock and the default
 * configuration: an attacker sends 10 guesses a second for an hour, each from a new device id at
 * one of 1,000 addresses; every 5 minutes the user tries a new device at home (where the phone
 * logged in before the attack), a new device elsewhere, and the phone from a new address. Counts,
 * not times, so the machine's load does not matter.
 *
 *   node --import tsx bench/protection/lockout-attack.ts
 */
import { Lockout } from '../../src/auth/lockout.ts';

const login = 'alice@example.com';
const c = { t: 0 };
const l = new Lockout({}, () => c.t);
const right = l.attemptHash('right', 'tag');
const attempt = (deviceId: string, address: string, hash: string, ok: boolean): boolean => {
  const o = { login, deviceId, address };
  if (!l.check(o, hash).allowed) return false;
  if (ok) l.succeeded(o);
  else l.failed(o, hash);
  return true;
};

attempt('PHONE', '198.51.100.7', right, true);
let checks = 0;
let rounds = 0;
const admitted = { home: 0, away: 0, phone: 0 };
for (let s = 0; s < 3600 * 10; s++) {
  c.t += 100;
  if (attempt(`BOT${s}`, `192.0.2.${s % 1000}`, l.attemptHash(`guess-${s}`, 'tag'), false)) checks++;
  if (s % 3000 === 0) {
    const r = rounds++;
    if (attempt(`NEWHOME${r}`, '198.51.100.7', right, true)) admitted.home++;
    if (attempt(`NEWAWAY${r}`, `203.0.113.${r}`, right, true)) admitted.away++;
    if (attempt('PHONE', `10.0.0.${r}`, right, true)) admitted.phone++;
  }
}
console.log(`guesses: 36000 in 1 h from rotating device ids; password checks: ${checks}`);
console.log(`user, every 5 min (${rounds} tries each): new device at home ${admitted.home}, new device elsewhere ${admitted.away}, known phone at a new address ${admitted.phone}`);
