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

export interface ProtectionStore {
  /** A device block began (reason as sent in X-MS-ASThrottle). */
  recordThrottle(userId: string, deviceId: string, reason: string, until: Date): Promise<void>;
  /** Several blocks in one transaction (one write for a wave of blocks); rows of devices that are gone are skipped. */
  recordThrottles(events: ReadonlyArray<{ userId: string; deviceId: string; reason: string; until: Date }>): Promise<void>;
  /** A device was flagged for repeating a command. */
  recordLoop(userId: string, deviceId: string, command: string): Promise<void>;
  get(userId: string, deviceId: string): Promise<DeviceProtection | null>;
  list(userId?: string): Promise<DeviceProtection[]>;
}
