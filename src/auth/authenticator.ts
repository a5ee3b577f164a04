import { createHash } from 'node:crypto';
import type { User } from '../ports/types.ts';
import type { Accounts } from '../ports/accounts.ts';
import type { Lockout } from './lockout.ts';

/**
 * Checks Basic credentials through the accounts port (src/ports/accounts.ts). Devices send
 * credentials with every request (a Ping every few minutes, a Sync every few seconds while busy),
 * and a check costs tens of milliseconds of CPU (scrypt) or a login elsewhere, so a success is
 * remembered for a while. The cache key binds the password to the account's credential tag (the
 * stored hash): a password change makes old entries unreachable at once. Failures are never
 * cached, so a corrected password works on the next request.
 */
export class Authenticator {
  private readonly cache = new Map<string, number>();

  constructor(
    private readonly accounts: Accounts,
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lockout protection (src/auth/lockout.ts), set by the server; without it every attempt is checked. */
  lockout: Lockout | undefined;

  /**
   * Whether Basic credentials may come over plain HTTP from any address ('allow') or only from
   * loopback ('loopback': a local reverse proxy, or a test); set by the server from
   * `--allow-plain-http` (src/http/authenticate.ts).
   */
  plainHttp: 'allow' | 'loopback' = 'allow';

  async authenticate(username: string, password: string): Promise<User | null> {
    const r = await this.attempt(username, password);
    return r.user;
  }

  /**
   * Checks credentials from a device and address (kb-2.10): a blocked origin or a wrong password
   * this origin already tried is refused without a password check; outcomes are counted.
   */
  async attempt(username: string, password: string, from?: { deviceId: string; address: string }): Promise<{ user: User; reason?: undefined } | { user: null; reason: string }> {
    const login = normalizeLogin(username);
    const user = await this.accounts.findUser(login);
    const lockout = from ? this.lockout : undefined;
    const origin = { login, deviceId: from?.deviceId ?? '', address: from?.address ?? '' };
    const tag = user ? this.accounts.credentialTag(user) : undefined;
    const attempt = lockout?.attemptHash(password, tag);
    if (lockout && attempt) {
      if (user) await lockout.refresh(origin);
      const c = lockout.check(origin, attempt);
      if (!c.allowed) return { user: null, reason: c.reason };
    }
    if (!user) {
      // As long as a wrong password takes: the answer must not tell which accounts exist.
      await this.accounts.checkUnknown(password);
      if (lockout && attempt) lockout.failed(origin, attempt, false);
      return { user: null, reason: 'wrong user name or password' };
    }
    const key = createHash('sha256').update(tag!).update('\0').update(password).digest('base64');
    const until = this.cache.get(key);
    if (until === undefined || until <= this.now()) {
      if (!(await this.accounts.checkPassword(user, password))) {
        if (lockout && attempt) lockout.failed(origin, attempt);
        return { user: null, reason: 'wrong user name or password' };
      }
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, this.now() + this.ttlMs);
    }
    lockout?.succeeded(origin);
    return { user };
  }
}

/**
 * Devices may send "DOMAIN\user" (the form Exchange documents for the Basic user name); easd
 * users log in by e-mail address, so the domain part before a backslash is dropped.
 */
export function normalizeLogin(username: string): string {
  const slash = username.lastIndexOf('\\');
  return (slash >= 0 ? username.slice(slash + 1) : username).trim().toLowerCase();
}

/** Parses an Authorization header of the Basic scheme (RFC 7617); undefined if absent or malformed. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
