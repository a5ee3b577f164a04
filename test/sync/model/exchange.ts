/**
 * One Sync exchange of the model test: the device's client commands (built from what it holds,
 * applied to its own copy as a phone does when it sends them), the request, and what the answer
 * means for the model (MS-ASCMD 2.2.3.24.3: a successful Change is not answered; Status 7 is a
 * server-wins conflict, the device then gets the server's version; 8 the item is not there).
 */
import { child, childText, children, el, type WbxmlElement } from '../../../src/wbxml/index.ts';
import { ageToDate, FILTERS, FOLDER_CLASS, HOME, tagOf, type Fields, type FolderKind, type Model, type ModelItem } from './model.ts';
import type { ClientCmd, SyncOp } from './ops.ts';
import { appDataFor, fail, type SimDevice } from './sim-device.ts';

export interface Exchange {
  dev: SimDevice;
  folder: FolderKind;
  body: WbxmlElement;
  initial: boolean;
  deletesAsMoves: boolean;
  /** ClientId -> the model item it makes and the fields the device keeps. */
  adds: Map<string, ModelItem>;
  addFields: Map<string, Fields>;
  changes: Map<string, Fields>;
  /** Changes of mail fields the server keeps (ClientCmd 'edit'): ServerId -> the fields the server takes (Read). */
  kept: Map<string, Fields>;
  deletes: string[];
  /** Commands of a read-only (quarantined) device: each must be refused with Status 7. */
  refused: number;
  /** The other user's ServerIds this request deletes: each must be Status 8 (not found) and stay. */
  foreign: string[];
}

/** Builds the request of a sync op; the device's own copy takes its commands at once. */
export function prepare(model: Model, dev: SimDevice, op: SyncOp, foreignIds: readonly string[] = []): Exchange {
  const c = dev.col(op.folder);
  const initial = c.key === '0';
  if (op.filter !== undefined) c.filter = FILTERS[op.folder][op.filter % FILTERS[op.folder].length]!;
  const ex: Exchange = { dev, folder: op.folder, body: el('AirSync', 'Sync'), initial, deletesAsMoves: op.dam !== false, adds: new Map(), addFields: new Map(), changes: new Map(), kept: new Map(), deletes: [], refused: 0, foreign: [] };
  const commands: WbxmlElement[] = [];
  if (!initial) for (const cmd of op.cmds ?? []) commands.push(...clientCommand(model, ex, cmd, foreignIds));
  ex.body = dev.syncRequest(op.folder, { window: op.window, commands, ...(op.dam === false ? { dam: false } : {}) });
  return ex;
}

function clientCommand(model: Model, ex: Exchange, cmd: ClientCmd, foreignIds: readonly string[]): WbxmlElement[] {
  const { dev, folder } = ex;
  const c = dev.col(folder);
  const cls = FOLDER_CLASS[folder];
  const readOnly = dev.quarantined;
  const touched = new Set([...ex.changes.keys(), ...ex.kept.keys(), ...ex.deletes]);
  const held = [...c.items.keys()].filter((s) => !touched.has(s));
  if (cmd.k === 'foreign') {
    // Another user's item, by its ServerId: unknown to this user (MS-ASCMD Status 8), untouched.
    const serverId = foreignIds.length && !readOnly ? foreignIds[cmd.pick % foreignIds.length]! : undefined;
    if (!serverId || ex.foreign.includes(serverId)) return [];
    ex.foreign.push(serverId);
    return [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId))];
  }
  if (cmd.k === 'add') {
    if (cls === 'Email' || readOnly) return [];
    const tag = model.newTag();
    const v = model.newVersion();
    const clientId = dev.newClientId();
    let fields: Fields;
    let extra: { start?: number; end?: number } = {};
    const item: ModelItem = { tag, cls, folder: HOME[cls]!, fields: {} };
    if (cls === 'Contacts') fields = { FileAs: `Device contact #${tag} ${v}`, FirstName: `D${tag}${v}` };
    else if (cls === 'Calendar') {
      // Any date: an event outside the device's own window leaves its view like any other.
      const end = ageToDate(model.now, cmd.age);
      extra = { start: end - 3600_000, end };
      item.date = Math.floor(end / 1000) * 1000; // EndTime is sent to the second
      fields = { Subject: `Device event #${tag} ${v}` };
    } else {
      const complete = cmd.age % 2 === 1;
      item.complete = complete;
      fields = { Subject: `Device task #${tag} ${v}`, Complete: complete ? '1' : '0' };
    }
    item.fields = fields;
    ex.adds.set(clientId, item);
    ex.addFields.set(clientId, fields);
    return [el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), appDataFor(folder, fields, extra))];
  }
  if (held.length === 0) return [];
  const serverId = held[cmd.pick % held.length]!;
  if (cmd.k === 'delete') {
    if (readOnly) {
      ex.refused++;
      return [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId))];
    }
    c.items.delete(serverId);
    ex.deletes.push(serverId);
    return [el('AirSync', 'Delete', el('AirSync', 'ServerId', serverId))];
  }
  const old = c.items.get(serverId)!;
  let fields: Fields;
  if (cls === 'Email' && cmd.k === 'edit') {
    // The device shows its own Subject until the server sends its version back (invariant 3 then holds).
    const read = old.Read === '1' ? '0' : '1';
    fields = { Subject: `Device edit #${tagOf(old.Subject) ?? 'x'} ${model.newVersion()}`, Read: read };
    const command = el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), el('AirSync', 'ApplicationData', el('Email', 'Subject', fields.Subject!), el('Email', 'Read', read)));
    if (readOnly) {
      ex.refused++;
      return [command];
    }
    c.items.set(serverId, fields);
    ex.kept.set(serverId, { Read: read });
    return [command];
  }
  if (cls === 'Email') fields = { ...old, Read: old.Read === '1' ? '0' : '1' };
  else {
    const tag = tagOf(old.Subject ?? old.FileAs);
    if (!tag) return [];
    const v = model.newVersion();
    if (cls === 'Contacts') fields = { FileAs: `Device contact #${tag} ${v}`, FirstName: `D${tag}${v}` };
    else if (cls === 'Calendar') fields = { Subject: `Device event #${tag} ${v}` };
    // Completed, also under FilterType 8: the task leaves the device's view (a SoftDelete).
    else if (cmd.pick % 2 === 1) fields = { Subject: old.Subject!, Complete: old.Complete === '1' ? '0' : '1' };
    else fields = { Subject: `Device task #${tag} ${v}`, Complete: old.Complete ?? '0' };
  }
  const command = el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), appDataFor(folder, fields));
  if (readOnly) {
    ex.refused++;
    return [command];
  }
  c.items.set(serverId, fields);
  ex.changes.set(serverId, fields);
  return [command];
}

export interface ResponseStatus {
  kind: string;
  clientId?: string;
  serverId?: string;
  status: number;
}

/** The Responses of a collection, read without applying anything. */
export function responsesOf(collection: WbxmlElement | undefined): ResponseStatus[] {
  const responses = collection ? child(collection, 'Responses', 'AirSync') : undefined;
  return (responses ? children(responses) : []).map((r) => {
    const out: ResponseStatus = { kind: r.name, status: Number(childText(r, 'Status', 'AirSync')) };
    const clientId = childText(r, 'ClientId', 'AirSync');
    const serverId = childText(r, 'ServerId', 'AirSync');
    if (clientId !== undefined) out.clientId = clientId;
    if (serverId !== undefined) out.serverId = serverId;
    return out;
  });
}

/** What the answer did to the server's mailbox, told to the model. */
export function updateModel(model: Model, ex: Exchange, collection: WbxmlElement | undefined): void {
  const where = `${ex.dev.id} ${ex.folder}`;
  const responses = responsesOf(collection);
  if (ex.refused) {
    const statuses = responses.map((r) => r.status);
    if (statuses.length !== ex.refused || statuses.some((s) => s !== 7)) fail(`${where}: a read-only (quarantined) device's commands answered ${JSON.stringify(statuses)}, not Status 7 each`);
    return;
  }
  const answered = (kind: string, serverId: string) => responses.find((r) => r.kind === kind && r.serverId === serverId);
  const inFolder = (serverId: string) => model.in(ex.folder).find((i) => i.serverId === serverId);
  for (const serverId of ex.foreign) {
    const r = answered('Delete', serverId);
    if (r?.status !== 8) fail(`invariant 6: ${where}: a Delete of the other user's ${serverId} answered ${r ? `Status ${r.status}` : 'nothing (taken)'}, not 8`);
  }
  for (const [clientId, item] of ex.adds) {
    const r = responses.find((x) => x.kind === 'Add' && x.clientId === clientId);
    if (!r || r.status !== 1 || !r.serverId) fail(`${where}: client Add ${clientId} answered ${JSON.stringify(r)}`);
    if (model.byServerId(r.serverId)) fail(`${where}: client Add ${clientId} got ServerId ${r.serverId}, which an existing item has`);
    model.add({ ...item, serverId: r.serverId });
  }
  for (const [serverId, fields] of ex.changes) {
    const item = inFolder(serverId);
    const r = answered('Change', serverId);
    if (!r) {
      if (!item) fail(`${where}: a Change of ${serverId}, which is not in the folder, was taken (no Status 8)`);
      // Deleted Items shows other classes as mail: only a mail item takes the mail fields.
      if (item.cls !== FOLDER_CLASS[ex.folder]) continue;
      item.fields = { ...fields };
      if (item.cls === 'Tasks') item.complete = fields.Complete === '1';
    } else if (r.status === 8) {
      if (item) fail(`${where}: a Change of ${serverId} (${item.tag}), which is in the folder, answered Status 8`);
    } else if (r.status !== 7) fail(`${where}: a Change of ${serverId} answered Status ${r.status}`);
  }
  for (const [serverId, fields] of ex.kept) {
    const item = inFolder(serverId);
    const r = answered('Change', serverId);
    if (!r) {
      if (!item) fail(`${where}: a Change of ${serverId}, which is not in the folder, was taken (no Status 8)`);
      // The server takes Read and keeps its Subject (a mail item; Deleted Items shows others as mail).
      if (item.cls === FOLDER_CLASS[ex.folder]) item.fields = { ...item.fields, ...fields };
    } else if (r.status === 8) {
      if (item) fail(`${where}: a Change of ${serverId} (${item.tag}), which is in the folder, answered Status 8`);
    } else if (r.status !== 7) fail(`${where}: a Change of ${serverId} answered Status ${r.status}`);
  }
  for (const serverId of ex.deletes) {
    const item = inFolder(serverId);
    const r = answered('Delete', serverId);
    if (!r) {
      // Gone already (moved or deleted meanwhile): Status 8, or taken as done, as for a retried
      // Delete (the device wants it out of the folder, and it is). Either way the server must
      // not send the device a Delete for it later (invariant 2).
      if (!item) continue;
      if (ex.deletesAsMoves && ex.folder !== 'trash') model.move(item, 'trash');
      else model.remove(item);
    } else if (r.status === 8) {
      if (item) fail(`${where}: a Delete of ${serverId} (${item.tag}), which is in the folder, answered Status 8`);
      ex.dev.col(ex.folder).goneHere.add(serverId);
    } else fail(`${where}: a Delete of ${serverId} answered Status ${r.status}`);
  }
}

/** Normalized answer for comparing a retry with the lost original (invariant 4). */
export function answerShape(res: { top?: number; collection?: WbxmlElement }): string {
  return JSON.stringify(res, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
}
