import type { BodyPreference } from '../classes/types.ts';
import type { JsonObject } from '../ports/types.ts';
import { child, childText, children, type WbxmlElement } from '../wbxml/tree.ts';

/**
 * A Sync request (MS-ASCMD 2.2.1.21) read into plain data. Reading only: what the values mean
 * (defaults, bounds, the cached request of 14.0+) is for sync.ts and the engine.
 */

/** Options of one collection (MS-ASCMD 2.2.3.115.5); kept in the sync state for partial requests. */
export interface CollectionOptions {
  /** MS-ASCMD 2.2.3.70.2 FilterType, 0 (no filter) to 8 (incomplete tasks). */
  filterType?: number;
  bodyPreferences?: BodyPreference[];
  /** 0 client wins, 1 server wins (the default, MS-ASCMD 2.2.3.34). */
  conflict?: 0 | 1;
  mimeSupport?: 0 | 1 | 2;
  /** MS-ASCMD 2.2.3.109 MIMETruncation code 0-8. */
  mimeTruncation?: number;
  maxItems?: number;
}

export type ClientCommand =
  | { kind: 'Add'; clientId: string; appData: WbxmlElement; class?: string }
  | { kind: 'Change'; serverId: string; appData: WbxmlElement; instanceId?: string }
  | { kind: 'Delete'; serverId: string; instanceId?: string }
  | { kind: 'Fetch'; serverId: string };

export interface CollectionRequest {
  syncKey?: string;
  collectionId?: string;
  deletesAsMoves?: boolean;
  getChanges?: boolean;
  windowSize?: number;
  options?: CollectionOptions;
  commands: ClientCommand[];
  /** Ghosted properties named in Supported (MS-ASCMD 2.2.3.168), sent with SyncKey 0. */
  supported?: string[];
}

export interface SyncRequest {
  collections: CollectionRequest[];
  /** Minutes (MS-ASCMD 2.2.3.190), 1-59. */
  wait?: number;
  /** Seconds (MS-ASCMD 2.2.3.84.2), 60-3540. */
  heartbeatInterval?: number;
  windowSize?: number;
  partial: boolean;
  /** The Collections element was absent. */
  noCollections: boolean;
}

/** A request that breaks the schema: Sync Status 4, protocol error (MS-ASCMD 2.2.3.177.17). */
export class SyncProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncProtocolError';
  }
}

function integer(e: WbxmlElement, name: string, min: number, max: number): number | undefined {
  const t = childText(e, name, 'AirSync');
  if (t === undefined) return undefined;
  if (!/^\d{1,9}$/.test(t.trim())) throw new SyncProtocolError(`${name} is not a number: "${t}"`);
  const n = Number(t.trim());
  if (n < min || n > max) throw new SyncProtocolError(`${name} ${n} is outside ${min}-${max}`);
  return n;
}

/** An empty element or "1" is true, "0" false (MS-ASDTYPE 2.1 boolean). */
function flag(e: WbxmlElement, name: string): boolean | undefined {
  const c = child(e, name, 'AirSync');
  if (!c) return undefined;
  const t = (childText(e, name, 'AirSync') ?? '').trim();
  if (t === '' || t === '1') return true;
  if (t === '0') return false;
  throw new SyncProtocolError(`${name} is not a boolean: "${t}"`);
}

function parseBodyPreference(e: WbxmlElement): BodyPreference {
  const type = Number(childText(e, 'Type', 'AirSyncBase'));
  if (![1, 2, 3, 4].includes(type)) throw new SyncProtocolError(`BodyPreference Type ${childText(e, 'Type', 'AirSyncBase')}`);
  const pref: BodyPreference = { type: type as BodyPreference['type'] };
  const size = childText(e, 'TruncationSize', 'AirSyncBase');
  if (size !== undefined) {
    if (!/^\d{1,10}$/.test(size.trim())) throw new SyncProtocolError(`TruncationSize "${size}"`);
    pref.truncationSize = Number(size.trim());
  }
  const allOrNone = childText(e, 'AllOrNone', 'AirSyncBase');
  if (allOrNone !== undefined) pref.allOrNone = allOrNone.trim() === '1';
  const preview = childText(e, 'Preview', 'AirSyncBase');
  if (preview !== undefined) {
    const n = Number(preview.trim());
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new SyncProtocolError(`Preview "${preview}"`);
    pref.preview = n;
  }
  return pref;
}

export function parseOptions(e: WbxmlElement): CollectionOptions {
  const o: CollectionOptions = {};
  const ft = integer(e, 'FilterType', 0, 8);
  if (ft !== undefined) o.filterType = ft;
  const prefs = children(e, 'BodyPreference', 'AirSyncBase').map(parseBodyPreference);
  if (prefs.length) o.bodyPreferences = prefs;
  const conflict = integer(e, 'Conflict', 0, 1);
  if (conflict !== undefined) o.conflict = conflict as 0 | 1;
  const mime = integer(e, 'MIMESupport', 0, 2);
  if (mime !== undefined) o.mimeSupport = mime as 0 | 1 | 2;
  const mt = integer(e, 'MIMETruncation', 0, 8);
  if (mt !== undefined) o.mimeTruncation = mt;
  const maxItems = integer(e, 'MaxItems', 1, 1_000_000);
  if (maxItems !== undefined) o.maxItems = maxItems;
  return o;
}

/** 16.0+: airsyncbase:InstanceId names one occurrence of a recurring item (MS-ASCMD 2.2.3.24, 2.2.3.42.2). */
function withInstance<T extends ClientCommand & { kind: 'Change' | 'Delete' }>(cmd: T, e: WbxmlElement): T {
  const instanceId = childText(e, 'InstanceId', 'AirSyncBase')?.trim();
  return instanceId ? { ...cmd, instanceId } : cmd;
}

function parseCommands(e: WbxmlElement | undefined): ClientCommand[] {
  if (!e) return [];
  const out: ClientCommand[] = [];
  for (const c of children(e)) {
    if (c.ns !== 'AirSync') throw new SyncProtocolError(`unexpected ${c.ns}:${c.name} in Commands`);
    const serverId = childText(c, 'ServerId', 'AirSync');
    const appData = child(c, 'ApplicationData', 'AirSync');
    switch (c.name) {
      case 'Add': {
        const clientId = childText(c, 'ClientId', 'AirSync');
        if (!clientId || !appData) throw new SyncProtocolError('Add without ClientId or ApplicationData');
        out.push({ kind: 'Add', clientId, appData, class: childText(c, 'Class', 'AirSync') });
        break;
      }
      case 'Change':
        if (!serverId || !appData) throw new SyncProtocolError('Change without ServerId or ApplicationData');
        out.push(withInstance({ kind: 'Change', serverId, appData }, c));
        break;
      case 'Delete':
        if (!serverId) throw new SyncProtocolError('Delete without ServerId');
        out.push(withInstance({ kind: 'Delete', serverId }, c));
        break;
      case 'Fetch':
        if (!serverId) throw new SyncProtocolError(`${c.name} without ServerId`);
        out.push({ kind: c.name, serverId });
        break;
      default:
        throw new SyncProtocolError(`unexpected ${c.name} in Commands`);
    }
  }
  return out;
}

export function parseSyncRequest(root: WbxmlElement | undefined): SyncRequest {
  if (!root) return { collections: [], partial: false, noCollections: true };
  if (root.ns !== 'AirSync' || root.name !== 'Sync') throw new SyncProtocolError(`root is ${root.ns}:${root.name}, not Sync`);
  const collectionsEl = child(root, 'Collections', 'AirSync');
  const collections = collectionsEl
    ? children(collectionsEl, 'Collection', 'AirSync').map((c): CollectionRequest => {
        const optionsEl = child(c, 'Options', 'AirSync');
        const supportedEl = child(c, 'Supported');
        return {
          syncKey: childText(c, 'SyncKey', 'AirSync')?.trim(),
          collectionId: childText(c, 'CollectionId', 'AirSync')?.trim(),
          deletesAsMoves: flag(c, 'DeletesAsMoves'),
          getChanges: flag(c, 'GetChanges'),
          windowSize: integer(c, 'WindowSize', 0, 1_000_000),
          options: optionsEl ? parseOptions(optionsEl) : undefined,
          commands: parseCommands(child(c, 'Commands', 'AirSync')),
          supported: supportedEl ? children(supportedEl).map((s) => `${s.ns}:${s.name}`) : undefined,
        };
      })
    : [];
  return {
    collections,
    wait: integer(root, 'Wait', 0, 1_000_000),
    heartbeatInterval: integer(root, 'HeartbeatInterval', 0, 1_000_000),
    windowSize: integer(root, 'WindowSize', 0, 1_000_000),
    partial: flag(root, 'Partial') ?? false,
    noCollections: !collectionsEl,
  };
}

/** CollectionOptions as stored JSON (undefined fields dropped). */
export function optionsToJson(o: CollectionOptions): JsonObject {
  return JSON.parse(JSON.stringify(o)) as JsonObject;
}
