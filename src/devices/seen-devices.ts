import type { Device, DeviceSeen } from '../ports/types.ts';
import type { DeviceStateStore } from '../ports/store.ts';

/**
 * Records that a device made a request (DeviceStateStore.upsertDevice) without writing on every request:
 * a phone syncing actively sends several requests a second, and the partnership row only needs
 * its last-seen time to the minute. A device is written when it is new to this process, when its
 * type, user agent or protocol version changed (kb-2.11), or when the last write is older than
 * `refreshMs`. `forget` drops an entry, so the next request writes again (after a failure that
 * may mean the row is gone).
 */
/**
 * What is kept per device: the fields to compare and to rebuild the Device from, with times as
 * numbers (a device holding a Ping for an hour should cost bytes here, not two Date objects and
 * a JSON signature).
 */
interface Seen {
  deviceType: string;
  userAgent: string | null;
  protocolVersion: string | null;
  firstSeen: number;
  lastSeen: number;
  syncResets: number;
  writtenAt: number;
}

export class SeenDevices {
  private readonly entries = new Map<string, Seen>();

  constructor(
    private readonly deviceState: Pick<DeviceStateStore, 'upsertDevice'>,
    private readonly refreshMs = 60_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  async seen(info: DeviceSeen): Promise<Device> {
    const key = `${info.userId}\0${info.deviceId}`;
    const cached = this.entries.get(key);
    const now = this.now();
    if (
      cached &&
      cached.deviceType === info.deviceType &&
      // Absent (undefined) means "keep what is stored" (DeviceStateStore.upsertDevice), so it matches.
      (info.userAgent === undefined || cached.userAgent === info.userAgent) &&
      (info.protocolVersion === undefined || cached.protocolVersion === info.protocolVersion) &&
      now - cached.writtenAt < this.refreshMs
    ) {
      return {
        userId: info.userId,
        deviceId: info.deviceId,
        deviceType: cached.deviceType,
        userAgent: cached.userAgent,
        protocolVersion: cached.protocolVersion,
        firstSeen: new Date(cached.firstSeen),
        lastSeen: new Date(cached.lastSeen),
        syncResets: cached.syncResets,
      };
    }
    const device = await this.deviceState.upsertDevice(info);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, {
      deviceType: device.deviceType,
      userAgent: device.userAgent,
      protocolVersion: device.protocolVersion,
      firstSeen: device.firstSeen.getTime(),
      lastSeen: device.lastSeen.getTime(),
      syncResets: device.syncResets,
      writtenAt: now,
    });
    return device;
  }

  forget(userId: string, deviceId: string): void {
    this.entries.delete(`${userId}\0${deviceId}`);
  }
}
