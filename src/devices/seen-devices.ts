import type { Device, DeviceSeen, Store } from '../store/types.ts';

/**
 * Records that a device made a request (Store.upsertDevice) without writing on every request:
 * a phone syncing actively sends several requests a second, and the partnership row only needs
 * its last-seen time to the minute. A device is written when it is new to this process, when its
 * type, user agent or protocol version changed (kb-2.11), or when the last write is older than
 * `refreshMs`. `forget` drops an entry, so the next request writes again (after a failure that
 * may mean the row is gone).
 */
export class SeenDevices {
  private readonly entries = new Map<string, { device: Device; signature: string; writtenAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly refreshMs = 60_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  async seen(info: DeviceSeen): Promise<Device> {
    const key = `${info.userId}\0${info.deviceId}`;
    const signature = JSON.stringify([info.deviceType, info.userAgent ?? null, info.protocolVersion ?? null]);
    const cached = this.entries.get(key);
    const now = this.now();
    if (cached && cached.signature === signature && now - cached.writtenAt < this.refreshMs) return cached.device;
    const device = await this.store.upsertDevice(info);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { device, signature, writtenAt: now });
    return device;
  }

  forget(userId: string, deviceId: string): void {
    this.entries.delete(`${userId}\0${deviceId}`);
  }
}
