import { readPositions } from '../sync/positions.ts';
import { waitForChange } from '../sync/wait.ts';
import type { JsonObject } from '../store/types.ts';
import { child, childText, children, el } from '../wbxml/tree.ts';
import type { CommandHandler, CommandResult } from './types.ts';

/** Ping statuses (MS-ASCMD 2.2.3.177.12). */
export const PingStatus = {
  NoChanges: 1,
  Changes: 2,
  MissingParameters: 3,
  SyntaxError: 4,
  IntervalOutOfRange: 5,
  TooManyFolders: 6,
  HierarchyChanged: 7,
  ServerError: 8,
} as const;

/** Heartbeat bounds in seconds (MS-ASCMD 2.2.3.84.1) and the most folders one Ping may watch. */
export const PING_HEARTBEAT = { min: 60, max: 3540 } as const;
export const PING_MAX_FOLDERS = 300;
const CACHE = 'ping-request';

interface PingRequest {
  heartbeatInterval?: number;
  folders?: string[];
}

const reply = (status: number, ...extra: ReturnType<typeof el>[]): CommandResult => ({
  body: el('Ping', 'Ping', el('Ping', 'Status', status), extra),
  easStatus: status,
});

function parsePing(ctx: Parameters<CommandHandler>[0]): PingRequest | 'syntax' {
  const root = ctx.request;
  if (!root) return {};
  if (root.ns !== 'Ping' || root.name !== 'Ping') return 'syntax';
  const out: PingRequest = {};
  const hb = childText(root, 'HeartbeatInterval', 'Ping');
  if (hb !== undefined) {
    if (!/^\d{1,9}$/.test(hb.trim())) return 'syntax';
    out.heartbeatInterval = Number(hb.trim());
  }
  const foldersEl = child(root, 'Folders', 'Ping');
  if (foldersEl) {
    const ids = children(foldersEl, 'Folder', 'Ping').map((f) => childText(f, 'Id', 'Ping')?.trim());
    if (ids.length === 0 || ids.some((id) => !id)) return 'syntax';
    out.folders = ids as string[];
  }
  return out;
}

/**
 * Ping (MS-ASCMD 2.2.1.13), Direct Push: the device names folders and a heartbeat; the answer
 * comes when one of them changes (Status 2, naming the folders) or when the heartbeat ends
 * (Status 1). A Ping without a part reuses the part from the device's previous Ping.
 */
export const ping: CommandHandler = async (ctx) => {
  const { store, user, device } = ctx;
  const parsed = parsePing(ctx);
  if (parsed === 'syntax') return reply(PingStatus.SyntaxError);
  const cached = (await store.getDeviceData(user.id, device.deviceId, CACHE)) as PingRequest | null;
  const heartbeat = parsed.heartbeatInterval ?? cached?.heartbeatInterval;
  const folderIds = parsed.folders ?? cached?.folders;
  if (heartbeat === undefined || folderIds === undefined) return reply(PingStatus.MissingParameters);
  if (heartbeat < PING_HEARTBEAT.min) return reply(PingStatus.IntervalOutOfRange, el('Ping', 'HeartbeatInterval', PING_HEARTBEAT.min));
  if (heartbeat > PING_HEARTBEAT.max) return reply(PingStatus.IntervalOutOfRange, el('Ping', 'HeartbeatInterval', PING_HEARTBEAT.max));
  if (folderIds.length > PING_MAX_FOLDERS) return reply(PingStatus.TooManyFolders, el('Ping', 'MaxFolders', PING_MAX_FOLDERS));
  await store.putDeviceData(user.id, device.deviceId, CACHE, { heartbeatInterval: heartbeat, folders: folderIds } as JsonObject);

  // What a held Ping keeps is small: the watched folders' ids and sequences, not Folder rows.
  const watchedFolders = async (): Promise<Map<string, { id: string; modseq: number }> | undefined> => {
    const byServerId = new Map((await store.listFolders(user.id)).map((f) => [f.serverId, f]));
    const out = new Map<string, { id: string; modseq: number }>();
    for (const id of folderIds) {
      const f = byServerId.get(id);
      if (!f) return undefined; // a watched folder is gone: the hierarchy changed
      out.set(id, { id: f.id, modseq: f.modseq });
    }
    return out;
  };
  const deadline = Date.now() + heartbeat * 1000;
  // Folder ids are known after the first look; until then any change of the user wakes the wait.
  let watched: Set<string> | null = null;
  for (;;) {
    // Listen before looking, so a change stored in between is not missed.
    const waiter = waitForChange(store, user.id, watched, Math.max(0, deadline - Date.now()), ctx.aborted);
    const folders = await watchedFolders();
    if (!folders) {
      // A folder the device watches that the server no longer has: resync the hierarchy first.
      waiter.cancel();
      return reply(PingStatus.HierarchyChanged);
    }
    watched ??= new Set([...folders.values()].map((f) => f.id));
    const positions = await readPositions(store, user.id, device.deviceId);
    const changed = [...folders].filter(([, f]) => f.modseq > (positions[f.id] ?? 0)).map(([serverId]) => serverId);
    if (changed.length > 0) {
      waiter.cancel();
      return reply(PingStatus.Changes, el('Ping', 'Folders', changed.map((id) => el('Ping', 'Folder', id))));
    }
    // Woken by a watched folder or by the hierarchy (a watched folder may be gone): look again.
    if (!(await waiter.changed)) return reply(PingStatus.NoChanges);
  }
};
