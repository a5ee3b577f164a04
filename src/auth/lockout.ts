/**
 * Lockout protection (kb-2.10). A phone that keeps the old password after a change retries it
 * with every request, hundreds of times an hour; counting each retry as a failed login would
 * lock the account for the user's other devices. So:
 *
 * - a failure counts once per (login, device, source address, wrong password): the same wrong
 *   password from the same device and address again is not a new guess. Only a keyed hash of the
 *   wrong password is kept (HMAC with a per-process random key over the stored password hash and
 *   the attempt), never the password;
 * - blocking is per (login, device, address) first: `perOrigin` different wrong passwords from one
 *   device and address block that pair for `blockMs`;
 * - the account is blocked only when `perAccount` distinct failures come from all origins
 *   together, and even then an origin that logged in successfully within `trustMs` (a device the
 *   user already set up) is not blocked: guessing from new places stops, the user's working phones
 *   go on;
 * - a repeated known failure is refused without checking the password again (no scrypt per retry).
 *
 * State is in memory, per process (with several nodes each counts its own); a restart forgets
 * failures, which errs towards letting the user in.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface LockoutConfig {
  enabled: boolean;
  /** Distinct wrong passwords from one device and address before that pair is blocked. */
  perOrigin: number;
  /** Distinct failures (origin x wrong password) on one account before new origins are blocked. */
  perAccount: number;
  /** How long failures are remembered and blocks last, ms. */
  windowMs: number;
  blockMs: number;
  /** An origin with a success this recent is not blocked by an account block, ms. */
  trustMs: number;
}

export const DEFAULT_LOCKOUT: LockoutConfig = {
  enabled: true,
  perOrigin: 5,
  perAccount: 20,
  windowMs: 30 * 60_000,
  blockMs: 15 * 60_000,
  trustMs: 7 * 24 * 3600_000,
};

export interface Origin {
  /** The login as normalized (lower-case address). */
  login: string;
  /** The device id of the request ('' when there is none, e.g. Autodiscover). */
  deviceId: string;
  /** The client address as the server sees it (after a trusted proxy). */
  address: string;
}

export type LockoutCheck = { allowed: true } | { allowed: false; reason: 'origin blocked' | 'account blocked' | 'known wrong password' };

interface OriginEntry {
  /**
   * Keyed hashes of wrong passwords, with when last seen; made at the first wrong one (every
   * device that logs in has an entry, and most never get a password wrong).
   */
  wrong: Map<string, number> | undefined;
  blockedUntil: number;
  lastSuccess: number;
}

interface AccountEntry {
  /** origin key + wrong hash -> when first seen. */
  failures: Map<string, number>;
  blockedUntil: number;
}

const MAX_WRONG_PER_ORIGIN = 64;

export class Lockout {
  readonly config: LockoutConfig;
  readonly #now: () => number;
  readonly #key = randomBytes(32);
  readonly #origins = new Map<string, OriginEntry>();
  readonly #accounts = new Map<string, AccountEntry>();
  #sweepAt: number;

  constructor(config: Partial<LockoutConfig> = {}, now: () => number = Date.now) {
    this.config = { ...DEFAULT_LOCKOUT, ...config };
    this.#now = now;
    this.#sweepAt = now() + this.config.windowMs;
  }

  /**
   * The keyed hash of an attempt. `secret` binds it to the account's current password (its stored
   * hash), so after a password change the old wrong attempts are different ones.
   */
  attemptHash(password: string, secret = ''): string {
    return createHmac('sha256', this.#key).update(secret).update('\0').update(password).digest('base64');
  }

  /** Before the password is checked: may this origin try, and is this a known wrong password? */
  check(o: Origin, attempt: string): LockoutCheck {
    if (!this.config.enabled) return { allowed: true };
    const now = this.#now();
    if (now >= this.#sweepAt) this.#sweep(now);
    const oe = this.#origins.get(originKey(o));
    if (oe && oe.blockedUntil > now) return { allowed: false, reason: 'origin blocked' };
    const ae = this.#accounts.get(o.login);
    const trusted = oe !== undefined && oe.lastSuccess > 0 && now - oe.lastSuccess < this.config.trustMs;
    if (ae && ae.blockedUntil > now && !trusted) return { allowed: false, reason: 'account blocked' };
    const seen = oe?.wrong?.get(attempt);
    if (seen !== undefined && now - seen < this.config.windowMs) {
      oe!.wrong!.set(attempt, now);
      return { allowed: false, reason: 'known wrong password' };
    }
    return { allowed: true };
  }

  /** A wrong password (or unknown login): counts once per origin and attempt. */
  failed(o: Origin, attempt: string): void {
    if (!this.config.enabled) return;
    const now = this.#now();
    const ok = originKey(o);
    let oe = this.#origins.get(ok);
    if (!oe) this.#origins.set(ok, (oe = { wrong: undefined, blockedUntil: 0, lastSuccess: 0 }));
    const wrong = (oe.wrong ??= new Map());
    const isNew = !wrong.has(attempt);
    wrong.set(attempt, now);
    if (wrong.size > MAX_WRONG_PER_ORIGIN) wrong.delete(wrong.keys().next().value!);
    if (!isNew) return;
    const recent = [...wrong.values()].filter((t) => now - t < this.config.windowMs).length;
    if (recent >= this.config.perOrigin) oe.blockedUntil = now + this.config.blockMs;

    let ae = this.#accounts.get(o.login);
    if (!ae) this.#accounts.set(o.login, (ae = { failures: new Map(), blockedUntil: 0 }));
    ae.failures.set(`${ok}\0${attempt}`, now);
    for (const [k, t] of ae.failures) if (now - t >= this.config.windowMs) ae.failures.delete(k);
    if (ae.failures.size >= this.config.perAccount) ae.blockedUntil = now + this.config.blockMs;
  }

  /** A successful login: the origin's wrong attempts are forgotten and it becomes trusted. */
  succeeded(o: Origin): void {
    if (!this.config.enabled) return;
    const ok = originKey(o);
    const oe = this.#origins.get(ok);
    if (oe) {
      oe.wrong = undefined;
      oe.lastSuccess = this.#now();
    } else {
      this.#origins.set(ok, { wrong: undefined, blockedUntil: 0, lastSuccess: this.#now() });
    }
  }

  /** Whether the account is blocked for new origins now (for the admin and tests). */
  accountBlocked(login: string): boolean {
    return (this.#accounts.get(login)?.blockedUntil ?? 0) > this.#now();
  }

  get size(): number {
    return this.#origins.size + this.#accounts.size;
  }

  #sweep(now: number): void {
    const c = this.config;
    this.#sweepAt = now + c.windowMs;
    for (const [k, oe] of this.#origins) {
      if (oe.wrong) for (const [h, t] of oe.wrong) if (now - t >= c.windowMs) oe.wrong.delete(h);
      if (oe.wrong?.size === 0) oe.wrong = undefined;
      if (oe.wrong === undefined && oe.blockedUntil <= now && (oe.lastSuccess === 0 || now - oe.lastSuccess >= c.trustMs)) this.#origins.delete(k);
    }
    for (const [k, ae] of this.#accounts) {
      for (const [f, t] of ae.failures) if (now - t >= c.windowMs) ae.failures.delete(f);
      if (ae.failures.size === 0 && ae.blockedUntil <= now) this.#accounts.delete(k);
    }
  }
}

function originKey(o: Origin): string {
  return `${o.login}\0${o.deviceId}\0${o.address}`;
}
