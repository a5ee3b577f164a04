import type { DeviceStateStore } from '../ports/store.ts';

/**
 * The folder sequence each device last synced to, per folder, kept as device data. Ping compares
 * it with the folder's sequence to answer "changes" at once when something arrived between the
 * device's last Sync and its Ping (MS-ASCMD 3.2.5.1.2: changes not yet synchronized count).
 */
const NAME = 'positions';

export async function readPositions(store: Pick<DeviceStateStore, 'getDeviceData'>, userId: string, deviceId: string): Promise<Record<string, number>> {
  return ((await store.getDeviceData(userId, deviceId, NAME)) ?? {}) as Record<string, number>;
}

export async function recordPositions(store: Pick<DeviceStateStore, 'getDeviceData' | 'putDeviceData'>, userId: string, deviceId: string, positions: ReadonlyMap<string, number>): Promise<void> {
  if (positions.size === 0) return;
  const current = await readPositions(store, userId, deviceId);
  let dirty = false;
  for (const [folderId, modseq] of positions) {
    if (current[folderId] !== modseq) {
      current[folderId] = modseq;
      dirty = true;
    }
  }
  if (dirty) await store.putDeviceData(userId, deviceId, NAME, current);
}
