/**
 * The device of the sync model test: a phone that keeps, per folder, its sync key, its FilterType
 * and the items it holds (ServerId -> the fields it shows), speaks WBXML over HTTP through
 * EasClient, and checks every Sync response it applies (MS-ASCMD 2.2.1.21):
 *   invariant 1: no Add for a ServerId it already holds (nor its own Add echoed back);
 *   invariant 2: no Change, Delete or SoftDelete for a ServerId it does not hold;
 *   invariant 6: nothing of the other user (a ServerId the model never gave this user).
 * Requests are built here from the specification, not with server code.
 */
import { child, childText, children, el, text, type WbxmlElement } from '../../../src/wbxml/index.ts';
import { EasClient } from '../../helpers/eas-client.ts';
import { FOLDER_CLASS, FOLDER_TYPE, FOLDERS, type Fields, type FolderKind } from './model.ts';

/** Thrown when the server breaks an invariant; the message says which and how. */
export class ModelFailure extends Error {
  override readonly name = 'ModelFailure';
}
export function fail(message: string): never {
  throw new ModelFailure(message);
}

/** The fields a device shows, per folder class: [code page, element]. */
const SHOWN: Record<string, Array<[string, string]>> = {
  Email: [['Email', 'Subject'], ['Email', 'Read']],
  Contacts: [['Contacts', 'FileAs'], ['Contacts', 'FirstName']],
  Calendar: [['Calendar', 'Subject']],
  Tasks: [['Tasks', 'Subject'], ['Tasks', 'Complete']],
};

export function shownFields(folder: FolderKind, appData: WbxmlElement | undefined): Fields {
  const out: Fields = {};
  if (!appData) return out;
  for (const [ns, name] of SHOWN[FOLDER_CLASS[folder]]!) {
    const v = text(child(appData, name, ns));
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export interface Collection {
  key: string;
  items: Map<string, Fields>;
  filter: number;
  /** The last response of this collection had no MoreAvailable. */
  atEnd: boolean;
  /** Items the device deleted whose Delete the server answered 8 (a later Delete of them is no news, and harmless). */
  goneHere: Set<string>;
}

export interface ClientResponse {
  kind: string;
  clientId?: string;
  serverId?: string;
  status: number;
}

export interface Applied {
  status: number;
  moreAvailable: boolean;
  /** Server commands by kind, in order. */
  commands: Array<{ kind: string; serverId: string }>;
  responses: ClientResponse[];
}

export class SimDevice {
  readonly client: EasClient;
  folderKey = '0';
  readonly folderIds = new Map<FolderKind, string>();
  cols = new Map<FolderKind, Collection>();
  quarantined = false;
  private clientIds = 0;

  constructor(
    url: string,
    user: string,
    password: string,
    readonly id: string,
    /** Whether a ServerId is this user's (invariant 6). */
    private readonly ours: (serverId: string) => boolean,
  ) {
    this.client = new EasClient({ url, user, password, deviceId: id, deviceType: 'ModelPhone', version: '16.1' });
  }

  col(folder: FolderKind): Collection {
    let c = this.cols.get(folder);
    if (!c) {
      c = { key: '0', items: new Map(), filter: 0, atEnd: false, goneHere: new Set() };
      this.cols.set(folder, c);
    }
    return c;
  }

  /** Forgets a collection (SyncKey 0, or the server said 3); keeps its FilterType. */
  forget(folder: FolderKind): void {
    const c = this.col(folder);
    this.cols.set(folder, { key: '0', items: new Map(), filter: c.filter, atEnd: false, goneHere: new Set() });
  }

  newClientId(): string {
    return `${this.id}-c${++this.clientIds}`;
  }

  /** FolderSync (MS-ASCMD 2.2.1.5): the status; on 1 the folders it knows (by type). */
  async folderSync(): Promise<number> {
    const res = await this.client.post('FolderSync', el('FolderHierarchy', 'FolderSync', el('FolderHierarchy', 'SyncKey', this.folderKey)));
    if (res.status !== 200 || !res.wbxml) fail(`${this.id}: FolderSync HTTP ${res.status}`);
    const status = Number(childText(res.wbxml, 'Status', 'FolderHierarchy'));
    if (status !== 1) return status;
    this.folderKey = childText(res.wbxml, 'SyncKey', 'FolderHierarchy')!;
    const changes = child(res.wbxml, 'Changes', 'FolderHierarchy');
    for (const c of changes ? children(changes) : []) {
      const type = Number(childText(c, 'Type', 'FolderHierarchy'));
      const kind = FOLDERS.find((k) => FOLDER_TYPE[k] === type);
      if (kind && (c.name === 'Add' || c.name === 'Update')) this.folderIds.set(kind, childText(c, 'ServerId', 'FolderHierarchy')!);
      if (kind && c.name === 'Delete') this.folderIds.delete(kind);
    }
    return status;
  }

  /** Starts the hierarchy and every collection over (after FolderSync Status 9). */
  startOver(): void {
    this.folderKey = '0';
    this.folderIds.clear();
    for (const f of FOLDERS) this.forget(f);
  }

  folderId(folder: FolderKind): string {
    return this.folderIds.get(folder) ?? fail(`${this.id} has no ${folder} folder`);
  }

  /** A Sync request of one collection (child order of MS-ASCMD 2.2.3.29.2). */
  syncRequest(folder: FolderKind, opts: { window?: number; commands?: WbxmlElement[]; dam?: boolean }): WbxmlElement {
    const c = this.col(folder);
    const withFilter = FOLDER_CLASS[folder] !== 'Contacts';
    return el(
      'AirSync',
      'Sync',
      el(
        'AirSync',
        'Collections',
        el(
          'AirSync',
          'Collection',
          el('AirSync', 'SyncKey', c.key),
          el('AirSync', 'CollectionId', this.folderId(folder)),
          c.key !== '0' && opts.dam === false ? el('AirSync', 'DeletesAsMoves', 0) : null,
          c.key !== '0' && opts.window !== undefined ? el('AirSync', 'WindowSize', opts.window) : null,
          withFilter ? el('AirSync', 'Options', el('AirSync', 'FilterType', c.filter)) : null,
          opts.commands?.length ? el('AirSync', 'Commands', opts.commands) : null,
        ),
      ),
    );
  }

  /** Sends a request; the response's Collection for the folder, a top-level status, or nothing (no changes). */
  async post(folder: FolderKind, body: WbxmlElement): Promise<{ top?: number; collection?: WbxmlElement }> {
    const res = await this.client.post('Sync', body);
    if (res.status !== 200) fail(`${this.id} ${folder}: Sync HTTP ${res.status}`);
    if (!res.wbxml) return {}; // 14.0+: an empty response means no changes (MS-ASCMD 2.2.1.21)
    const top = childText(res.wbxml, 'Status', 'AirSync');
    if (top !== undefined) return { top: Number(top) };
    const collections = child(res.wbxml, 'Collections', 'AirSync');
    const collection = collections ? children(collections, 'Collection', 'AirSync').find((c) => childText(c, 'CollectionId', 'AirSync') === this.folderId(folder)) : undefined;
    return { collection };
  }

  /**
   * Applies one response Collection, checking invariants 1, 2 and 6. `sentAdds` are the fields of
   * this request's client Adds by ClientId, kept under the ServerId the server answers.
   */
  apply(folder: FolderKind, collection: WbxmlElement | undefined, sentAdds: Map<string, Fields>): Applied {
    const c = this.col(folder);
    const where = `${this.id} ${folder}`;
    if (!collection) {
      c.atEnd = true;
      return { status: 1, moreAvailable: false, commands: [], responses: [] };
    }
    const status = Number(childText(collection, 'Status', 'AirSync'));
    const out: Applied = { status, moreAvailable: !!child(collection, 'MoreAvailable', 'AirSync'), commands: [], responses: [] };
    if (status !== 1) return out;
    const key = childText(collection, 'SyncKey', 'AirSync');
    if (!key) fail(`${where}: a Collection with Status 1 and no SyncKey`);
    c.key = key;
    c.atEnd = !out.moreAvailable;
    const commands = child(collection, 'Commands', 'AirSync');
    for (const cmd of commands ? children(commands) : []) {
      const serverId = childText(cmd, 'ServerId', 'AirSync') ?? fail(`${where}: ${cmd.name} without a ServerId`);
      out.commands.push({ kind: cmd.name, serverId });
      if (!this.ours(serverId)) fail(`invariant 6: ${where} got ${cmd.name} ${serverId}, not one of this user's items`);
      const held = c.items.get(serverId);
      switch (cmd.name) {
        case 'Add':
          if (held) fail(`invariant 1: ${where} got Add for ${serverId}, which it already holds (${JSON.stringify(held)})`);
          c.items.set(serverId, shownFields(folder, child(cmd, 'ApplicationData', 'AirSync')));
          break;
        case 'Change': {
          if (!held) fail(`invariant 2: ${where} got Change for ${serverId}, which it does not hold (never sent an Add)`);
          const fields = shownFields(folder, child(cmd, 'ApplicationData', 'AirSync'));
          // A mail Change may carry only what changed (Read, Flag); other classes send the whole item.
          c.items.set(serverId, FOLDER_CLASS[folder] === 'Email' ? { ...held, ...fields } : fields);
          break;
        }
        case 'Delete':
        case 'SoftDelete':
          if (!held) {
            if (cmd.name === 'Delete' && c.goneHere.delete(serverId)) break;
            fail(`invariant 2: ${where} got ${cmd.name} for ${serverId}, which it does not hold`);
          }
          c.items.delete(serverId);
          break;
        default:
          fail(`${where}: unknown command ${cmd.name}`);
      }
    }
    const responses = child(collection, 'Responses', 'AirSync');
    for (const r of responses ? children(responses) : []) {
      const resp: ClientResponse = { kind: r.name, status: Number(childText(r, 'Status', 'AirSync')) };
      const clientId = childText(r, 'ClientId', 'AirSync');
      const serverId = childText(r, 'ServerId', 'AirSync');
      if (clientId !== undefined) resp.clientId = clientId;
      if (serverId !== undefined) resp.serverId = serverId;
      out.responses.push(resp);
      if (r.name === 'Add' && resp.status === 1) {
        if (!serverId || !clientId) fail(`${where}: an Add response without ClientId or ServerId`);
        const fields = sentAdds.get(clientId) ?? fail(`${where}: a response for ClientId ${clientId}, which it did not send`);
        if (c.items.has(serverId)) fail(`invariant 1: ${where}: its own Add ${clientId} was also sent to it as ${serverId}`);
        c.items.set(serverId, fields);
      }
    }
    return out;
  }

  /** GetItemEstimate (MS-ASCMD 2.2.1.9) of one collection at its key and FilterType: status and estimate. */
  async estimate(folder: FolderKind): Promise<{ status: number; estimate?: number }> {
    const c = this.col(folder);
    const res = await this.client.post(
      'GetItemEstimate',
      el(
        'GetItemEstimate',
        'GetItemEstimate',
        el(
          'GetItemEstimate',
          'Collections',
          el(
            'GetItemEstimate',
            'Collection',
            el('AirSync', 'SyncKey', c.key),
            el('GetItemEstimate', 'CollectionId', this.folderId(folder)),
            FOLDER_CLASS[folder] !== 'Contacts' ? el('AirSync', 'Options', el('AirSync', 'FilterType', c.filter)) : null,
          ),
        ),
      ),
    );
    if (res.status !== 200 || !res.wbxml) fail(`${this.id}: GetItemEstimate HTTP ${res.status}`);
    const r = child(res.wbxml, 'Response', 'GetItemEstimate');
    if (!r) return { status: Number(childText(res.wbxml, 'Status', 'GetItemEstimate')) };
    const estimate = childText(child(r, 'Collection', 'GetItemEstimate') ?? r, 'Estimate', 'GetItemEstimate');
    return { status: Number(childText(r, 'Status', 'GetItemEstimate')), ...(estimate !== undefined ? { estimate: Number(estimate) } : {}) };
  }

  /** MoveItems (MS-ASCMD 2.2.1.12) of one item: status and the new ServerId. */
  async moveItem(serverId: string, from: FolderKind, to: FolderKind): Promise<{ status: number; dstMsgId?: string }> {
    const res = await this.client.post(
      'MoveItems',
      el('Move', 'MoveItems', el('Move', 'Move', el('Move', 'SrcMsgId', serverId), el('Move', 'SrcFldId', this.folderId(from)), el('Move', 'DstFldId', this.folderId(to)))),
    );
    if (res.status !== 200 || !res.wbxml) fail(`${this.id}: MoveItems HTTP ${res.status}`);
    const r = child(res.wbxml, 'Response', 'Move');
    if (!r) return { status: Number(childText(res.wbxml, 'Status', 'Move')) };
    const dst = childText(r, 'DstMsgId', 'Move');
    return { status: Number(childText(r, 'Status', 'Move')), ...(dst !== undefined ? { dstMsgId: dst } : {}) };
  }
}

/** ApplicationData of a client Add or Change, from the fields the device shows (plus what the class needs). */
export function appDataFor(folder: FolderKind, fields: Fields, extra: { start?: number; end?: number } = {}): WbxmlElement {
  const compact = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  switch (FOLDER_CLASS[folder]) {
    case 'Email':
      return el('AirSync', 'ApplicationData', el('Email', 'Read', fields.Read ?? '0'));
    case 'Contacts':
      return el('AirSync', 'ApplicationData', el('Contacts', 'FileAs', fields.FileAs!), el('Contacts', 'FirstName', fields.FirstName!), el('Contacts', 'LastName', 'Model'));
    case 'Calendar':
      return el(
        'AirSync',
        'ApplicationData',
        el('Calendar', 'Subject', fields.Subject!),
        extra.start !== undefined ? el('Calendar', 'StartTime', compact(extra.start)) : null,
        extra.end !== undefined ? el('Calendar', 'EndTime', compact(extra.end)) : null,
      );
    case 'Tasks':
      return el('AirSync', 'ApplicationData', el('Tasks', 'Subject', fields.Subject!), el('Tasks', 'Complete', fields.Complete ?? '0'));
    default:
      throw new Error(`no client items in ${folder}`);
  }
}
