/**
 * Lockout protection (kb-2.10): a stale or hostile device never locks the user out of the devices
 * that know the password, and a guesser gets a bounded number of password checks. README
 * "Protection: throttling, lockout, limits" describes the same model for the admin.
 *
 * An origin is (login, device id, client address). A failed check is charged to one bucket, and
 * only the origins that draw on that bucket are refused when it is full. Which bucket an attempt
 * draws on depends on what the origin has proved (a success within `trustMs`):
 *
 *   1. a known origin (this login succeeded from this device and address): its own bucket;
 *   2. a known device at a new address (phones move between Wi-Fi and mobile data): the device's
 *      bucket, shared by its addresses; a device an admin admitted (`easd user unlock --device`)
 *      counts as known;
 *   3. a new device at a known address (the proof that lets a new phone in during an attack:
 *      the login succeeded from this address before): the address's bucket for new devices;
 *      a request without a device id (OPTIONS without DeviceId in the query, Autodiscover) from a
 *      known address draws on its origin's bucket;
 *   4. anything else: its origin's bucket *and* the account's.
 *
 * A bucket is full with `perOrigin` distinct wrong passwords within `windowMs`; the account with
 * `perAccount` distinct failures (origin x wrong password). A full bucket or account stays blocked
 * at least `blockMs`, and as long as it is full. So:
 *   (a) a known origin is never refused because of other origins' failures (not by the account
 *       block, not by other devices at its address);
 *   (b) origins of kind 4 together get at most `perAccount` distinct password checks in any
 *       `windowMs`, whatever device ids and addresses they rotate; each known address and device
 *       adds at most `perOrigin` more.
 * Limits: requests that share device id and address are one origin (an attacker behind the user's
 * NAT sending OPTIONS without a device id drains that origin's bucket); a device id is a bearer
 * token of sorts (whoever copies it shares the device's bucket, not its password).
 *
 * A failure counts once per bucket and wrong password: the same wrong password again is refused
 * without a check (no scrypt per retry of a stale phone). Only a keyed hash of the attempt is kept
 * (HMAC with a per-process random key over the stored password hash and the attempt).
 *
 * State is in memory per process; an account block is also written to the store when it starts
 * (`records`), read back at most every `recordPollMs` for attempts of kind 4: so `easd user show`
 * sees it, `easd user unlock` (written there) reaches the server, and other nodes refuse new
 * origins too (each node still counts its own failures). A restart forgets the rest, which errs
 * towards letting the user in.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AccountLockoutRecord, LockoutRecords } from '../ports/protection.ts';

export interface LockoutConfig {
  enabled: boolean;
  /** Distinct wrong passwords in one bucket (an origin, a known device or address) before it is blocked. */
  perOrigin: number;
  /** Distinct failures (origin x wrong password) on one account before unproven origins are blocked. */
  perAccount: number;
  /** How long failures are remembered, ms. */
  windowMs: number;
  /** The least time a block lasts, ms. */
  blockMs: number;
  /** A success this recent makes an origin, device or address known, ms. */
  trustMs: number;
  /** How often the store's record of an account is read again for unproven attempts, ms. */
  recordPollMs: number;
}

export const DEFAULT_LOCKOUT: LockoutConfig = {
  enabled: true,
  perOrigin: 5,
  perAccount: 20,
  windowMs: 30 * 60_000,
  blockMs: 15 * 60_000,
  trustMs: 7 * 24 * 3600_000,
  recordPollMs: 5_000,
};

export interface Origin {
  /** The login as normalized (lower-case address). */
  login: string;
  /** The device id of the request ('' when there is none, e.g. Autodiscover). */
  deviceId: string;
  /** The client address as the server sees it (after a trusted proxy). */
  address: string;
}

export type RefusalReason = 'origin blocked' | 'device blocked' | 'address blocked' | 'account blocked' | 'known wrong password';
export type LockoutCheck = { allowed: true } | { allowed: false; reason: RefusalReason };

/** What an origin has proved, and the bucket it draws on (see the header). */
export type Standing = 'known origin' | 'known device' | 'known address' | 'unproven';

export type LockoutEvent =
  | { type: 'block'; scope: 'origin' | 'device' | 'address' | 'account'; origin: Origin; failures: number; until: number }
  | { type: 'refused'; reason: RefusalReason; origin: Origin }
  | { type: 'unlocked'; login: string; admitDevice: string | null }
  | { type: 'record failed'; login: string; err: unknown };

interface Bucket {
  /** Keyed hashes of wrong passwords, with when last seen. */
  wrong: Map<string, number>;
  blockedUntil: number;
}

interface AccountEntry {
  /** bucket key + wrong hash -> when last seen. */
  failures: Map<string, number>;
  blockedUntil: number;
  startedAt: number;
  /** The latest admin unlock applied (ms of the record's unlockedAt). */
  unlockSeen: number;
  /** Device ids an admin admitted, until when. */
  admitted: Map<string, number>;
}

const MAX_WRONG_PER_BUCKET = 64;

export class Lockout {
  readonly config: LockoutConfig;
  readonly #now: () => number;
  readonly #key = randomBytes(32);
  readonly #records: LockoutRecords | undefined;
  readonly #buckets = new Map<string, Bucket>();
  /** Successes: origin, device and address keys -> when last. */
  readonly #known = new Map<string, number>();
  readonly #accounts = new Map<string, AccountEntry>();
  readonly #readAt = new Map<string, number>();
  readonly #listeners: Array<(e: LockoutEvent) => void> = [];
  #sweepAt: number;

  constructor(config: Partial<LockoutConfig> = {}, now: () => number = Date.now, records?: LockoutRecords) {
    this.config = { ...DEFAULT_LOCKOUT, ...config };
    this.#now = now;
    this.#records = records;
    this.#sweepAt = now() + this.config.windowMs;
  }

  /** Block starts, refusals and unlocks (the server logs and counts them). */
  observe(listener: (e: LockoutEvent) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * The keyed hash of an attempt. `secret` binds it to the account's current password (its stored
   * hash), so after a password change the old wrong attempts are different ones.
   */
  attemptHash(password: string, secret = ''): string {
    return createHmac('sha256', this.#key).update(secret).update('\0').update(password).digest('base64');
  }

  /** What the origin has proved (see the header). */
  standing(o: Origin): Standing {
    const now = this.#now();
    const recent = (k: string) => now - (this.#known.get(k) ?? -Infinity) < this.config.trustMs;
    if (recent(originKey(o))) return 'known origin';
    if (o.deviceId !== '' && (recent(deviceKey(o)) || (this.#accounts.get(o.login)?.admitted.get(o.deviceId) ?? 0) > now)) return 'known device';
    if (recent(addressKey(o))) return 'known address';
    return 'unproven';
  }

  /**
   * Before an unproven attempt or one its bucket would refuse: reads the store's record of the
   * account (an admin unlock or admission, a block started by another node), at most every
   * `recordPollMs` per login. Known origins with room in their bucket never wait for the store.
   */
  async refresh(o: Origin): Promise<void> {
    if (!this.config.enabled || !this.#records) return;
    const now = this.#now();
    const standing = this.standing(o);
    const b = this.#buckets.get(bucketKey(o, standing));
    if (standing !== 'unproven' && !(b && this.#full(b.wrong, b.blockedUntil, this.config.perOrigin, now))) return;
    if (now - (this.#readAt.get(o.login) ?? -Infinity) < this.config.recordPollMs) return;
    this.#readAt.set(o.login, now);
    let rec;
    try {
      rec = await this.#records.getAccountLockout(o.login);
    } catch (err) {
      // The store is down: decide from memory (this node's own counts), as without records.
      this.#emit({ type: 'record failed', login: o.login, err });
      return;
    }
    if (rec) this.adopt(rec);
  }

  /** Takes in the store's record of an account: an unlock not applied yet, an admission, a block. */
  adopt(rec: AccountLockoutRecord): void {
    const now = this.#now();
    const unlockedAt = rec.unlockedAt?.getTime() ?? 0;
    const ae = this.#account(rec.login);
    if (unlockedAt > ae.unlockSeen) {
      ae.unlockSeen = unlockedAt;
      this.#unlock(rec.login, rec.admitDevice);
    }
    const admitUntil = rec.admitUntil?.getTime() ?? 0;
    if (rec.admitDevice && admitUntil > now) ae.admitted.set(rec.admitDevice, admitUntil);
    const until = rec.blockedUntil?.getTime() ?? 0;
    if (until > now && (rec.startedAt?.getTime() ?? 0) >= unlockedAt && until > ae.blockedUntil) {
      ae.blockedUntil = until;
      ae.startedAt = rec.startedAt?.getTime() ?? now;
    }
  }

  /** Before the password is checked: may this origin try, and is this a known wrong password? */
  check(o: Origin, attempt: string): LockoutCheck {
    if (!this.config.enabled) return { allowed: true };
    const now = this.#now();
    if (now >= this.#sweepAt) this.#sweep(now);
    const standing = this.standing(o);
    const b = this.#buckets.get(bucketKey(o, standing));
    const refuse = (reason: RefusalReason): LockoutCheck => {
      this.#emit({ type: 'refused', reason, origin: o });
      return { allowed: false, reason };
    };
    if (b && this.#full(b.wrong, b.blockedUntil, this.config.perOrigin, now)) return refuse(BUCKET_REFUSAL[standing]);
    if (standing === 'unproven') {
      const ae = this.#accounts.get(o.login);
      if (ae && this.#full(ae.failures, ae.blockedUntil, this.config.perAccount, now)) return refuse('account blocked');
    }
    const seen = b?.wrong.get(attempt);
    if (seen !== undefined && now - seen < this.config.windowMs) {
      b!.wrong.set(attempt, now);
      return refuse('known wrong password');
    }
    return { allowed: true };
  }

  /**
   * A wrong password (or unknown login): counts once per bucket and attempt. An account block is
   * written to the store only for logins that exist (`exists`), so guessed logins add no rows.
   */
  failed(o: Origin, attempt: string, exists = true): void {
    if (!this.config.enabled) return;
    const now = this.#now();
    const standing = this.standing(o);
    const bk = bucketKey(o, standing);
    let b = this.#buckets.get(bk);
    if (!b) this.#buckets.set(bk, (b = { wrong: new Map(), blockedUntil: 0 }));
    const isNew = !b.wrong.has(attempt) || now - b.wrong.get(attempt)! >= this.config.windowMs;
    b.wrong.delete(attempt);
    b.wrong.set(attempt, now);
    // Bounded memory; never below perOrigin, or a bucket could not fill.
    if (b.wrong.size > Math.max(MAX_WRONG_PER_BUCKET, this.config.perOrigin)) b.wrong.delete(b.wrong.keys().next().value!);
    if (!isNew) return;
    const c = this.config;
    if (b.blockedUntil <= now && countRecent(b.wrong, now, c.windowMs) >= c.perOrigin) {
      b.blockedUntil = now + c.blockMs;
      this.#emit({ type: 'block', scope: BLOCK_SCOPE[standing], origin: o, failures: countRecent(b.wrong, now, c.windowMs), until: b.blockedUntil });
    }
    // Every distinct failure counts towards the account; only unproven origins are refused by it.
    // (A known origin's failure while the account is full continues that block: no new start.)
    const ae = this.#account(o.login);
    const wasFull = this.#full(ae.failures, ae.blockedUntil, c.perAccount, now);
    ae.failures.delete(`${bk}\0${attempt}`);
    ae.failures.set(`${bk}\0${attempt}`, now);
    if (!wasFull && countRecent(ae.failures, now, c.windowMs) >= c.perAccount) {
      ae.blockedUntil = now + c.blockMs;
      ae.startedAt = now;
      const failures = countRecent(ae.failures, now, c.windowMs);
      this.#emit({ type: 'block', scope: 'account', origin: o, failures, until: ae.blockedUntil });
      if (exists) {
        const rec = { login: o.login, startedAt: new Date(now), blockedUntil: new Date(ae.blockedUntil), failures, lastAddress: o.address };
        this.#records?.recordAccountLockout(rec).catch((err: unknown) => this.#emit({ type: 'record failed', login: o.login, err }));
      }
    }
  }

  /** A successful login: the bucket's wrong attempts are forgotten; origin, device and address become known. */
  succeeded(o: Origin): void {
    if (!this.config.enabled) return;
    const now = this.#now();
    const b = this.#buckets.get(bucketKey(o, this.standing(o)));
    if (b && b.blockedUntil <= now) b.wrong.clear();
    this.#known.set(originKey(o), now);
    if (o.deviceId !== '') {
      this.#known.set(deviceKey(o), now);
      this.#accounts.get(o.login)?.admitted.delete(o.deviceId);
    }
    this.#known.set(addressKey(o), now);
  }

  /** Ends every block of a login now (an admin unlock read from the store, or a test). */
  #unlock(login: string, admitDevice: string | null): void {
    const ae = this.#accounts.get(login);
    if (ae) {
      ae.failures.clear();
      ae.blockedUntil = 0;
    }
    for (const k of this.#buckets.keys()) if (k.startsWith(`${login}\0`)) this.#buckets.delete(k);
    this.#emit({ type: 'unlocked', login, admitDevice });
  }

  /** The account's block for unproven origins, if one is on now (for the admin and tests). */
  accountBlock(login: string): { since: number; until: number; failures: number } | undefined {
    const now = this.#now();
    const ae = this.#accounts.get(login);
    if (!ae || !this.#full(ae.failures, ae.blockedUntil, this.config.perAccount, now)) return undefined;
    return { since: ae.startedAt, until: Math.max(ae.blockedUntil, now), failures: countRecent(ae.failures, now, this.config.windowMs) };
  }

  accountBlocked(login: string): boolean {
    return this.accountBlock(login) !== undefined;
  }

  get size(): number {
    return this.#buckets.size + this.#accounts.size + this.#known.size;
  }

  #full(m: Map<string, number>, blockedUntil: number, max: number, now: number): boolean {
    return blockedUntil > now || countRecent(m, now, this.config.windowMs) >= max;
  }

  #account(login: string): AccountEntry {
    let ae = this.#accounts.get(login);
    if (!ae) this.#accounts.set(login, (ae = { failures: new Map(), blockedUntil: 0, startedAt: 0, unlockSeen: 0, admitted: new Map() }));
    return ae;
  }

  #emit(e: LockoutEvent): void {
    for (const l of this.#listeners) l(e);
  }

  #sweep(now: number): void {
    const c = this.config;
    this.#sweepAt = now + c.windowMs;
    const old = (t: number) => now - t >= c.windowMs;
    for (const [k, b] of this.#buckets) {
      for (const [h, t] of b.wrong) if (old(t)) b.wrong.delete(h);
      if (b.wrong.size === 0 && b.blockedUntil <= now) this.#buckets.delete(k);
    }
    for (const [k, t] of this.#known) if (now - t >= c.trustMs) this.#known.delete(k);
    for (const [k, ae] of this.#accounts) {
      for (const [f, t] of ae.failures) if (old(t)) ae.failures.delete(f);
      for (const [d, t] of ae.admitted) if (t <= now) ae.admitted.delete(d);
      if (ae.failures.size === 0 && ae.blockedUntil <= now && ae.admitted.size === 0 && ae.unlockSeen === 0) this.#accounts.delete(k);
    }
    for (const [k, t] of this.#readAt) if (now - t >= c.recordPollMs) this.#readAt.delete(k);
  }
}

const BUCKET_REFUSAL: Record<Standing, RefusalReason> = {
  'known origin': 'origin blocked',
  'known device': 'device blocked',
  'known address': 'address blocked',
  unproven: 'origin blocked',
};
const BLOCK_SCOPE: Record<Standing, 'origin' | 'device' | 'address'> = {
  'known origin': 'origin',
  'known device': 'device',
  'known address': 'address',
  unproven: 'origin',
};

function countRecent(m: Map<string, number>, now: number, windowMs: number): number {
  let n = 0;
  for (const t of m.values()) if (now - t < windowMs) n++;
  return n;
}

function originKey(o: Origin): string {
  return `${o.login}\0${o.deviceId}\0${o.address}`;
}
function deviceKey(o: Origin): string {
  return `${o.login}\0${o.deviceId}\0*`;
}
function addressKey(o: Origin): string {
  return `${o.login}\0*\0${o.address}`;
}

/** The bucket an attempt draws on (see the header); a request without a device id is its origin. */
function bucketKey(o: Origin, s: Standing): string {
  if (s === 'known device') return deviceKey(o);
  if (s === 'known address' && o.deviceId !== '') return addressKey(o);
  return originKey(o);
}
