/**
 * The protection of one server process (README "Protection: throttling, lockout, limits"):
 * request budgets (throttle.ts), loop detection (loop-detector.ts), lockout (src/auth/lockout.ts)
 * and the limit of held requests per user (src/http/parked-requests.ts). Built once by the server
 * from its configuration; the route asks it and records what the admin should see in the store.
 */
import { Option, type Command } from 'commander';
import type { Logger } from 'pino';
import { DEFAULT_LOCKOUT, Lockout, type LockoutConfig, type LockoutEvent } from '../auth/lockout.ts';
import type { ServerStore } from '../ports/store.ts';
import type { CommandContext } from '../protocol/command.ts';
import { DEFAULT_LOOP, fingerprint, LoopDetector, type LoopConfig } from './loop-detector.ts';
import { DEFAULT_THROTTLE, Throttle, type ThrottleConfig, type ThrottleDecision } from './throttle.ts';

export interface ProtectionConfig {
  throttle?: Partial<ThrottleConfig>;
  loops?: Partial<LoopConfig>;
  lockout?: Partial<LockoutConfig>;
  /** Held requests (Ping, Sync with Wait) per user; past it the oldest is answered. 0: no limit. */
  maxHeldPerUser?: number;
}

export const DEFAULT_MAX_HELD_PER_USER = 10;

/** Everything off but lockout: benchmarks of raw speed (`easd serve --no-throttle --no-loop-detection --max-held-per-user 0`). */
export const PROTECTION_OFF: ProtectionConfig = { throttle: { enabled: false }, loops: { enabled: false }, maxHeldPerUser: 0 };

export class Protection {
  readonly throttle: Throttle;
  readonly loops: LoopDetector;
  readonly lockout: Lockout;
  readonly maxHeldPerUser: number;

  constructor(
    config: ProtectionConfig,
    private readonly server: Pick<ServerStore, 'protection'>,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.throttle = new Throttle(config.throttle, now);
    this.loops = new LoopDetector(config.loops, now);
    this.lockout = new Lockout(config.lockout, now, server.protection);
    this.lockout.observe(logLockout(log));
    this.maxHeldPerUser = config.maxHeldPerUser ?? DEFAULT_MAX_HELD_PER_USER;
  }

  /** Counts a request against the budgets; a new device block is recorded for the admin. */
  admit(userId: string, deviceId: string, command: string, body: Buffer): ThrottleDecision {
    const fp = command === 'Sync' && this.throttle.config.enabled ? fingerprint(command, {}, body) : undefined;
    const d = this.throttle.admit({ userId, deviceId, command, ...(fp !== undefined ? { fingerprint: fp } : {}) });
    if (!d.ok && d.blockedUntil !== undefined) {
      this.log.warn({ userId, deviceId, reason: d.reason, until: new Date(d.blockedUntil).toISOString() }, 'device throttled');
      this.#recordLater({ userId, deviceId, reason: d.reason, until: new Date(d.blockedUntil) });
    }
    return d;
  }

  readonly #pendingThrottles: Array<{ userId: string; deviceId: string; reason: string; until: Date }> = [];
  #recordTimer: NodeJS.Timeout | undefined;

  /**
   * Blocks are written for the admin at most once a second, in one transaction: a wave of looping
   * devices blocked together is one write, not one per device (every write also ends the
   * quiet-Sync answers kept for all devices, src/commands/sync.ts).
   */
  #recordLater(e: { userId: string; deviceId: string; reason: string; until: Date }): void {
    this.#pendingThrottles.push(e);
    this.#recordTimer ??= setTimeout(() => this.flushRecords(), 1_000).unref();
  }

  /** Writes the blocks not written yet (also on shutdown). */
  flushRecords(): Promise<void> {
    if (this.#recordTimer) clearTimeout(this.#recordTimer);
    this.#recordTimer = undefined;
    const events = this.#pendingThrottles.splice(0);
    if (events.length === 0) return Promise.resolve();
    return this.server.protection.recordThrottles(events).catch((err: unknown) => {
      this.log.warn({ err, count: events.length }, 'could not record throttles');
    });
  }

  /** Records a device flagged for looping (kb-1.8). */
  readonly onLoopFlag = (ctx: CommandContext, command: string, count: number): void => {
    ctx.log.warn({ command, repeats: count }, 'device repeats the same command: answered from the previous answer, flagged');
    this.server.protection.recordLoop(ctx.user.id, ctx.device.deviceId, command).catch((err: unknown) => {
      this.log.warn({ err, deviceId: ctx.device.deviceId }, 'could not record a loop flag');
    });
  };

  readonly #tarpit = new Set<{ timer: NodeJS.Timeout; send: () => void }>();

  /** Sends a refusal after the tarpit (ThrottleConfig.tarpitMs, at most the Retry-After). */
  refuseLater(retryAfter: number, send: () => void): void {
    const ms = Math.min(this.throttle.config.tarpitMs, retryAfter * 1000);
    if (ms <= 0) return send();
    const entry = { timer: setTimeout(() => this.#tarpit.delete(entry) && send(), ms), send };
    this.#tarpit.add(entry);
  }

  /** Sends every held refusal now and writes pending blocks (server shutdown). */
  async flushRefusals(): Promise<void> {
    for (const e of [...this.#tarpit]) {
      clearTimeout(e.timer);
      this.#tarpit.delete(e);
      e.send();
    }
    await this.flushRecords();
  }

  /** The held-request group of a user for ParkedRequests, or undefined without a limit. */
  heldGroup(userId: string): { key: string; max: number } | undefined {
    return this.maxHeldPerUser > 0 ? { key: userId, max: this.maxHeldPerUser } : undefined;
  }
}

/**
 * The warn lines of lockout (issue 15: the attack is visible): one when a block starts, never one
 * per refused request (an attack sends thousands; they are counted in the metrics and each has
 * its reason in the request log).
 */
function logLockout(log: Logger): (e: LockoutEvent) => void {
  return (e) => {
    if (e.type === 'block') {
      const { login, deviceId, address } = e.origin;
      const what = e.scope === 'account' ? 'account locked out for unproven devices and addresses' : `lockout: ${e.scope} blocked`;
      log.warn({ user: login, deviceId, address, scope: e.scope, failures: e.failures, until: new Date(e.until).toISOString() }, what);
    } else if (e.type === 'unlocked') {
      log.info({ user: e.login, admitDevice: e.admitDevice }, 'lockout ended by the admin (easd user unlock)');
    } else if (e.type === 'record failed') {
      log.warn({ err: e.err, user: e.login }, 'could not read or write the account lockout record');
    }
  };
}

/** The `easd serve` options of protection (README "Protection: throttling, lockout, limits"). */
export function addProtectionOptions(cmd: Command): Command {
  const n = (flag: string, env: string, what: string, dflt: number) => new Option(`${flag} <n>`, what).env(env).default(String(dflt));
  const t = DEFAULT_THROTTLE;
  const l = DEFAULT_LOCKOUT;
  return cmd
    .addOption(new Option('--no-throttle', 'turn request budgets off (benchmarks of raw speed)').env('EASD_NO_THROTTLE'))
    .addOption(n('--throttle-window', 'EASD_THROTTLE_WINDOW', 'seconds of a request-rate window', t.windowMs / 1000))
    .addOption(n('--throttle-device-requests', 'EASD_THROTTLE_DEVICE_REQUESTS', 'requests per device per window', t.deviceRequests))
    .addOption(n('--throttle-user-requests', 'EASD_THROTTLE_USER_REQUESTS', 'requests per user (all devices) per window', t.userRequests))
    .addOption(n('--throttle-device-concurrent', 'EASD_THROTTLE_DEVICE_CONCURRENT', 'requests of one device in progress at once', t.deviceConcurrent))
    .addOption(n('--throttle-user-concurrent', 'EASD_THROTTLE_USER_CONCURRENT', 'requests of one user in progress at once', t.userConcurrent))
    .addOption(n('--throttle-identical-syncs', 'EASD_THROTTLE_IDENTICAL_SYNCS', 'identical Syncs of one device allowed per identical window', t.identicalSyncs))
    .addOption(n('--throttle-identical-window', 'EASD_THROTTLE_IDENTICAL_WINDOW', 'seconds of the identical-Sync window', t.identicalWindowMs / 1000))
    .addOption(n('--throttle-identical-pace', 'EASD_THROTTLE_IDENTICAL_PACE', 'ms an identical Sync past the first waits after the previous one, doubling while the device keeps asking early (0: no pacing)', t.identicalPaceMs))
    .addOption(n('--throttle-identical-pace-max', 'EASD_THROTTLE_IDENTICAL_PACE_MAX', 'longest pace, ms', t.identicalPaceMaxMs))
    .addOption(n('--throttle-paced-block-after', 'EASD_THROTTLE_PACED_BLOCK_AFTER', 'paced waits in a row before the device is blocked', t.pacedBlockAfter))
    .addOption(n('--throttle-block', 'EASD_THROTTLE_BLOCK', 'seconds a throttled device is blocked', t.blockMs / 1000))
    .addOption(n('--throttle-tarpit', 'EASD_THROTTLE_TARPIT', 'milliseconds a 503 is held before it is sent (at most its Retry-After)', t.tarpitMs))
    .addOption(new Option('--no-loop-detection', 'do every repeated command again').env('EASD_NO_LOOP_DETECTION'))
    .addOption(n('--loop-flag-after', 'EASD_LOOP_FLAG_AFTER', 'identical commands in a row before the device is flagged', DEFAULT_LOOP.flagAfter))
    .addOption(n('--loop-window', 'EASD_LOOP_WINDOW', 'seconds after which a repeat counts as new', DEFAULT_LOOP.windowMs / 1000))
    .addOption(new Option('--no-lockout', 'turn lockout protection off').env('EASD_NO_LOCKOUT'))
    .addOption(n('--lockout-per-origin', 'EASD_LOCKOUT_PER_ORIGIN', 'different wrong passwords from one device and address before it is blocked', l.perOrigin))
    .addOption(n('--lockout-per-account', 'EASD_LOCKOUT_PER_ACCOUNT', 'distinct failures on one account before new devices are blocked', l.perAccount))
    .addOption(n('--lockout-window', 'EASD_LOCKOUT_WINDOW', 'seconds failures are remembered', l.windowMs / 1000))
    .addOption(n('--lockout-block', 'EASD_LOCKOUT_BLOCK', 'seconds a lockout lasts', l.blockMs / 1000))
    .addOption(n('--max-held-per-user', 'EASD_MAX_HELD_PER_USER', 'held Pings per user; past it the oldest is answered (0: no limit)', DEFAULT_MAX_HELD_PER_USER));
}

export interface ProtectionCliOptions {
  throttle: boolean;
  throttleWindow: string;
  throttleDeviceRequests: string;
  throttleUserRequests: string;
  throttleDeviceConcurrent: string;
  throttleUserConcurrent: string;
  throttleIdenticalSyncs: string;
  throttleIdenticalWindow: string;
  throttleIdenticalPace: string;
  throttleIdenticalPaceMax: string;
  throttlePacedBlockAfter: string;
  throttleBlock: string;
  throttleTarpit: string;
  loopDetection: boolean;
  loopFlagAfter: string;
  loopWindow: string;
  lockout: boolean;
  lockoutPerOrigin: string;
  lockoutPerAccount: string;
  lockoutWindow: string;
  lockoutBlock: string;
  maxHeldPerUser: string;
}

/** The configuration from `easd serve` options; a value that is not a whole number >= 0 is an error. */
export function protectionConfigFrom(o: ProtectionCliOptions): ProtectionConfig {
  const int = (v: string, name: string, min = 0): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be a whole number of at least ${min}, not ${v}`);
    return x;
  };
  const sec = (v: string, name: string) => int(v, name, 1) * 1000;
  return {
    throttle: {
      enabled: o.throttle,
      windowMs: sec(o.throttleWindow, 'throttle-window'),
      deviceRequests: int(o.throttleDeviceRequests, 'throttle-device-requests', 1),
      userRequests: int(o.throttleUserRequests, 'throttle-user-requests', 1),
      deviceConcurrent: int(o.throttleDeviceConcurrent, 'throttle-device-concurrent', 1),
      userConcurrent: int(o.throttleUserConcurrent, 'throttle-user-concurrent', 1),
      identicalSyncs: int(o.throttleIdenticalSyncs, 'throttle-identical-syncs', 1),
      identicalWindowMs: sec(o.throttleIdenticalWindow, 'throttle-identical-window'),
      identicalPaceMs: int(o.throttleIdenticalPace, 'throttle-identical-pace'),
      identicalPaceMaxMs: int(o.throttleIdenticalPaceMax, 'throttle-identical-pace-max'),
      pacedBlockAfter: int(o.throttlePacedBlockAfter, 'throttle-paced-block-after', 1),
      blockMs: sec(o.throttleBlock, 'throttle-block'),
      tarpitMs: int(o.throttleTarpit, 'throttle-tarpit'),
    },
    loops: { enabled: o.loopDetection, flagAfter: int(o.loopFlagAfter, 'loop-flag-after', 1), windowMs: sec(o.loopWindow, 'loop-window') },
    lockout: {
      enabled: o.lockout,
      perOrigin: int(o.lockoutPerOrigin, 'lockout-per-origin', 1),
      perAccount: int(o.lockoutPerAccount, 'lockout-per-account', 1),
      windowMs: sec(o.lockoutWindow, 'lockout-window'),
      blockMs: sec(o.lockoutBlock, 'lockout-block'),
    },
    maxHeldPerUser: int(o.maxHeldPerUser, 'max-held-per-user'),
  };
}
