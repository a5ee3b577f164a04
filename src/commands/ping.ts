import { readPositions } from '../sync/positions.ts';
import { hasNews } from '../sync/collection-state.ts';
import type { Restriction } from '../protocol/command.ts';
import type { Watch } from '../protocol/watch.ts';
import type { JsonObject } from '../ports/types.ts';
import type { Mailbox, MailboxProvider } from '../ports/mailbox.ts';
import type { DeviceStateStore } from '../ports/store.ts';
import { child, childText, children, el } from '../wbxml/tree.ts';
import type { CommandHandler, CommandResult, Park } from './types.ts';

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
  const { deviceState, user, device } = ctx;
  const parsed = parsePing(ctx);
  if (parsed === 'syntax') return reply(PingStatus.SyntaxError);
  const cached = (await deviceState.getDeviceData(user.id, device.deviceId, CACHE)) as PingRequest | null;
  const heartbeat = parsed.heartbeatInterval ?? cached?.heartbeatInterval;
  const folderIds = parsed.folders ?? cached?.folders;
  if (heartbeat === undefined || folderIds === undefined) return reply(PingStatus.MissingParameters);
  if (heartbeat < PING_HEARTBEAT.min) return reply(PingStatus.IntervalOutOfRange, el('Ping', 'HeartbeatInterval', PING_HEARTBEAT.min));
  if (heartbeat > PING_HEARTBEAT.max) return reply(PingStatus.IntervalOutOfRange, el('Ping', 'HeartbeatInterval', PING_HEARTBEAT.max));
  if (folderIds.length > PING_MAX_FOLDERS) return reply(PingStatus.TooManyFolders, el('Ping', 'MaxFolders', PING_MAX_FOLDERS));
  // Devices repeat the same Ping all day: the cached parameters are written only when they change.
  if (cached?.heartbeatInterval !== heartbeat || !sameList(cached?.folders, folderIds)) {
    await deviceState.putDeviceData(user.id, device.deviceId, CACHE, { heartbeatInterval: heartbeat, folders: folderIds } as JsonObject);
  }

  // Listen before looking, so a change stored in between is not missed. Until the folder ids
  // are known, any change of the user counts.
  const watch = ctx.services.changes.watch(user.id, null);
  const { mailbox } = ctx;
  const deviceId = device.deviceId;
  try {
    const first = await look(mailbox, deviceState, deviceId, folderIds, ctx.restricted);
    if (first.answer) {
      watch.close();
      return first.answer;
    }
    watch.folderIds = first.watched ?? null;
    return { park: new HeldPing(watch, Date.now() + heartbeat * 1000, ctx.services.mailboxes, deviceState, deviceId, folderIds, ctx.restricted) };
  } catch (err) {
    watch.close();
    throw err;
  }
};

/**
 * A held Ping: one small object (parked-requests.ts keeps it for up to an hour), holding only
 * the ids it needs to look again, not the request or its context. It keeps the provider, not an
 * opened mailbox, and opens the user's (the watch's) mailbox when it looks again: the same
 * fields as before the mailbox port, and a backend that logs in keeps its sessions per user in
 * the provider, not per held request.
 */
class HeldPing implements Park {
  constructor(
    readonly watch: Watch,
    readonly deadline: number,
    private readonly mailboxes: Pick<MailboxProvider, 'open'>,
    private readonly deviceState: DeviceStateStore,
    private readonly deviceId: string,
    private readonly folderIds: readonly string[],
    private readonly restricted?: Restriction,
  ) {}

  async recheck(): Promise<CommandResult | undefined> {
    return (await look(this.mailboxes.open(this.watch.userId), this.deviceState, this.deviceId, this.folderIds, this.restricted)).answer;
  }

  timeout(): CommandResult {
    return reply(PingStatus.NoChanges);
  }

  failed(): CommandResult {
    return reply(PingStatus.ServerError);
  }
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * One look at the watched folders: Status 7 when one is gone (the hierarchy changed), Status 2
 * naming those with changes the device has not synced (their sequence beyond the device's
 * position), else nothing to say yet and the folder ids to watch.
 */
async function look(
  mailbox: Mailbox,
  deviceState: DeviceStateStore,
  deviceId: string,
  folderIds: readonly string[],
  restricted?: Restriction,
): Promise<{ answer?: CommandResult; watched?: string[] }> {
  // A quarantined device (src/devices/quarantine.ts) may watch only the folders it is shown,
  // and is woken only by an item it may see (its notice), not by other mail of the Inbox.
  const shown = (await mailbox.listFolders()).filter((f) => !restricted || restricted.folder(f));
  const byServerId = new Map(shown.map((f) => [f.serverId, f]));
  const positions = await readPositions(deviceState, mailbox.userId, deviceId);
  const changed: string[] = [];
  const watched: string[] = [];
  for (const serverId of folderIds) {
    const f = byServerId.get(serverId);
    // A folder the device watches that the server no longer has: resync the hierarchy first.
    if (!f) return { answer: reply(PingStatus.HierarchyChanged) };
    if (!watched.includes(f.id)) watched.push(f.id);
    // The folder moved past where the device synced to; it is news only if the device's next
    // Sync would send it something (not its own writes, nor items outside its window).
    if (f.modseq > (positions[f.id] ?? 0) && !changed.includes(serverId)) {
      if (!(await hasNews(mailbox, deviceState, deviceId, f, restricted?.item))) continue;
      changed.push(serverId);
    }
  }
  if (changed.length > 0) return { answer: reply(PingStatus.Changes, el('Ping', 'Folders', changed.map((id) => el('Ping', 'Folder', id)))) };
  return { watched };
}
