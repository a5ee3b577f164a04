import { versionNumber } from '../eas/versions.ts';
import { asksToSend, sendDraft } from '../mail/send-draft.ts';
import { isTransientStoreError, type Folder, type Item, type JsonObject } from '../ports/types.ts';
import type { QuietAnswers } from './answer-caches.ts';
import { SyncStatus, syncCollection, type CollectionOutcome, type SyncContext } from '../sync/collection-sync.ts';
import { recordPositions } from '../sync/positions.ts';
import { reportUnconvertible } from '../sync/failure-notice.ts';
import type { ConversionError } from '../classes/types.ts';
import { parseSyncRequest, SyncProtocolError, type CollectionRequest, type SyncRequest } from '../sync/sync-request.ts';
import { el, type WbxmlElement } from '../wbxml/tree.ts';
import type { CommandContext, CommandHandler, CommandResult } from './types.ts';
import { afterClientCalendarChange } from '../meetings/meeting-organizer.ts';

/** Most collections one Sync may name before Status 15 (MS-ASCMD 2.2.3.177.17). */
export const MAX_SYNC_COLLECTIONS = 1000;
/** Bounds of Wait in minutes (MS-ASCMD 2.2.3.190) and HeartbeatInterval in seconds (2.2.3.84.2). */
export const WAIT_MINUTES = { min: 1, max: 59 } as const;
export const HEARTBEAT_SECONDS = { min: 60, max: 3540 } as const;
/** Device data name of the cached request that empty and partial Syncs reuse (MS-ASCMD 2.2.3.126 Partial). */
const CACHE = 'sync-request';

const statusOnly = (status: number, ...extra: WbxmlElement[]): CommandResult => ({
  body: el('AirSync', 'Sync', el('AirSync', 'Status', status), extra),
  easStatus: status,
});

interface CachedRequest {
  collections: CollectionRequest[];
  wait?: number;
  heartbeatInterval?: number;
  windowSize?: number;
}

/** What an empty or partial request means: the cached request, with this one's parts on top. */
function withCache(req: SyncRequest, cached: CachedRequest | null): CachedRequest | null {
  const empty = req.noCollections && req.wait === undefined && req.heartbeatInterval === undefined;
  if (!empty && !req.partial) return { collections: req.collections, wait: req.wait, heartbeatInterval: req.heartbeatInterval, windowSize: req.windowSize };
  if (!cached) return null;
  const byId = new Map<string | undefined, CollectionRequest>(cached.collections.map((c) => [c.collectionId, { ...c, commands: [] }]));
  for (const c of req.collections) {
    // A partial collection says only what changed; what it leaves out comes from the cache.
    const defined = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as CollectionRequest;
    byId.set(c.collectionId, { ...byId.get(c.collectionId), ...defined });
  }
  return {
    collections: [...byId.values()],
    wait: req.wait ?? (req.heartbeatInterval === undefined ? cached.wait : undefined),
    heartbeatInterval: req.heartbeatInterval ?? (req.wait === undefined ? cached.heartbeatInterval : undefined),
    windowSize: req.windowSize ?? cached.windowSize,
  };
}

/** The request as cached: collections without their commands, with the keys just handed out. */
function toCache(req: CachedRequest, outcomes: Map<string, CollectionOutcome>): JsonObject {
  const collections = req.collections.map((c) => {
    const outcome = outcomes.get(c.collectionId ?? '');
    const key = outcome ? outcome.syncKey : c.syncKey;
    const { commands: _omit, ...rest } = c;
    return { ...rest, syncKey: key };
  });
  return JSON.parse(JSON.stringify({ ...req, collections })) as JsonObject;
}


/**
 * Sync (MS-ASCMD 2.2.1.21): client changes in, server changes out, for several collections;
 * with Wait or HeartbeatInterval it waits for a change when there is none yet.
 */
async function handleSync(ctx: CommandContext, out: { waits: boolean }): Promise<CommandResult> {
  const { deviceState, user, device } = ctx;
  let parsed: SyncRequest;
  try {
    parsed = parseSyncRequest(ctx.request);
  } catch (err) {
    if (err instanceof SyncProtocolError) {
      ctx.log.info({ reason: err.message }, 'Sync protocol error');
      return statusOnly(SyncStatus.ProtocolError);
    }
    throw err;
  }
  const cached = (await deviceState.getDeviceData(user.id, device.deviceId, CACHE)) as CachedRequest | null;
  const req = withCache(parsed, cached);
  if (!req || req.collections.length === 0) return statusOnly(SyncStatus.Incomplete);
  if (req.collections.length > MAX_SYNC_COLLECTIONS) return statusOnly(SyncStatus.TooManyCollections, el('AirSync', 'Limit', MAX_SYNC_COLLECTIONS));

  // Wait in minutes and HeartbeatInterval in seconds, within bounds or Status 14 with the Limit.
  let holdMs = 0;
  if (req.wait !== undefined) {
    if (req.wait < WAIT_MINUTES.min) return statusOnly(SyncStatus.InvalidWait, el('AirSync', 'Limit', WAIT_MINUTES.min));
    if (req.wait > WAIT_MINUTES.max) return statusOnly(SyncStatus.InvalidWait, el('AirSync', 'Limit', WAIT_MINUTES.max));
    holdMs = req.wait * 60_000;
  } else if (req.heartbeatInterval !== undefined) {
    if (req.heartbeatInterval < HEARTBEAT_SECONDS.min) return statusOnly(SyncStatus.InvalidWait, el('AirSync', 'Limit', HEARTBEAT_SECONDS.min));
    if (req.heartbeatInterval > HEARTBEAT_SECONDS.max) return statusOnly(SyncStatus.InvalidWait, el('AirSync', 'Limit', HEARTBEAT_SECONDS.max));
    holdMs = req.heartbeatInterval * 1000;
  }

  out.waits = holdMs > 0;
  // Items skipped because they cannot be converted for this device (kb-2.4), told after the passes.
  const unconvertible: { folder: Folder; item: Item; err: ConversionError }[] = [];
  const syncCtx: SyncContext = {
    mailbox: ctx.mailbox,
    deviceState,
    user,
    device,
    onUnconvertible: (folder, item, err) => unconvertible.push({ folder, item, err }),
    version: ctx.version,
    folders: shownFolders(ctx, await ctx.mailbox.listFolders()),
    // A quarantined device (src/devices/quarantine.ts): other collections answer Status 12
    // (unknown to the server as the device sees it), and of the Inbox only the notice is sent.
    visible: ctx.restricted?.item,
    readOnly: ctx.restricted?.readOnly,
    now: () => Date.now(),
    locks: ctx.services.syncLocks,
    // Malformed optional fields of a device's item: left out, the item kept, logged (src/classes/fields.ts).
    pictureMaxBytes: ctx.services.contactPictureMaxBytes,
    onDropped: (folder, element, reason) => ctx.log.warn({ folder: folder.serverId, element, reason }, 'kept a device\'s item without a malformed optional field'),
    onClientWrite: async (folder, item, appData) => {
      if (asksToSend(folder, appData, ctx.version)) await sendDraft({ mailbox: ctx.mailbox, user, version: ctx.version, outbound: ctx.services.outbound, log: ctx.log }, item, appData);
    },
    // Meetings the user organises from a 16.0+ device: the server notifies the attendees.
    onClientItemChange: (folder, before, after) => afterClientCalendarChange({ accounts: ctx.accounts, mailbox: ctx.mailbox, user, version: ctx.version, outbound: ctx.services.outbound, log: ctx.log }, folder, before, after),
  };
  const watched = new Set(syncCtx.folders.filter((f) => req.collections.some((c) => c.collectionId === f.serverId)).map((f) => f.id));
  const pass = async (collections: CollectionRequest[]) => {
    const budget = { remaining: req.windowSize ?? Number.MAX_SAFE_INTEGER };
    const outcomes = new Map<string, CollectionOutcome>();
    for (const c of collections) outcomes.set(c.collectionId ?? '', await syncCollection(syncCtx, c, budget));
    return outcomes;
  };

  let lastCache = JSON.stringify(cached);
  /** What follows a pass: notices, the cached request, positions, and the answer. */
  const answerFor = async (outcomes: Map<string, CollectionOutcome>): Promise<CommandResult> => {
    for (const u of unconvertible.splice(0)) {
      try {
        await reportUnconvertible(ctx.mailbox, deviceState, user, u.folder, u.item, u.err, ctx.log);
      } catch (err) {
        // The notice is a courtesy: the Sync's answer must not fail for it.
        ctx.log.error({ err, itemId: u.item.id }, 'could not record the notice of an item that cannot be converted');
      }
    }
    // The cached request changes only when keys or options do; a quiet Sync writes nothing.
    const cache = toCache(req, outcomes);
    const text = JSON.stringify(cache);
    if (text !== lastCache) await deviceState.putDeviceData(user.id, device.deviceId, CACHE, cache);
    lastCache = text;
    // Positions move only with a changed collection (an unchanged one is where its key says).
    const moved = [...outcomes.values()].filter((o) => o.changed && o.folder && o.position !== undefined);
    if (moved.length) await recordPositions(deviceState, user.id, device.deviceId, new Map(moved.map((o) => [o.folder!.id, o.position!])));
    const sent = [...outcomes.values()].reduce((n, o) => n + o.sent, 0);
    const logFields = { collections: outcomes.size, sent };
    // 14.0+: collections without news are left out, and a response with none is empty (MS-ASCMD 2.2.1.21).
    const omitUnchanged = versionNumber(ctx.version) >= 140;
    const shown = [...outcomes.values()].filter((o) => o.changed || !omitUnchanged);
    if (shown.length === 0) return { easStatus: SyncStatus.Success, logFields };
    return {
      body: el('AirSync', 'Sync', el('AirSync', 'Collections', shown.map((o) => o.element))),
      easStatus: shown.find((o) => o.status !== SyncStatus.Success)?.status ?? SyncStatus.Success,
      logFields,
    };
  };

  const anyChanged = (o: Map<string, CollectionOutcome>) => [...o.values()].some((x) => x.changed);
  // A change stored while the first pass runs must still wake the hold below: listen first.
  const watch = holdMs > 0 ? ctx.services.changes.watch(user.id, watched) : undefined;
  let outcomes: Map<string, CollectionOutcome>;
  let first: CommandResult;
  try {
    outcomes = await pass(req.collections);
    first = await answerFor(outcomes);
  } catch (err) {
    watch?.close();
    throw err;
  }
  if (!watch || anyChanged(outcomes)) {
    watch?.close();
    return first;
  }
  // Nothing yet: held like a Ping (src/http/parked-requests.ts), answered by the next pass that
  // finds something, or with the first pass's answer when the Wait or HeartbeatInterval ends.
  // Only the keys just handed out are valid now; commands were applied in the first pass.
  const again = req.collections.map((c) => ({ ...c, syncKey: outcomes.get(c.collectionId ?? '')!.syncKey, commands: [] }));
  const recheck = async (): Promise<CommandResult | undefined> => {
    syncCtx.folders = shownFolders(ctx, await ctx.mailbox.listFolders());
    const next = await pass(again);
    return anyChanged(next) ? answerFor(next) : undefined;
  };
  return { park: { watch, deadline: Date.now() + holdMs, recheck, timeout: () => first, failed: () => statusOnly(SyncStatus.Retry) } };
}

/** The folders a device may sync: all, or those its restriction shows (a quarantined device). */
function shownFolders(ctx: CommandContext, folders: Folder[]): Folder[] {
  return ctx.restricted ? folders.filter((f) => ctx.restricted!.folder(f)) : folders;
}

/**
 * The last answer to a device, kept when answering changed nothing in the store (a Sync that
 * found no news, the request a phone polls with all day). A byte-identical request from the same
 * device and protocol version, with the store's write token unchanged (nothing written anywhere
 * since, Store.writeToken), gets the same answer without being worked out again: every input of
 * that answer (the sync state, the cached request, the folders and their items) is in the store.
 * Requests that wait (Wait, HeartbeatInterval) are not kept. With PostgreSQL the token is one
 * query, and any commit in the database cluster changes it, so there a quiet repeat is a query
 * instead of the Sync's several, and a busy cluster works more answers out again.
 */

export const sync: CommandHandler = async (ctx) => {
  try {
    // SQLite's token without waiting a turn (the quiet path is the hot one); PostgreSQL's is a query.
    const t = ctx.services.writeToken(ctx);
    const token = typeof t === 'object' ? await t : t;
    let quiet: QuietAnswers | undefined;
    const key = `${ctx.user.id}\0${ctx.device.deviceId}`;
    if (token !== undefined) {
      quiet = ctx.services.quietAnswers;
      const q = quiet.get(key);
      if (q && q.token === token && q.version === ctx.version && q.body.equals(ctx.rawBody)) return q.result;
    }
    const out = { waits: false };
    const result = await handleSync(ctx, out);
    const after = quiet && !out.waits && result.easStatus === SyncStatus.Success ? ctx.services.writeToken(ctx) : undefined;
    if (quiet && after !== undefined && (typeof after === 'object' ? await after : after) === token) {
      quiet.set(key, { token: token!, version: ctx.version, body: Buffer.from(ctx.rawBody), result });
    } else {
      quiet?.delete(key);
    }
    return result;
  } catch (err) {
    // A database hiccup (lost connection, deadlock, busy file) is worth a retry: Status 16.
    if (!isTransientStoreError(err)) throw err;
    ctx.log.warn({ err }, 'Sync hit a transient store error');
    return statusOnly(SyncStatus.Retry);
  }
};
