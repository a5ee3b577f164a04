/**
 * Request budgets per device and per user (kb-2.9, kb-2.2/2.5/2.8): request rate, requests in
 * progress, and identical repeated Syncs. Past a budget the route answers HTTP 503 with
 * Retry-After and X-MS-ASThrottle (MS-ASHTTP 2.2.2.1.2.13, 3.1.5.2.3, 3.2.5.1) without doing the
 * command. Pure bookkeeping with an injected clock; the route does the I/O.
 *
 * - Identical Syncs are paced first: past `identicalFree` in a run (the same body, each within
 *   `identicalWindowMs` of the previous), one that comes before `identicalPaceMs` after the
 *   previous one waits until then (no refusal), and each further early one waits twice as long,
 *   up to `identicalPaceMaxMs`; one that comes late enough resets the pace. A looping device thus
 *   costs a quiet Sync every 2, 4, 8 ... 30 s instead of all the server can do, and after
 *   `pacedBlockAfter` waits in a row it is blocked (503, visible to the admin). A phone polling a
 *   quiet folder every few seconds never waits.
 * - Device rate and identical Syncs start a short device block (blockMs) that ends by itself;
 *   every request of that device during the block is refused at the cost of a map lookup.
 * - User rate and concurrency budgets refuse only the request over budget (a user's other
 *   devices are not punished for the whole block): Retry-After is the rest of the window.
 * - Counters are fixed windows per key, kept in this process: with several nodes behind a
 *   balancer each node counts its own share.
 *
 * MS-ASHTTP names the header but not its values (the example is "Global"); easd sends the reason
 * names Exchange uses for its device budgets, which clients log: CommandFrequency (rate),
 * RecentCommands (identical commands), OutOfBudgets (requests in progress).
 */

export type ThrottleReason = 'CommandFrequency' | 'RecentCommands' | 'OutOfBudgets';

export interface ThrottleConfig {
  /** False turns every budget off (benchmarks of raw speed). */
  enabled: boolean;
  /** Length of the rate windows, ms. */
  windowMs: number;
  /** Requests per device per window. */
  deviceRequests: number;
  /** Requests per user (all devices) per window. */
  userRequests: number;
  /** Requests of one device in progress at once. */
  deviceConcurrent: number;
  /** Requests of one user in progress at once. */
  userConcurrent: number;
  /** Identical Syncs (same body) of one device within identicalWindowMs before it is blocked. */
  identicalSyncs: number;
  identicalWindowMs: number;
  /** Identical Syncs in a run handled at once; later ones are paced (identicalPaceMs apart, doubling). */
  identicalFree: number;
  identicalPaceMs: number;
  identicalPaceMaxMs: number;
  /** Paced waits in a row after which the device is blocked. */
  pacedBlockAfter: number;
  /** How long a device block lasts, ms. */
  blockMs: number;
  /**
   * How long a refusal is held before it is sent, ms (at most the Retry-After): a device that
   * ignores Retry-After and asks again at once can then send only one request per tarpit, so a
   * thousand looping devices cost the server a few hundred cheap answers a second instead of
   * all its time.
   */
  tarpitMs: number;
}

export const DEFAULT_THROTTLE: ThrottleConfig = {
  enabled: true,
  windowMs: 60_000,
  deviceRequests: 300,
  userRequests: 900,
  deviceConcurrent: 4,
  userConcurrent: 16,
  // kb-2.9: 60 identical Syncs of one folder in 10 s must be throttled; a phone polling a quiet
  // folder sends one every few seconds at most (12 a minute at 5 s).
  identicalSyncs: 30,
  identicalWindowMs: 60_000,
  // A looping device then costs one quiet Sync every 2 s and reaches the block after about a
  // minute (bench/protection/loopers.ts: 1,000 of them beside 100 busy phones).
  identicalFree: 1,
  identicalPaceMs: 2_000,
  identicalPaceMaxMs: 30_000,
  // 2 + 4 + 8 + 16 + 30 + 30 s: a device looping for about a minute and a half.
  pacedBlockAfter: 6,
  blockMs: 60_000,
  tarpitMs: 5_000,
};

export type ThrottleDecision =
  | {
      ok: true;
      release: () => void;
      /** Wait this long before handling the request (paced identical Sync), ms; 0 mostly. */
      delayMs: number;
    }
  | {
      ok: false;
      reason: ThrottleReason;
      /** Seconds the client should wait (Retry-After). */
      retryAfter: number;
      /** Set when this request started a device block (to record it for the admin once). */
      blockedUntil?: number;
      scope: 'device' | 'user';
    };

interface Window {
  start: number;
  count: number;
}

interface DeviceEntry {
  rate: Window;
  inFlight: number;
  blockedUntil: number;
  blockReason: ThrottleReason;
  /** Identical-request run: the last Sync fingerprint, since when and how many. */
  lastSync: string | undefined;
  syncStart: number;
  syncCount: number;
  /** The pacing run: its length, when its last request is handled, the current gap, waits in a row. */
  lastSyncAt: number;
  runLength: number;
  syncPacedAt: number;
  pace: number;
  pacedInRow: number;
}

interface UserEntry {
  rate: Window;
  inFlight: number;
}

export interface ThrottleRequest {
  userId: string;
  deviceId: string;
  command: string;
  /** A fingerprint of the request body (Sync only: identical-request budget). */
  fingerprint?: string;
}

const NOOP = () => {};

export class Throttle {
  readonly config: ThrottleConfig;
  readonly #now: () => number;
  readonly #devices = new Map<string, DeviceEntry>();
  readonly #users = new Map<string, UserEntry>();
  #sweepAt: number;

  constructor(config: Partial<ThrottleConfig> = {}, now: () => number = Date.now) {
    this.config = { ...DEFAULT_THROTTLE, ...config };
    this.#now = now;
    this.#sweepAt = now() + this.config.windowMs;
  }

  /**
   * Counts a request and decides. On ok, `release` must be called when the request's work is
   * done (held requests release when parked: waiting costs no budget).
   */
  admit(r: ThrottleRequest): ThrottleDecision {
    const c = this.config;
    if (!c.enabled) return { ok: true, release: NOOP, delayMs: 0 };
    const now = this.#now();
    if (now >= this.#sweepAt) this.#sweep(now);
    const dkey = `${r.userId}\0${r.deviceId}`;
    let d = this.#devices.get(dkey);
    if (!d) {
      d = { rate: { start: now, count: 0 }, inFlight: 0, blockedUntil: 0, blockReason: 'CommandFrequency', lastSync: undefined, syncStart: now, syncCount: 0, lastSyncAt: 0, runLength: 0, syncPacedAt: 0, pace: 0, pacedInRow: 0 };
      this.#devices.set(dkey, d);
    }
    if (d.blockedUntil > now) return refuse(d.blockReason, d.blockedUntil - now, 'device');

    let u = this.#users.get(r.userId);
    if (!u) this.#users.set(r.userId, (u = { rate: { start: now, count: 0 }, inFlight: 0 }));

    // Identical Syncs: a run of the same body within the window (kb-2.9).
    let delayMs = 0;
    if (r.command === 'Sync' && r.fingerprint !== undefined) {
      const same = r.fingerprint === d.lastSync;
      // The budget: identical Syncs in a fixed window.
      if (same && now - d.syncStart < c.identicalWindowMs) d.syncCount++;
      else {
        d.syncStart = now;
        d.syncCount = 1;
      }
      // The pacing run: identical Syncs each within the window of the previous one.
      if (!same || now - d.lastSyncAt >= c.identicalWindowMs) {
        d.runLength = 0;
        d.pace = c.identicalPaceMs;
        d.pacedInRow = 0;
      }
      d.lastSync = r.fingerprint;
      d.lastSyncAt = now;
      d.runLength++;
      if (d.syncCount > c.identicalSyncs) return this.#block(d, 'RecentCommands', now);
      if (d.runLength > c.identicalFree && c.identicalPaceMs > 0) {
        const due = d.syncPacedAt + d.pace;
        if (now >= due) {
          d.syncPacedAt = now;
          d.pace = c.identicalPaceMs;
          d.pacedInRow = 0;
        } else {
          if (++d.pacedInRow > c.pacedBlockAfter) return this.#block(d, 'RecentCommands', now);
          delayMs = due - now;
          d.syncPacedAt = due;
          d.pace = Math.min(d.pace * 2, c.identicalPaceMaxMs);
        }
      } else {
        d.syncPacedAt = now;
      }
    }
    if (tick(d.rate, now, c.windowMs) > c.deviceRequests) return this.#block(d, 'CommandFrequency', now);
    if (tick(u.rate, now, c.windowMs) > c.userRequests) return refuse('CommandFrequency', u.rate.start + c.windowMs - now, 'user');
    if (d.inFlight >= c.deviceConcurrent) return refuse('OutOfBudgets', 1000, 'device');
    if (u.inFlight >= c.userConcurrent) return refuse('OutOfBudgets', 1000, 'user');
    d.inFlight++;
    u.inFlight++;
    const dev = d;
    const usr = u;
    let released = false;
    return {
      ok: true,
      delayMs,
      release: () => {
        if (released) return;
        released = true;
        dev.inFlight--;
        usr.inFlight--;
      },
    };
  }

  /** The end of a device's current block (epoch ms), or undefined when it is not blocked. */
  blockedUntil(userId: string, deviceId: string): number | undefined {
    const d = this.#devices.get(`${userId}\0${deviceId}`);
    return d && d.blockedUntil > this.#now() ? d.blockedUntil : undefined;
  }

  /** Entries kept (for tests: state does not grow without bound). */
  get size(): number {
    return this.#devices.size + this.#users.size;
  }

  #block(d: DeviceEntry, reason: ThrottleReason, now: number): ThrottleDecision {
    d.blockedUntil = now + this.config.blockMs;
    d.blockReason = reason;
    // The run that caused the block does not carry over into the next period.
    d.syncCount = 0;
    d.lastSync = undefined;
    d.runLength = 0;
    d.pacedInRow = 0;
    d.rate = { start: d.blockedUntil, count: 0 };
    return { ...refuse(reason, this.config.blockMs, 'device'), blockedUntil: d.blockedUntil } as ThrottleDecision;
  }

  /** Forgets idle entries (nothing in progress, window over, no block). */
  #sweep(now: number): void {
    const c = this.config;
    this.#sweepAt = now + c.windowMs;
    for (const [k, d] of this.#devices) {
      if (d.inFlight === 0 && d.blockedUntil <= now && now - d.rate.start >= c.windowMs && now - d.syncStart >= c.identicalWindowMs && now - d.lastSyncAt >= c.identicalWindowMs) this.#devices.delete(k);
    }
    for (const [k, u] of this.#users) if (u.inFlight === 0 && now - u.rate.start >= c.windowMs) this.#users.delete(k);
  }
}

function tick(w: Window, now: number, windowMs: number): number {
  if (now - w.start >= windowMs) {
    w.start = now;
    w.count = 0;
  }
  return ++w.count;
}

function refuse(reason: ThrottleReason, waitMs: number, scope: 'device' | 'user'): ThrottleDecision {
  return { ok: false, reason, retryAfter: Math.max(1, Math.ceil(waitMs / 1000)), scope };
}

/** The headers of a throttled answer (MS-ASHTTP 2.2.2.1.2.13; Retry-After RFC 9110 10.2.3). */
export function throttleHeaders(reason: ThrottleReason, retryAfter: number): Record<string, string> {
  return { 'Retry-After': String(retryAfter), 'X-MS-ASThrottle': reason };
}
