/**
 * Runs FolderSync model operations (ops.ts) against a real easd server and checks the server
 * against the reference model (model.ts) after every step:
 *
 * - the store's live folders of each user (ServerId, parent's ServerId, DisplayName, Type) are
 *   the model's;
 * - FolderCreate/FolderUpdate/FolderDelete answer the Status the model expects, a SyncKey only
 *   on success, and a fresh ServerId for a created folder;
 * - a FolderSync answers Status 1, its Changes are valid for the device applying them in order
 *   (model.applyStrictly), and afterwards the device's folders are the model's live folders of
 *   its user (so another user's folders never appear);
 * - a FolderSync retried with the key of a lost response, with no hierarchy change in between,
 *   gets the same answer (key and Changes);
 * - the store API refuses what the model refuses (StoreError code).
 *
 * Devices are simulated here, from MS-ASCMD: a device keeps its key and its own tree, applies
 * its own successful writes to the tree, and on Status 9 starts over with SyncKey 0.
 */
import assert from 'node:assert/strict';
import { isStoreError, type Store } from '../../../src/store/types.ts';
import { child, childText, children, el } from '../../../src/wbxml/index.ts';
import { EasClient } from '../../helpers/eas-client.ts';
import {
  applyStrictly,
  expectCreate,
  expectDelete,
  expectStoreCreate,
  expectStoreUpdate,
  expectUpdate,
  FolderTree,
  isNewMailboxFolder,
  isProtected,
  ROOT,
  type HierarchyChange,
  type MFolder,
  type StoreOutcome,
} from './model.ts';
import { DEVICE_USERS, NAMES, TYPES, type Op } from './ops.ts';

const NS = 'FolderHierarchy';

export interface WorldUser {
  id: string;
  email: string;
}

interface FolderSyncAnswer {
  status: number;
  syncKey?: string;
  changes: HierarchyChange[];
}

interface SimDevice {
  index: number;
  user: number;
  client: EasClient;
  /** The key the device holds. */
  key: string;
  /** The last key the server handed out to it (delivered or not). */
  serverKey: string;
  view: FolderTree;
  /** A FolderSync answer the device never received, and the user's hierarchy version then. */
  lost?: { key: string; version: number; answer: FolderSyncAnswer };
}

/** Outcomes seen, over every run of the process ("FolderCreate 2", "FolderSync Delete", ...), to show what the runs exercised. */
export const stats = new Map<string, number>();
const count = (what: string) => stats.set(what, (stats.get(what) ?? 0) + 1);

export class HierarchyWorld {
  readonly models = [new FolderTree(), new FolderTree()];
  /** Per user: hierarchy writes so far (any successful one). */
  readonly versions = [0, 0];
  /** Per user: ServerId -> order of first appearance (ops pick folders in this order). */
  readonly birth = [new Map<string, number>(), new Map<string, number>()];
  readonly devices: SimDevice[];
  step = -1;
  op: Op | undefined;

  constructor(
    readonly store: Store,
    readonly url: string,
    readonly users: readonly [WorldUser, WorldUser],
    password: string,
  ) {
    this.devices = DEVICE_USERS.map((user, index) => ({
      index,
      user,
      client: new EasClient({ url, user: users[user].email, password, deviceId: `HM${index}`, deviceType: 'ModelPhone', version: '14.1' }),
      key: '0',
      serverKey: '0',
      view: new FolderTree(),
    }));
  }

  /**
   * Every device's first FolderSync; the first device of each user shows the default folders.
   * Each mailbox starts with a few folders of its own (made through the store before anything
   * synchronises), so the first operations have more to act on than default folders.
   */
  async start(): Promise<void> {
    for (const d of this.devices) {
      const a = await this.folderSync(d, '0');
      assert.equal(a.status, 1, this.where('initial FolderSync status'));
      const model = this.models[d.user]!;
      if (model.folders.size === 0) {
        for (const c of a.changes) {
          assert.equal(c.kind, 'Add', this.where('an initial FolderSync sends only Adds'));
          assert.equal(c.parentId, ROOT, this.where(`default folder ${c.serverId} at the root`));
          assert.ok(isNewMailboxFolder(c), this.where(`folder ${c.serverId} of a new mailbox is a default folder`));
          model.set({ ...c, isDefault: true });
          this.born(d.user, c.serverId);
        }
        assert.equal(new Set([...model.folders.values()].map((f) => f.type)).size, a.changes.length, this.where('one folder per default type'));
        await this.prelude(d.user);
        d.view.clear();
        this.received(d, await this.folderSync(d, '0'));
        continue;
      }
      this.received(d, a);
    }
    await this.checkStore();
  }

  /** Projects, Projects/Work, Projects/Work/x and Archive, through the store. */
  async prelude(u: number): Promise<void> {
    await this.srvCreate(u, ROOT, 'Projects', 12);
    const projects = this.ordered(u, this.models[u]!).at(-1)!.serverId;
    await this.srvCreate(u, projects, 'Work', 12);
    await this.srvCreate(u, this.ordered(u, this.models[u]!).at(-1)!.serverId, 'x', 13);
    await this.srvCreate(u, ROOT, 'Archive', 1);
  }

  async run(ops: readonly Op[]): Promise<void> {
    await this.start();
    for (const [i, op] of ops.entries()) {
      this.step = i;
      this.op = op;
      await this.apply(op);
      await this.checkStore();
    }
    // Every device synchronises at the end (a lost answer is retried): all must agree.
    this.step = ops.length;
    for (const d of this.devices) {
      this.op = { k: 'sync', d: d.index };
      await this.sync(d);
    }
  }

  where(what: string): string {
    return `${what} (step ${this.step}: ${JSON.stringify(this.op ?? 'start')})`;
  }

  born(user: number, serverId: string): void {
    const b = this.birth[user]!;
    if (!b.has(serverId)) b.set(serverId, b.size);
  }

  /** The folders of a tree in the order they came to be. */
  ordered(user: number, tree: FolderTree, filter: (f: MFolder) => boolean = () => true): MFolder[] {
    const b = this.birth[user]!;
    return [...tree.folders.values()].filter(filter).sort((x, y) => (b.get(x.serverId) ?? 1e9) - (b.get(y.serverId) ?? 1e9));
  }

  /**
   * A folder to act on: mostly one of the user-created folders of the list (when there are any),
   * one time in four a default folder.
   */
  pick(list: MFolder[], n: number): MFolder {
    const created = list.filter((f) => !isProtected(f));
    const defaults = list.filter((f) => isProtected(f));
    const from = created.length > 0 && (n % 4 !== 3 || defaults.length === 0) ? created : defaults.length > 0 ? defaults : list;
    return from[Math.floor(n / 4) % from.length]!;
  }

  /** A parent: one time in four the root, else a folder of the list (mostly a user-created one). */
  parentOf(list: MFolder[], n: number): string {
    return n % 4 === 0 || list.length === 0 ? ROOT : this.pick(list, n - 1 - Math.floor(n / 4)).serverId;
  }

  // ------------------------------------------------------------------ operations

  async apply(op: Op): Promise<void> {
    switch (op.k) {
      case 'sync':
        return this.sync(this.devices[op.d]!);
      case 'syncLost':
        return this.syncLost(this.devices[op.d]!);
      case 'reset':
        return this.reset(this.devices[op.d]!);
      case 'create': {
        const d = this.devices[op.d]!;
        const parent = this.parentOf(this.ordered(d.user, d.view), op.parent);
        return this.create(d, parent, NAMES[op.name]!, TYPES[op.type]!);
      }
      case 'update': {
        const d = this.devices[op.d]!;
        const list = this.ordered(d.user, d.view);
        const f = this.pick(list, op.folder);
        const parent = op.parent === null ? f.parentId : this.parentOf(list, op.parent);
        return this.update(d, f.serverId, parent, op.name === null ? f.displayName : NAMES[op.name]!);
      }
      case 'delete': {
        const d = this.devices[op.d]!;
        const list = this.ordered(d.user, d.view);
        return this.delete(d, this.pick(list, op.folder).serverId);
      }
      case 'foreign': {
        const d = this.devices[op.d]!;
        const other = 1 - d.user;
        const theirs = this.ordered(other, this.models[other]!, (f) => !isProtected(f) && !this.models[d.user]!.has(f.serverId));
        if (theirs.length === 0) return;
        const sid = theirs[op.folder % theirs.length]!.serverId;
        if (op.what === 'create') return this.create(d, sid, 'foreign', 12);
        if (op.what === 'update') return this.update(d, sid, ROOT, 'foreign');
        return this.delete(d, sid);
      }
      case 'srvCreate': {
        const model = this.models[op.u]!;
        const parent = this.parentOf(this.ordered(op.u, model), op.parent);
        return this.srvCreate(op.u, parent, NAMES[op.name]!, TYPES[op.type]!);
      }
      case 'srvUpdate': {
        const model = this.models[op.u]!;
        const mine = this.ordered(op.u, model, (f) => !isProtected(f));
        if (mine.length === 0) return;
        const f = mine[op.folder % mine.length]!;
        const parent = op.parent === null ? f.parentId : this.parentOf(this.ordered(op.u, model), op.parent);
        return this.srvUpdate(op.u, f.serverId, parent, op.name === null ? f.displayName : NAMES[op.name]!);
      }
      case 'srvDelete': {
        const mine = this.ordered(op.u, this.models[op.u]!, (f) => !isProtected(f));
        if (mine.length === 0) return;
        return this.srvDelete(op.u, mine[op.folder % mine.length]!.serverId);
      }
    }
  }

  async sync(d: SimDevice): Promise<void> {
    const a = await this.folderSync(d, d.key);
    assert.equal(a.status, 1, this.where(`FolderSync of device ${d.index} with its key`));
    if (d.lost) count(d.lost.version === this.versions[d.user] ? 'FolderSync retried, same answer due' : 'FolderSync retried after changes');
    if (d.lost && d.lost.key === d.key && d.lost.version === this.versions[d.user]) {
      assert.deepEqual(a, d.lost.answer, this.where(`a retried FolderSync of device ${d.index} gets the answer that was lost`));
    }
    this.received(d, a);
  }

  async syncLost(d: SimDevice): Promise<void> {
    const a = await this.folderSync(d, d.key);
    assert.equal(a.status, 1, this.where(`FolderSync of device ${d.index} with its key`));
    if (d.lost && d.lost.key === d.key && d.lost.version === this.versions[d.user]) {
      assert.deepEqual(a, d.lost.answer, this.where(`a retried FolderSync of device ${d.index} gets the answer that was lost`));
    }
    assert.ok(a.syncKey, this.where('FolderSync Status 1 carries a SyncKey'));
    d.serverKey = a.syncKey;
    d.lost = { key: d.key, version: this.versions[d.user]!, answer: a };
  }

  async reset(d: SimDevice): Promise<void> {
    const a = await this.folderSync(d, '0');
    assert.equal(a.status, 1, this.where(`FolderSync 0 of device ${d.index}`));
    d.view.clear();
    this.received(d, a);
  }

  /** A device applies a FolderSync answer: strictly, then its tree must be the model's. */
  received(d: SimDevice, a: FolderSyncAnswer): void {
    assert.ok(a.syncKey, this.where('FolderSync Status 1 carries a SyncKey'));
    const problems = applyStrictly(d.view, a.changes);
    const other = this.models[1 - d.user]!;
    for (const c of a.changes) {
      if (!this.models[d.user]!.has(c.serverId) && other.has(c.serverId)) problems.push(`${c.kind} of ${c.serverId}, a folder of the other user`);
    }
    assert.deepEqual(problems, [], this.where(`device ${d.index} applying ${JSON.stringify(a.changes)}`));
    assert.deepEqual(d.view.sorted(), this.models[d.user]!.sorted(), this.where(`device ${d.index}'s folders after FolderSync are the server's`));
    d.key = d.serverKey = a.syncKey;
    d.lost = undefined;
  }

  /** FolderCreate/Update/Delete answered 9: the device starts over (MS-ASCMD 2.2.3.177.3 Status 9). */
  async afterFailure(d: SimDevice, status: number, body: { syncKey?: string | undefined }, what: string): Promise<void> {
    assert.equal(body.syncKey, undefined, this.where(`a failed ${what} carries no SyncKey`));
    if (status === 9) await this.reset(d);
  }

  async create(d: SimDevice, parentId: string, name: string, type: number): Promise<void> {
    const model = this.models[d.user]!;
    const expected = expectCreate(model, d.key === d.serverKey, parentId, name);
    const r = await this.command(d, 'FolderCreate', el(NS, 'SyncKey', d.key), el(NS, 'ParentId', parentId), el(NS, 'DisplayName', name), el(NS, 'Type', type));
    assert.equal(r.status, expected, this.where(`FolderCreate "${name}" under ${parentId} by device ${d.index}: Status`));
    if (r.status !== 1) return this.afterFailure(d, r.status, r, 'FolderCreate');
    assert.ok(r.syncKey && r.serverId, this.where('FolderCreate Status 1 carries SyncKey and ServerId'));
    assert.ok(!this.birth[d.user]!.has(r.serverId), this.where(`FolderCreate's ServerId ${r.serverId} is new`));
    const f = { serverId: r.serverId, parentId, displayName: name, type };
    model.set(f);
    this.born(d.user, f.serverId);
    this.versions[d.user]!++;
    d.view.set(f);
    d.key = d.serverKey = r.syncKey;
  }

  async update(d: SimDevice, serverId: string, parentId: string, name: string): Promise<void> {
    const model = this.models[d.user]!;
    const expected = expectUpdate(model, d.key === d.serverKey, serverId, parentId, name);
    const r = await this.command(d, 'FolderUpdate', el(NS, 'SyncKey', d.key), el(NS, 'ServerId', serverId), el(NS, 'ParentId', parentId), el(NS, 'DisplayName', name));
    assert.equal(r.status, expected, this.where(`FolderUpdate of ${serverId} to "${name}" under ${parentId} by device ${d.index}: Status`));
    if (r.status !== 1) return this.afterFailure(d, r.status, r, 'FolderUpdate');
    assert.ok(r.syncKey, this.where('FolderUpdate Status 1 carries a SyncKey'));
    model.set({ ...model.get(serverId)!, parentId, displayName: name });
    this.versions[d.user]!++;
    d.view.set({ ...d.view.get(serverId)!, parentId, displayName: name });
    d.key = d.serverKey = r.syncKey;
  }

  async delete(d: SimDevice, serverId: string): Promise<void> {
    const model = this.models[d.user]!;
    const expected = expectDelete(model, d.key === d.serverKey, serverId);
    const r = await this.command(d, 'FolderDelete', el(NS, 'SyncKey', d.key), el(NS, 'ServerId', serverId));
    assert.equal(r.status, expected, this.where(`FolderDelete of ${serverId} by device ${d.index}: Status`));
    if (r.status !== 1) return this.afterFailure(d, r.status, r, 'FolderDelete');
    assert.ok(r.syncKey, this.where('FolderDelete Status 1 carries a SyncKey'));
    model.removeSubtree(serverId);
    this.versions[d.user]!++;
    // The device drops the folder and its subfolders as it knows them.
    d.view.removeSubtree(serverId);
    d.key = d.serverKey = r.syncKey;
  }

  async srvCreate(u: number, parentId: string, name: string, type: number): Promise<void> {
    const model = this.models[u]!;
    const expected = expectStoreCreate(model, parentId, name);
    const userId = this.users[u]!.id;
    const got = await this.storeCall(async () => {
      const parent = parentId === ROOT ? null : (await this.store.getFolderByServerId(userId, parentId))!.id;
      return this.store.createFolder({ userId, parentId: parent, displayName: name, type, uniqueName: true });
    });
    assert.equal(got.outcome, expected, this.where(`store createFolder "${name}" under ${parentId}`));
    count(`store createFolder ${got.outcome}`);
    if (!got.value) return;
    model.set({ serverId: got.value.serverId, parentId, displayName: name, type });
    this.born(u, got.value.serverId);
    this.versions[u]!++;
  }

  async srvUpdate(u: number, serverId: string, parentId: string, name: string): Promise<void> {
    const model = this.models[u]!;
    const expected = expectStoreUpdate(model, serverId, parentId, name);
    const userId = this.users[u]!.id;
    const got = await this.storeCall(async () => {
      const f = (await this.store.getFolderByServerId(userId, serverId))!;
      const parent = parentId === ROOT ? null : (await this.store.getFolderByServerId(userId, parentId))!.id;
      return this.store.updateFolder(userId, f.id, { displayName: name, parentId: parent, uniqueName: true });
    });
    assert.equal(got.outcome, expected, this.where(`store updateFolder ${serverId} to "${name}" under ${parentId}`));
    count(`store updateFolder ${got.outcome}`);
    if (!got.value) return;
    model.set({ ...model.get(serverId)!, parentId, displayName: name });
    this.versions[u]!++;
  }

  async srvDelete(u: number, serverId: string): Promise<void> {
    const userId = this.users[u]!.id;
    const f = (await this.store.getFolderByServerId(userId, serverId))!;
    await this.store.deleteFolder(userId, f.id);
    this.models[u]!.removeSubtree(serverId);
    this.versions[u]!++;
  }

  async storeCall<T>(fn: () => Promise<T>): Promise<{ outcome: StoreOutcome; value?: T }> {
    try {
      return { outcome: 'ok', value: await fn() };
    } catch (err) {
      for (const code of ['not_found', 'conflict', 'invalid'] as const) if (isStoreError(err, code)) return { outcome: code };
      throw err;
    }
  }

  // ------------------------------------------------------------------ checks and wire

  /** The store's live folders of each user are the model's. */
  async checkStore(): Promise<void> {
    for (const [u, user] of this.users.entries()) {
      const rows = await this.store.listFolders(user.id);
      const sid = new Map(rows.map((f) => [f.id, f.serverId]));
      const live = new FolderTree();
      for (const f of rows) live.set({ serverId: f.serverId, parentId: f.parentId === null ? ROOT : (sid.get(f.parentId) ?? `?${f.parentId}`), displayName: f.displayName, type: f.type });
      assert.deepEqual(live.sorted(), this.models[u]!.sorted(), this.where(`the store's folders of user ${u} are the model's`));
    }
  }

  async folderSync(d: SimDevice, key: string): Promise<FolderSyncAnswer> {
    const res = await d.client.post('FolderSync', el(NS, 'FolderSync', el(NS, 'SyncKey', key)));
    assert.equal(res.status, 200, this.where('FolderSync HTTP status'));
    const root = res.wbxml!;
    const status = Number(childText(root, 'Status', NS));
    const changes: HierarchyChange[] = [];
    const list = child(root, 'Changes', NS);
    if (list) {
      for (const c of children(list)) {
        if (c.name === 'Count') continue;
        const serverId = childText(c, 'ServerId', NS)!;
        if (c.name === 'Delete') changes.push({ kind: 'Delete', serverId });
        else if (c.name === 'Add' || c.name === 'Update') {
          changes.push({ kind: c.name, serverId, parentId: childText(c, 'ParentId', NS)!, displayName: childText(c, 'DisplayName', NS)!, type: Number(childText(c, 'Type', NS)) });
        } else assert.fail(this.where(`unexpected ${c.name} in FolderSync Changes`));
      }
      assert.equal(Number(childText(list, 'Count', NS)), changes.length, this.where('FolderSync Count is the number of changes'));
      for (const c of changes) count(`FolderSync ${key === '0' ? 'reset ' : ''}${c.kind}`);
    }
    const syncKey = childText(root, 'SyncKey', NS);
    return { status, ...(syncKey === undefined ? {} : { syncKey }), changes };
  }

  async command(d: SimDevice, cmd: 'FolderCreate' | 'FolderUpdate' | 'FolderDelete', ...parts: ReturnType<typeof el>[]) {
    const res = await d.client.post(cmd, el(NS, cmd, parts));
    assert.equal(res.status, 200, this.where(`${cmd} HTTP status`));
    const root = res.wbxml!;
    count(`${cmd} ${childText(root, 'Status', NS)}`);
    return { status: Number(childText(root, 'Status', NS)), syncKey: childText(root, 'SyncKey', NS), serverId: childText(root, 'ServerId', NS) };
  }
}
