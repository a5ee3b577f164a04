/**
 * What the admin sees of a device's protection history (src/devices/throttle.ts,
 * src/devices/loop-detector.ts): how often it was throttled and when last, and whether it was
 * flagged for looping. The counters themselves live in the server's memory; only these events are
 * written, once per block or per flagged run.
 */
export interface DeviceProtection {
  userId: string;
  deviceId: string;
  throttles: number;
  lastThrottleAt: Date | null;
  lastThrottleReason: string | null;
  throttledUntil: Date | null;
  loops: number;
  lastLoopAt: Date | null;
  lastLoopCommand: string | null;
}

export interface ProtectionStore extends LockoutRecords {
  /** Ends an account's lockout now (on every server within its poll interval); `admitDevice` may then log in through a new block until `admitUntil`. */
  unlockAccount(login: string, admitDevice: string | null, admitUntil: Date | null): Promise<void>;
  /** A device block began (reason as sent in X-MS-ASThrottle). */
  recordThrottle(userId: string, deviceId: string, reason: string, until: Date): Promise<void>;
  /** Several blocks in one transaction (one write for a wave of blocks); rows of devices that are gone are skipped. */
  recordThrottles(events: ReadonlyArray<{ userId: string; deviceId: string; reason: string; until: Date }>): Promise<void>;
  /** A device was flagged for repeating a command. */
  recordLoop(userId: string, deviceId: string, command: string): Promise<void>;
  get(userId: string, deviceId: string): Promise<DeviceProtection | null>;
  list(userId?: string): Promise<DeviceProtection[]>;
}

/**
 * An account's lockout as the store keeps it (src/auth/lockout.ts): written by a server when an
 * account block starts, by `easd user unlock` when the admin ends it (optionally admitting one
 * device id through it), read by every server for unproven attempts and by `user show`.
 */
export interface AccountLockoutRecord {
  /** The login as normalized (lower-case address). */
  login: string;
  startedAt: Date | null;
  blockedUntil: Date | null;
  /** Distinct failures when the block started. */
  failures: number;
  /** The client address of the failure that started the block. */
  lastAddress: string | null;
  /** How many blocks were started on this account. */
  blocks: number;
  unlockedAt: Date | null;
  admitDevice: string | null;
  admitUntil: Date | null;
}

/** The part of the store the lockout reads and writes. */
export interface LockoutRecords {
  getAccountLockout(login: string): Promise<AccountLockoutRecord | null>;
  recordAccountLockout(e: { login: string; startedAt: Date; blockedUntil: Date; failures: number; lastAddress: string }): Promise<void>;
}
