/**
 * EXPERIMENT, not the server's code: stand-ins for two proposed changes to src/, used by
 * bench/sync/server.ts --experiment lean-ping[,user-index] to measure what they would bring.
 *
 * - leanPing: src/commands/ping.ts with the same protocol behaviour, except that while it waits
 *   it keeps only what it needs of the folders it watches (id and modseq per watched ServerId)
 *   instead of a Map of every Folder of the user (with their Dates and id strings), and it does
 *   not keep the parsed request or the cached value.
 * - UserWaits (user-index): one store subscription per process and waiters indexed by user id,
 *   instead of one store subscription per waiter (src/sync/wait.ts) that every change of every
 *   user is dispatched to: a change then costs O(that user's waiters), not O(all waiters).
 */
import type { CommandHandler, CommandResult } from '../../src/commands/types.ts';
import { PING_HEARTBEAT, PING_MAX_FOLDERS, PingStatus } from '../../src/commands/ping.ts';
import type { JsonObject, Store } from '../../src/store/types.ts';
import { readPositions } from '../../src/sync/positions.ts';
import { waitForChange, type ChangeWaiter } from '../../src/sync/wait.ts';
import { child, childText, children, el } from '../../src/wbxml/tree.ts';

export type WaitFn = (store: Store, userId: string, folderIds: ReadonlySet<string>, timeoutMs: number, aborted?: AbortSignal) => ChangeWaiter;

/** Waiters by user id behind one store subscription. */
export class UserWaits {
  readonly #byUser = new Map<string, Set<(folderId: string | null) => void>>();
  #count = 0;
  #subscribed = false;

  get waiting(): number {
    return this.#count;
  }

  /** Whether the one store subscription has been made. */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  wait: WaitFn = (store, userId, folderIds, timeoutMs, aborted) => {
    if (!this.#subscribed) {
      this.#subscribed = true;
      store.subscribeChanges((e) => {
        const set = this.#byUser.get(e.userId);
        if (set) for (const cb of [...set]) cb(e.folderId);
      });
    }
    let finish: (v: boolean) => void = () => {};
    const changed = new Promise<boolean>((resolve) => (finish = resolve));
    let done = false;
    const onChange = (folderId: string | null) => {
      if (folderId === null || folderIds.has(folderId)) end(true);
    };
    const end = (v: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const set = this.#byUser.get(userId);
      if (set?.delete(onChange)) this.#count--;
      if (set?.size === 0) this.#byUser.delete(userId);
      aborted?.removeEventListener('abort', onAbort);
      finish(v);
    };
    let set = this.#byUser.get(userId);
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(onChange);
    this.#count++;
    const timer = setTimeout(() => end(false), timeoutMs);
    const onAbort = () => end(false);
    aborted?.addEventListener('abort', onAbort);
    if (aborted?.aborted) end(false);
    return { changed, cancel: () => end(false) };
  };
}

const reply = (status: number, ...extra: ReturnType<typeof el>[]): CommandResult => ({
  body: el('Ping', 'Ping', el('Ping', 'Status', status), extra),
  easStatus: status,
});

interface PingRequest {
  heartbeatInterval?: number;
  folders?: string[];
}

function parsePing(root: Parameters<CommandHandler>[0]['request']): PingRequest | 'syntax' {
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

const CACHE = 'ping-request';

export function leanPing(wait: WaitFn = waitForChange): CommandHandler {
  return async (ctx) => {
    const { store } = ctx;
    const userId = ctx.user.id;
    const deviceId = ctx.device.deviceId;
    const aborted = ctx.aborted;
    const parsed = parsePing(ctx.request);
    if (parsed === 'syntax') return reply(PingStatus.SyntaxError);
    const cached = (await store.getDeviceData(userId, deviceId, CACHE)) as PingRequest | null;
    const heartbeat = parsed.heartbeatInterval ?? cached?.heartbeatInterval;
    const folderIds = parsed.folders ?? cached?.folders;
    if (heartbeat === undefined || folderIds === undefined) return reply(PingStatus.MissingParameters);
    if (heartbeat < PING_HEARTBEAT.min) return reply(PingStatus.IntervalOutOfRange, el('Ping', 'HeartbeatInterval', PING_HEARTBEAT.min));
    if (heartbeat > PING_HEARTBEAT.max) return reply(PingStatus.IntervalOutOfRange, el('Ping', 'HeartbeatInterval', PING_HEARTBEAT.max));
    if (folderIds.length > PING_MAX_FOLDERS) return reply(PingStatus.TooManyFolders, el('Ping', 'MaxFolders', PING_MAX_FOLDERS));
    await store.putDeviceData(userId, deviceId, CACHE, { heartbeatInterval: heartbeat, folders: folderIds } as JsonObject);

    /** Only the watched folders: ServerId -> [folder id, modseq]; undefined if one is gone. */
    const look = async () => {
      const want = new Set(folderIds);
      const out = new Map<string, [string, number]>();
      for (const f of await store.listFolders(userId)) if (want.has(f.serverId)) out.set(f.serverId, [f.id, f.modseq]);
      return out.size === want.size ? out : undefined;
    };
    let watchedFolders = await look();
    if (!watchedFolders) return reply(PingStatus.HierarchyChanged);
    const watched = new Set([...watchedFolders.values()].map(([id]) => id));
    const deadline = Date.now() + heartbeat * 1000;
    for (;;) {
      const waiter = wait(store, userId, watched, Math.max(0, deadline - Date.now()), aborted);
      const positions = await readPositions(store, userId, deviceId);
      const changed = folderIds.filter((id) => {
        const [fid, modseq] = watchedFolders!.get(id)!;
        return modseq > (positions[fid] ?? 0);
      });
      if (changed.length > 0) {
        waiter.cancel();
        return reply(PingStatus.Changes, el('Ping', 'Folders', changed.map((id) => el('Ping', 'Folder', id))));
      }
      if (!(await waiter.changed)) return reply(PingStatus.NoChanges);
      watchedFolders = await look();
      if (!watchedFolders) return reply(PingStatus.HierarchyChanged);
    }
  };
}
