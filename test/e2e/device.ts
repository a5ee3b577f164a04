/**
 * The device simulator: a scripted ActiveSync client that behaves like a phone. It keeps what a
 * phone keeps (the hierarchy sync key, a sync key per collection, the items it holds) and speaks
 * WBXML over HTTP through EasClient. It shares nothing with the server but the codec: requests
 * are built and responses read here, from MS-ASCMD, not with server code.
 */
import assert from 'node:assert/strict';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { EasClient, type EasClientOptions, type EasResponse } from '../helpers/eas-client.ts';

export interface DeviceFolder {
  serverId: string;
  parentId: string;
  displayName: string;
  type: number;
}

/** One item as the device holds it: its ServerId and the ApplicationData last received. */
export interface DeviceItem {
  serverId: string;
  appData: WbxmlElement;
}

export interface CollectionView {
  syncKey: string;
  items: Map<string, DeviceItem>;
}

export interface SyncCollectionResult {
  status: number;
  syncKey?: string;
  moreAvailable: boolean;
  adds: DeviceItem[];
  changes: DeviceItem[];
  deletes: string[];
  softDeletes: string[];
  /** Responses: Add (ClientId -> ServerId/Status), Change/Delete failures, Fetch. */
  responses: WbxmlElement[];
}

export interface SyncOptions {
  windowSize?: number;
  getChanges?: boolean;
  options?: WbxmlElement[];
  commands?: WbxmlElement[];
  deletesAsMoves?: boolean;
}

export class Device {
  readonly client: EasClient;
  folderSyncKey = '0';
  folders = new Map<string, DeviceFolder>();
  collections = new Map<string, CollectionView>();

  constructor(opts: EasClientOptions) {
    this.client = new EasClient(opts);
  }

  folderByType(type: number): DeviceFolder {
    const f = [...this.folders.values()].find((x) => x.type === type);
    assert.ok(f, `device has no folder of type ${type}`);
    return f;
  }

  /** FolderSync (MS-ASCMD 2.2.1.5), applying Add/Update/Delete to the device's folder list. */
  async folderSync(): Promise<{ status: number; response: EasResponse }> {
    const response = await this.client.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', this.folderSyncKey)));
    assert.equal(response.status, 200, 'FolderSync HTTP status');
    const root = response.wbxml!;
    const status = Number(childText(root, 'Status', 'FolderHierarchy'));
    if (status !== 1) return { status, response };
    this.folderSyncKey = childText(root, 'SyncKey', 'FolderHierarchy')!;
    const changes = child(root, 'Changes', 'FolderHierarchy');
    for (const c of changes ? children(changes) : []) {
      const serverId = childText(c, 'ServerId', 'FolderHierarchy')!;
      if (c.name === 'Delete') this.folders.delete(serverId);
      if (c.name === 'Add' || c.name === 'Update') {
        this.folders.set(serverId, {
          serverId,
          parentId: childText(c, 'ParentId', 'FolderHierarchy')!,
          displayName: childText(c, 'DisplayName', 'FolderHierarchy')!,
          type: Number(childText(c, 'Type', 'FolderHierarchy')),
        });
      }
    }
    return { status, response };
  }

  view(collectionId: string): CollectionView {
    let v = this.collections.get(collectionId);
    if (!v) {
      v = { syncKey: '0', items: new Map() };
      this.collections.set(collectionId, v);
    }
    return v;
  }

  /** The Collection element of a Sync request (child order of MS-ASCMD 2.2.3.29.2). */
  collectionRequest(collectionId: string, opts: SyncOptions = {}): WbxmlElement {
    const v = this.view(collectionId);
    return el(
      'AirSync',
      'Collection',
      el('AirSync', 'SyncKey', v.syncKey),
      el('AirSync', 'CollectionId', collectionId),
      opts.deletesAsMoves === undefined ? null : el('AirSync', 'DeletesAsMoves', opts.deletesAsMoves ? 1 : 0),
      opts.getChanges === undefined ? null : el('AirSync', 'GetChanges', opts.getChanges ? 1 : 0),
      opts.windowSize === undefined ? null : el('AirSync', 'WindowSize', opts.windowSize),
      opts.options ? el('AirSync', 'Options', opts.options) : null,
      opts.commands?.length ? el('AirSync', 'Commands', opts.commands) : null,
    );
  }

  /** Sends a whole Sync request and returns the raw response. */
  async syncRaw(body?: WbxmlElement): Promise<EasResponse> {
    return this.client.post('Sync', body);
  }

  /** One Sync of one collection, applying the server's commands to the device's items. */
  async sync(collectionId: string, opts: SyncOptions = {}): Promise<SyncCollectionResult> {
    const response = await this.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', this.collectionRequest(collectionId, opts))));
    assert.equal(response.status, 200, 'Sync HTTP status');
    const empty: SyncCollectionResult = { status: 1, moreAvailable: false, adds: [], changes: [], deletes: [], softDeletes: [], responses: [] };
    // 14.0+: an empty response means "no changes" (MS-ASCMD 2.2.1.21).
    if (!response.wbxml) return empty;
    const top = childText(response.wbxml, 'Status', 'AirSync');
    if (top !== undefined) return { ...empty, status: Number(top) };
    const collection = children(child(response.wbxml, 'Collections', 'AirSync')!, 'Collection', 'AirSync').find(
      (c) => childText(c, 'CollectionId', 'AirSync') === collectionId,
    );
    if (!collection) return empty;
    return this.apply(collectionId, collection);
  }

  /** Applies one response Collection to the device's view. */
  apply(collectionId: string, collection: WbxmlElement): SyncCollectionResult {
    const v = this.view(collectionId);
    const status = Number(childText(collection, 'Status', 'AirSync'));
    const syncKey = childText(collection, 'SyncKey', 'AirSync');
    const result: SyncCollectionResult = { status, syncKey, moreAvailable: !!child(collection, 'MoreAvailable', 'AirSync'), adds: [], changes: [], deletes: [], softDeletes: [], responses: [] };
    if (status !== 1) return result;
    if (syncKey) v.syncKey = syncKey;
    const commands = child(collection, 'Commands', 'AirSync');
    for (const c of commands ? children(commands) : []) {
      const serverId = childText(c, 'ServerId', 'AirSync')!;
      if (c.name === 'Add' || c.name === 'Change') {
        const item = { serverId, appData: child(c, 'ApplicationData', 'AirSync')! };
        if (c.name === 'Add') {
          assert.ok(!v.items.has(serverId), `server sent Add for ${serverId}, which the device has`);
          result.adds.push(item);
        } else {
          result.changes.push(item);
        }
        v.items.set(serverId, item);
      } else if (c.name === 'Delete' || c.name === 'SoftDelete') {
        (c.name === 'Delete' ? result.deletes : result.softDeletes).push(serverId);
        v.items.delete(serverId);
      }
    }
    const responses = child(collection, 'Responses', 'AirSync');
    result.responses = responses ? children(responses) : [];
    for (const r of result.responses) {
      if (r.name === 'Add' && childText(r, 'Status', 'AirSync') === '1') {
        const serverId = childText(r, 'ServerId', 'AirSync')!;
        v.items.set(serverId, { serverId, appData: el('AirSync', 'ApplicationData') });
      }
    }
    return result;
  }

  /** SyncKey 0 then Syncs until nothing more is available; returns every Add received. */
  async initialSync(collectionId: string, opts: SyncOptions = {}): Promise<DeviceItem[]> {
    const v = this.view(collectionId);
    v.syncKey = '0';
    v.items.clear();
    const first = await this.sync(collectionId, { options: opts.options });
    assert.equal(first.status, 1, 'SyncKey 0 status');
    return this.syncAll(collectionId, opts);
  }

  /** Syncs until MoreAvailable is gone; returns the Adds. */
  async syncAll(collectionId: string, opts: SyncOptions = {}): Promise<DeviceItem[]> {
    const adds: DeviceItem[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = await this.sync(collectionId, opts);
      assert.equal(r.status, 1, `Sync status in round ${i}`);
      adds.push(...r.adds);
      if (!r.moreAvailable) return adds;
    }
    throw new Error('MoreAvailable never ended');
  }

  async ping(folderIds: string[] | undefined, heartbeatSeconds: number | undefined): Promise<EasResponse> {
    const body =
      folderIds === undefined && heartbeatSeconds === undefined
        ? undefined
        : el(
            'Ping',
            'Ping',
            heartbeatSeconds === undefined ? null : el('Ping', 'HeartbeatInterval', heartbeatSeconds),
            folderIds === undefined ? null : el('Ping', 'Folders', folderIds.map((id) => el('Ping', 'Folder', el('Ping', 'Id', id), el('Ping', 'Class', 'Email')))),
          );
    return this.client.post('Ping', body);
  }
}

/** ApplicationData of a note-free contact, as a phone sends it (MS-ASCNTC 2.2.2). */
export function contactData(first: string, last: string, email?: string): WbxmlElement {
  return el(
    'AirSync',
    'ApplicationData',
    email ? el('Contacts', 'Email1Address', email) : null,
    el('Contacts', 'FileAs', `${last}, ${first}`),
    el('Contacts', 'FirstName', first),
    el('Contacts', 'LastName', last),
  );
}
