/**
 * The moves a device made lately with MoveItems (MS-ASCMD 2.2.1.12), kept per device so the same
 * request sent again (its response was lost) gets the answer the first one got: Status 3 and the
 * same DstMsgId, not Status 1 because the source item is no longer where the device names it.
 * MoveItems has no sync key to tell a retry by; a Move of an item this device moved from that
 * folder to that folder, whose moved copy is still there, is one.
 *
 * Only while the moved item is still in the destination: once it has been moved on or deleted
 * (by any device or the server), Status 3 would give the device a ServerId it never gets a
 * Delete for (no Sync of the destination sent it), so the retry is answered 1, as any Move of an
 * item gone from its folder is; the Syncs of both folders then tell the device where things are.
 *
 * The record is small (the last MOVES_KEPT moves) and read only when a source item is not found.
 * Two MoveItems of one device at once may keep only one of their records (the last write wins):
 * a retry of the other is then answered 1, which is the answer before this record existed.
 */
import type { DeviceStateStore } from '../ports/store.ts';

const NAME = 'movesDone';
/** How many moves a device's record keeps (a phone retries a request at once, not hours later). */
export const MOVES_KEPT = 200;

export interface MoveDone {
  /** SrcMsgId, SrcFldId and DstFldId of the Move (ServerIds), and the DstMsgId it answered. */
  src: string;
  from: string;
  to: string;
  dst: string;
}

type Store = Pick<DeviceStateStore, 'getDeviceData' | 'putDeviceData'>;

async function read(store: Store, userId: string, deviceId: string): Promise<MoveDone[]> {
  const data = await store.getDeviceData(userId, deviceId, NAME);
  const list = Array.isArray(data?.moves) ? data.moves : [];
  return list.filter((m): m is { src: string; from: string; to: string; dst: string } => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
    return typeof m.src === 'string' && typeof m.from === 'string' && typeof m.to === 'string' && typeof m.dst === 'string';
  });
}

/** The DstMsgId this device's earlier Move of `src` from `from` to `to` answered, if it made one lately. */
export async function findMoveDone(store: Store, userId: string, deviceId: string, move: Omit<MoveDone, 'dst'>): Promise<string | undefined> {
  const list = await read(store, userId, deviceId);
  return list.find((m) => m.src === move.src && m.from === move.from && m.to === move.to)?.dst;
}

/** Records a request's successful moves (one write per request, newest last). */
export async function recordMovesDone(store: Store, userId: string, deviceId: string, moves: readonly MoveDone[]): Promise<void> {
  if (moves.length === 0) return;
  const fresh = new Set(moves.map((m) => m.src));
  const list = [...(await read(store, userId, deviceId)).filter((m) => !fresh.has(m.src)), ...moves].slice(-MOVES_KEPT);
  await store.putDeviceData(userId, deviceId, NAME, { moves: list.map((m) => ({ ...m })) });
}
