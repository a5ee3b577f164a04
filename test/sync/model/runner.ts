/**
 * Runs operation sequences of the sync model test against a real easd server (HTTP on loopback,
 * SQLite or PostgreSQL) and checks the devices against the model after every step:
 *   1, 2, 6 in the device (sim-device.ts) on every response;
 *   3 after every response that ends a folder's feed (no MoreAvailable), and for every folder of
 *     every device at the end of the run, after paging to the end: the device holds exactly the
 *     model's live items of the folder inside its FilterType window, with the same fields (so a
 *     device whose Change the server took only in part has been sent the server's version);
 *   4 a request whose answer was lost and that is sent again gets the same answer;
 *   5 GetItemEstimate says how many commands the next Sync sends.
 * One server per backend serves every run; each run has a user, devices and a clock of its own:
 * Date is mocked (node:test mock.timers, apis ['Date']) from the run's start, and since the
 * server runs in this process its Date.now() is the model's clock; `tick` moves it by whole days
 * (the engine looks for aged-out items once a day) and writes to the store, so no device is
 * answered from the quiet-repeat memory, which does not look at windows (src/commands/sync.ts).
 */
import { mock } from 'node:test';
import { hashPassword } from '../../../src/auth/password.ts';
import { DeviceManager } from '../../../src/devices/manager.ts';
import { PROTECTION_OFF } from '../../../src/devices/protection.ts';
import type { Store, User } from '../../../src/store/types.ts';
import type { WbxmlElement } from '../../../src/wbxml/index.ts';
import { ensureDefaultFolders } from '../../helpers/default-folders.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { answerShape, prepare, updateModel, type Exchange } from './exchange.ts';
import { FILTERS, FOLDER_CLASS, FOLDER_TYPE, FOLDERS, HOME, Model, newItemData, inWindow, fieldsCompared, type FolderKind } from './model.ts';
import type { Op, SyncOp } from './ops.ts';
import { fail, ModelFailure, SimDevice } from './sim-device.ts';

const PASSWORD = 'model-password-1';
type Answer = { top?: number; collection?: WbxmlElement };
const OTHER = 'other-user@example.com';
const RealDate = Date;

export interface ModelEnv {
  backend: 'sqlite' | 'postgres';
  server: TestServer;
  manager: DeviceManager;
  other: User;
  otherInbox: string;
  /** Every ServerId of the other user (invariant 6). */
  otherIds: Set<string>;
  passwordHash: string;
  runs: number;
}

export async function startModelEnv(backend: 'sqlite' | 'postgres'): Promise<ModelEnv> {
  let manager: DeviceManager | undefined;
  const server = await startTestServer({
    backend,
    logLevel: 'error',
    users: [{ email: OTHER, password: PASSWORD }],
    // No throttling or loop detection: retries and repeats must reach the engine. Views are not
    // cached, so a quarantine applies to the device's next request; the other user is the admin.
    config: { protection: PROTECTION_OFF },
    services: (store, _, mailboxes) => ({ devices: (manager = new DeviceManager(store, mailboxes, { adminEmail: OTHER, cacheTtlMs: 0, requireProvisioning: false })) }),
  });
  const other = server.users.get(OTHER)!;
  const folders = await ensureDefaultFolders(server.store, other.id);
  return { backend, server, manager: manager!, other, otherInbox: folders.find((f) => f.type === 2)!.id, otherIds: new Set(), passwordHash: await hashPassword(PASSWORD), runs: 0 };
}

export interface RunOptions {
  devices?: number;
  /** Mock Date (time passing); without it `tick` ops only write. */
  time?: boolean;
  /** Called with each step before it runs (for tracing a replay). */
  trace?: (step: number, op: Op) => void;
}

export interface RunStats {
  steps: number;
  requests: number;
  /** How many times each check ran: view (invariant 3), retry (4), estimate (5), and the rarer ops. */
  checks: Record<string, number>;
}

class Run {
  readonly model: Model;
  readonly devices: SimDevice[] = [];
  requests = 0;
  readonly checks: Record<string, number> = { view: 0, retry: 0, estimate: 0, concurrent: 0, quarantine: 0, tick: 0, moveItems: 0, reset: 0 };
  private folderIds = new Map<FolderKind, string>();

  constructor(
    readonly env: ModelEnv,
    readonly user: User,
    now: number,
  ) {
    this.model = new Model(now);
  }

  get store(): Store {
    return this.env.server.store;
  }

  ours = (serverId: string) => this.model.everServerIds.has(serverId) && !this.env.otherIds.has(serverId);

  async folderIdOf(kind: FolderKind): Promise<string> {
    if (!this.folderIds.size) for (const f of await this.store.listFolders(this.user.id)) for (const k of FOLDERS) if (FOLDER_TYPE[k] === f.type) this.folderIds.set(k, f.id);
    return this.folderIds.get(kind)!;
  }

  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const d = new SimDevice(this.env.server.url, this.user.email, PASSWORD, `MD${i}`, this.ours);
      if ((await d.folderSync()) !== 1) fail(`${d.id}: first FolderSync failed`);
      this.requests++;
      for (const k of FOLDERS) d.folderId(k);
      this.devices.push(d);
    }
  }

  dev(i: number): SimDevice {
    return this.devices[i % this.devices.length]!;
  }

  /** Finds the ServerIds of items a device's Delete moved to Deleted Items (new ServerIds the answer does not give). */
  async resolve(): Promise<void> {
    const pending = this.model.unresolved();
    if (!pending.length) return;
    const live = (await this.store.listChangesSince(this.user.id, await this.folderIdOf('trash'), 0, 10_000)).filter((i) => !i.deleted && !this.model.everServerIds.has(i.serverId));
    for (const item of pending) {
      const name = item.fields.Subject ?? item.fields.FileAs;
      const found = live.findIndex((s) => (s.data.subject ?? s.data.fileAs) === name);
      if (found < 0) fail(`the item ${item.tag} ("${name}") a device deleted is not in Deleted Items`);
      this.model.setServerId(item, live[found]!.serverId);
      live.splice(found, 1);
    }
  }

  /** Invariant 3 for one folder of a device whose last answer ended the feed. */
  checkView(d: SimDevice, folder: FolderKind): void {
    const c = d.col(folder);
    const where = `invariant 3: ${d.id} ${folder} (FilterType ${c.filter})`;
    const expected = this.model.expected(folder, c.filter);
    this.checks.view!++;
    if (d.quarantined) {
      // A quarantined device is shown only its own notice (src/devices/quarantine.ts); one that
      // aged out of the window while it was shown may stay.
      for (const sid of c.items.keys()) if (this.model.byServerId(sid)?.noticeFor !== d.id) fail(`${where}: a quarantined device holds ${sid}, not its notice`);
      for (const [sid, item] of expected) if (item.noticeFor === d.id && !c.items.has(sid)) fail(`${where}: a quarantined device lacks its notice ${sid}`);
      return;
    }
    const missing = [...expected.keys()].filter((s) => !c.items.has(s));
    const extra = [...c.items.keys()].filter((s) => !expected.has(s));
    const describe = (s: string) => {
      const m = this.model.byServerId(s);
      return m ? `${s} (${m.tag} in ${m.folder}${m.folder === folder && !inWindow(m, folder, c.filter, this.model.now) ? ', outside the window' : ''})` : `${s} (not live)`;
    };
    if (missing.length || extra.length) fail(`${where}: the device lacks [${missing.map(describe).join(', ')}] and has [${extra.map(describe).join(', ')}] that it should not`);
    for (const [sid, item] of expected) {
      if (!fieldsCompared(item, folder)) continue;
      const have = c.items.get(sid)!;
      if (JSON.stringify(have, Object.keys(item.fields).sort()) !== JSON.stringify(item.fields, Object.keys(item.fields).sort())) {
        fail(`${where}: ${sid} (${item.tag}) shows ${JSON.stringify(have)}, the server has ${JSON.stringify(item.fields)}`);
      }
    }
  }

  /** Sends an exchange's request (twice when its answer is lost: invariant 4). */
  async send(ex: Exchange, lost: boolean): Promise<Answer> {
    this.requests++;
    const first = await ex.dev.post(ex.folder, ex.body);
    if (!lost) return first;
    this.requests++;
    this.checks.retry!++;
    // A retry comes a little later: what the server fills in from its clock (a completed task's
    // DateCompleted) must not make the same request a different one.
    this.later();
    const again = await ex.dev.post(ex.folder, ex.body);
    if (answerShape(first) !== answerShape(again)) {
      fail(`invariant 4: ${ex.dev.id} ${ex.folder}: the retry with the same SyncKey got another answer.\n first: ${answerShape(first)}\n retry: ${answerShape(again)}`);
    }
    return again;
  }

  /** A second passes (mocked Date, when time is on): far from every window's edge (model.ts AGES). */
  later(): void {
    if (!this.time) return;
    this.model.now += 1000;
    mock.timers.setTime(this.model.now);
  }

  canSync(d: SimDevice, folder: FolderKind): boolean {
    return !d.quarantined || folder === 'inbox';
  }

  /** One Sync op: request, model, device; invariant 3 when the feed ended. Returns the number of commands sent. */
  async sync(op: SyncOp): Promise<number> {
    const d = this.dev(op.dev);
    if (!this.canSync(d, op.folder)) return 0;
    if (d.col(op.folder).key === '0') {
      // A collection the device has not synced yet: SyncKey 0 first, then the request (as a phone does).
      const first = prepare(this.model, d, { ...op, cmds: [] }, this.foreign());
      await this.finish(first, await this.send(first, false), true);
    }
    const ex = prepare(this.model, d, op, this.foreign());
    // SyncKey 0 is not retried as the same request: each one starts the collection over (a new key).
    const res = await this.send(ex, op.lost === true && !ex.initial);
    return this.finish(ex, res, true);
  }

  /** The other user's live ServerIds, newest first (a device may name one: it must be Status 8 and change nothing). */
  foreign(): string[] {
    return [...this.env.otherIds].reverse().slice(0, 5);
  }

  async finish(ex: Exchange, res: Answer, check: boolean): Promise<number> {
    await this.learn(ex, res);
    await this.resolve();
    return this.applyAnswer(ex, res, check);
  }

  /** What an answer says the request did to the mailbox, into the model. */
  async learn(ex: Exchange, res: Answer): Promise<void> {
    const where = `${ex.dev.id} ${ex.folder}`;
    if (res.top !== undefined) fail(`${where}: Sync answered Status ${res.top}`);
    updateModel(this.model, ex, res.collection);
    for (const sid of ex.foreign) {
      if (!(await this.store.getItemByServerId(this.env.other.id, sid))) fail(`invariant 6: ${where}: a Delete of the other user's ${sid} removed it`);
    }
  }

  /** The device takes the answer (invariants 1, 2, 6), then invariant 3 if the feed ended. */
  applyAnswer(ex: Exchange, res: Answer, check: boolean): number {
    const where = `${ex.dev.id} ${ex.folder}`;
    const applied = ex.dev.apply(ex.folder, res.collection, ex.addFields);
    if (applied.status !== 1) fail(`${where}: collection Status ${applied.status}`);
    if (ex.initial && applied.commands.length) fail(`${where}: the SyncKey 0 answer carries commands`);
    if (check && !ex.initial && !applied.moreAvailable) this.checkView(ex.dev, ex.folder);
    return applied.commands.length;
  }

  /** The device syncs a folder to the end (SyncKey 0 first if needed), checking invariant 3. */
  async drain(d: SimDevice, folder: FolderKind): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await this.sync({ t: 'sync', dev: this.devices.indexOf(d), folder, window: 512 });
      if (d.col(folder).atEnd) return;
    }
    fail(`${d.id} ${folder}: MoreAvailable never ended`);
  }

  async step(op: Op): Promise<void> {
    const { model, store, user } = this;
    const live = () => model.items.filter((i) => i.serverId);
    switch (op.t) {
      case 'put': {
        const folder = op.folder === 'trash' ? 'inbox' : op.folder;
        const cls = FOLDER_CLASS[folder];
        for (let n = 0; n < (op.n ?? 1); n++) {
          const { data, item } = newItemData(model, cls, op.age + n * 3, { read: op.flag, complete: op.flag && n % 2 === 0 });
          const stored = await store.putItem({ userId: user.id, folderId: await this.folderIdOf(folder), class: cls, data });
          model.add({ ...item, serverId: stored.serverId });
        }
        return;
      }
      case 'putOther':
        return this.putOther();
      case 'update': {
        const items = live();
        if (!items.length) return;
        const item = items[op.pick % items.length]!;
        const stored = (await store.getItemByServerId(user.id, item.serverId!)) ?? fail(`model item ${item.tag} (${item.serverId}) is not in the store`);
        const data = { ...stored.data };
        const v = model.newVersion();
        const name = (base: string) => `${base} #${item.tag} ${v}`;
        if (item.cls === 'Email' && op.how % 2 === 0) data.read = !(data.read === true);
        else if (item.cls === 'Email') data.subject = name('Mail');
        else if (item.cls === 'Contacts') Object.assign(data, { fileAs: name('Contact'), firstName: `F${item.tag}${v}` });
        else if (item.cls === 'Calendar' && op.how === 2) {
          // Rescheduled: a new date, maybe outside a device's window.
          const end = model.now - ((op.pick * 7) % 40) * 86_400_000 - 3600_000 * 5 - 7 * 60_000;
          Object.assign(data, { startTime: new RealDate(end - 3600_000).toISOString(), endTime: new RealDate(end).toISOString() });
          item.date = end;
        } else if (item.cls === 'Calendar') data.subject = name('Event');
        else if (item.cls === 'Tasks' && op.how % 2 === 0) {
          data.complete = !(data.complete === true);
          if (data.complete) data.dateCompleted = new Date(model.now).toISOString();
          else delete data.dateCompleted;
        } else data.subject = name('Task');
        await store.updateItem(user.id, stored.id, { data });
        if (item.cls === 'Email') item.fields = { Subject: String(data.subject), Read: data.read === true ? '1' : '0' };
        if (item.cls === 'Contacts') item.fields = { FileAs: String(data.fileAs), FirstName: String(data.firstName) };
        if (item.cls === 'Calendar') item.fields = { Subject: String(data.subject) };
        if (item.cls === 'Tasks') {
          item.fields = { Subject: String(data.subject), Complete: data.complete === true ? '1' : '0' };
          item.complete = data.complete === true;
        }
        return;
      }
      case 'delete': {
        const items = live();
        if (!items.length) return;
        const item = items[op.pick % items.length]!;
        await store.deleteItem(user.id, (await store.getItemByServerId(user.id, item.serverId!))!.id);
        model.remove(item);
        return;
      }
      case 'move': {
        const items = live();
        if (!items.length) return;
        const item = items[op.pick % items.length]!;
        const to = item.folder === 'trash' ? HOME[item.cls]! : 'trash';
        const moved = await store.moveItem(user.id, (await store.getItemByServerId(user.id, item.serverId!))!.id, await this.folderIdOf(to));
        model.move(item, to, moved.serverId);
        return;
      }
      case 'sync':
        await this.sync(op);
        return;
      case 'both':
        return this.both(op.a, op.b);
      case 'moveItems':
        return this.moveItems(op.dev, op.folder, op.pick, op.lost === true);
      case 'reset': {
        const d = this.dev(op.dev);
        if (!this.canSync(d, op.folder)) return;
        const filter = op.filter === undefined ? d.col(op.folder).filter : FILTERS[op.folder][op.filter % FILTERS[op.folder].length]!;
        this.checks.reset!++;
        d.forget(op.folder);
        d.col(op.folder).filter = filter;
        await this.sync({ t: 'sync', dev: op.dev, folder: op.folder, window: op.window ?? 1 });
        return;
      }
      case 'estimate':
        return this.estimate(op.dev, op.folder);
      case 'tick':
        return this.tick(op.days);
      case 'quarantine':
        return this.quarantine(op.dev, op.on);
    }
  }

  async putOther(): Promise<void> {
    const other = await this.store.putItem({ userId: this.env.other.id, folderId: this.env.otherInbox, class: 'Email', data: { subject: `OTHER user's mail ${this.env.otherIds.size}`, from: 'x@example.org', read: false, dateReceived: new Date(this.model.now).toISOString() } });
    this.env.otherIds.add(other.serverId);
  }

  /** Two devices sync at once; their commands touch different folders (which one wins a race is not the model's to know). */
  async both(a: SyncOp, b: SyncOp): Promise<void> {
    const da = this.dev(a.dev);
    const bDev = (a.dev % this.devices.length) === (b.dev % this.devices.length) ? a.dev + 1 : b.dev;
    const db = this.dev(bDev);
    const opB: SyncOp = { ...b, dev: bDev, lost: false, ...(b.folder === a.folder ? { cmds: [] } : {}) };
    const opA: SyncOp = { ...a, lost: false };
    const ok = [this.canSync(da, opA.folder), this.canSync(db, opB.folder)];
    const exA = ok[0] ? prepare(this.model, da, opA, this.foreign()) : undefined;
    const exB = ok[1] ? prepare(this.model, db, opB, this.foreign()) : undefined;
    const [ra, rb] = await Promise.all([exA ? this.send(exA, false) : undefined, exB ? this.send(exB, false) : undefined]);
    // The model learns what both did before either device takes its answer (one answer may
    // carry the other's write, a Delete's item in Deleted Items, say); the views are checked at
    // the next Sync of each (an answer may also predate the other device's write).
    this.checks.concurrent!++;
    if (exA && ra) await this.learn(exA, ra);
    if (exB && rb) await this.learn(exB, rb);
    await this.resolve();
    if (exA && ra) this.applyAnswer(exA, ra, false);
    if (exB && rb) this.applyAnswer(exB, rb, false);
  }

  /** Moves made by MoveItems: "device serverId from to" -> DstMsgId (src/commands/moves-done.ts). */
  readonly movesDone = new Map<string, string>();

  async moveItems(devIndex: number, folder: FolderKind, pick: number, lost = false): Promise<void> {
    const d = this.dev(devIndex);
    if (d.quarantined) return;
    const held = [...d.col(folder).items.keys()];
    if (!held.length) return;
    const serverId = held[pick % held.length]!;
    const to: FolderKind = folder === 'trash' ? 'inbox' : 'trash';
    this.requests++;
    this.checks.moveItems!++;
    let r = await d.moveItem(serverId, folder, to);
    if (lost) {
      // The response is lost and the same MoveItems sent again: the same answer, one move.
      this.requests++;
      this.checks.retry!++;
      this.later();
      const again = await d.moveItem(serverId, folder, to);
      if (JSON.stringify(again) !== JSON.stringify(r)) fail(`invariant 4: ${d.id}: MoveItems of ${serverId} from ${folder} to ${to} sent again answered ${JSON.stringify(again)}, the first time ${JSON.stringify(r)}`);
      r = again;
    }
    const item = this.model.in(folder).find((i) => i.serverId === serverId);
    // The same Move this device made before (it still shows the item where it was) is answered
    // as that one was while the moved copy is still there: a retry cannot be told from it.
    const doneKey = `${d.id} ${serverId} ${folder} ${to}`;
    const before = this.movesDone.get(doneKey);
    const again = !item && before !== undefined && this.model.in(to).some((i) => i.serverId === before);
    const want = again ? 3 : !item ? 1 : to === 'trash' || item.cls === 'Email' ? 3 : 2;
    if (r.status !== want) fail(`${d.id}: MoveItems of ${serverId} from ${folder} to ${to} answered ${r.status}, expected ${want}`);
    if (again && r.dstMsgId !== before) fail(`${d.id}: MoveItems of ${serverId} made again answered DstMsgId ${r.dstMsgId}, the first time ${before}`);
    // The device keeps its copy where it is: the Syncs of both folders tell it (a Delete, an Add).
    if (r.status === 3 && item) {
      this.model.move(item, to, r.dstMsgId ?? fail('MoveItems Status 3 without DstMsgId'));
      this.movesDone.set(doneKey, r.dstMsgId!);
    }
  }

  /** Invariant 5: GetItemEstimate, then a Sync with room for everything; nothing in between. */
  async estimate(devIndex: number, folder: FolderKind): Promise<void> {
    const d = this.dev(devIndex);
    if (!this.canSync(d, folder)) return;
    if (d.col(folder).key === '0') await this.sync({ t: 'sync', dev: devIndex, folder, window: 1 });
    this.requests++;
    const e = await d.estimate(folder);
    if (e.status !== 1 || e.estimate === undefined) fail(`${d.id} ${folder}: GetItemEstimate Status ${e.status}`);
    const sent = await this.sync({ t: 'sync', dev: devIndex, folder, window: 512 });
    this.checks.estimate!++;
    if (sent !== e.estimate) fail(`invariant 5: ${d.id} ${folder} (FilterType ${d.col(folder).filter}): GetItemEstimate said ${e.estimate}, the next Sync sent ${sent} commands`);
  }

  async tick(days: number): Promise<void> {
    if (this.time) {
      this.checks.tick!++;
      this.model.now += days * 86_400_000;
      mock.timers.setTime(this.model.now);
    }
    // A write, so no device gets a quiet repeat from memory (the engine looks at windows when it works an answer out).
    await this.putOther();
  }
  time = false;

  async quarantine(devIndex: number, on: boolean): Promise<void> {
    const d = this.dev(devIndex);
    if (d.quarantined === on) return;
    await this.env.manager.setAccess(this.user.id, d.id, on ? 'quarantine' : 'allow');
    this.requests += 2;
    this.checks.quarantine!++;
    const first = await d.folderSync();
    if (first !== 9) fail(`${d.id}: FolderSync after the admin ${on ? 'quarantined' : 'allowed'} it answered ${first}, not 9`);
    if (on) {
      // The notice (src/devices/manager.ts) is ordinary mail in the Inbox for the other devices.
      const inbox = await this.folderIdOf('inbox');
      for (const i of await this.store.listChangesSince(this.user.id, inbox, 0, 10_000)) {
        if (i.deleted || this.model.everServerIds.has(i.serverId) || i.data.quarantineNotice !== d.id) continue;
        this.model.add({ tag: this.model.newTag(), cls: 'Email', folder: 'inbox', serverId: i.serverId, fields: { Subject: String(i.data.subject), Read: i.data.read === true ? '1' : '0' }, date: new RealDate(String(i.data.dateReceived)).getTime(), noticeFor: d.id });
      }
      for (const i of await this.store.listChangesSince(this.env.other.id, this.env.otherInbox, 0, 100_000)) this.env.otherIds.add(i.serverId);
    }
    d.startOver();
    d.quarantined = on;
    if ((await d.folderSync()) !== 1) fail(`${d.id}: FolderSync from 0 failed`);
    const shown = [...d.folderIds.keys()].sort().join(',');
    const want = on ? 'inbox' : [...FOLDERS].sort().join(',');
    if (shown !== want) fail(`${d.id}: FolderSync shows [${shown}], expected [${want}]`);
  }
}

let runCounter = 0;

/** Runs one operation sequence on a fresh user; throws ModelFailure naming the step on a broken invariant. */
export async function runOps(env: ModelEnv, ops: readonly Op[], opts: RunOptions = {}): Promise<RunStats> {
  const time = opts.time ?? true;
  const now = RealDate.now();
  if (time) {
    mock.timers.reset();
    mock.timers.enable({ apis: ['Date'], now });
  }
  const email = `model-${env.backend}-${process.pid}-${++runCounter}@example.com`;
  const user = await env.server.store.createUser({ email, passwordHash: env.passwordHash, displayName: null });
  env.runs++;
  const run = new Run(env, user, now);
  run.time = time;
  let i = -1;
  try {
    await run.start(opts.devices ?? 3);
    for (i = 0; i < ops.length; i++) {
      opts.trace?.(i, ops[i]!);
      await run.step(ops[i]!);
    }
    i = ops.length;
    for (const d of run.devices) for (const f of FOLDERS) if (d.col(f).key !== '0' && run.canSync(d, f)) await run.drain(d, f);
    return { steps: ops.length, requests: run.requests, checks: run.checks };
  } catch (err) {
    const at = i < 0 ? 'setting up' : i < ops.length ? `step ${i} ${JSON.stringify(ops[i])}` : 'the final drain';
    if (err instanceof ModelFailure) throw new ModelFailure(`${at}: ${err.message}`);
    throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
  } finally {
    if (time) mock.timers.reset();
    await env.server.store.deleteUser(user.id).catch(() => {});
  }
}

export async function closeModelEnv(env: ModelEnv): Promise<void> {
  mock.timers.reset();
  await env.server.close();
}
