/**
 * Runs Ping model operations (ops.ts) against a real easd server, two devices of one user and a
 * second user, and checks every Sync and every Ping against a model of what each device is owed
 * (what is checked is listed in ../ping-model.test.ts).
 */
import assert from 'node:assert/strict';
import { heldConnectionsOf } from '../../../src/http/server.ts';
import type { JsonObject, Store, User } from '../../../src/store/types.ts';
import { child, childText, children, el, text, type WbxmlElement } from '../../../src/wbxml/index.ts';
import { contactData, Device } from '../../e2e/device.ts';
import type { EasResponse } from '../../helpers/eas-client.ts';
import type { TestServer } from '../../helpers/server.ts';
import { PLACES, WATCHABLE, type ChangeOp, type Op, type PingPath, type Place, type Watchable } from './ops.ts';

export const PASSWORD = 'pw-ping-model-1234';
const DAY = 86_400_000;

/** A live item; `old`: outside every FilterType window (dated 400 days ago). */
type MItem = { serverId: string; id: string; version: number; old: boolean };
/** What a device was sent of one folder: the window it synced with, and ServerId -> version. */
type Synced = { filterType: number; held: Map<string, number> };
type Owed = { adds: string[]; changes: string[]; deletes: string[] };
type SimDevice = { device: Device; synced: Map<Watchable, Synced> };

const sorted = (xs: Iterable<string>) => [...xs].sort();
/** What the runs exercised, over the process ("held, not woken by put old inbox", ...). */
export const stats = new Map<string, number>();
const count = (what: string) => stats.set(what, (stats.get(what) ?? 0) + 1);
const describeOp = (c: ChangeOp) =>
  c.k === 'put' ? `put${c.old ? ' old' : ''} ${c.at}` : c.k === 'update' || c.k === 'delete' ? `${c.k} ${c.at}` : c.k === 'own' ? `own ${c.f === 'contacts' ? c.what : 'delete'} ${c.f}` : c.k === 'sync' ? `sync${c.partial ? ' partial' : ''} ${c.f}` : c.k;
const iso = (ms: number) => new Date(ms).toISOString();

export class PingWorld {
  readonly items = Object.fromEntries(Object.keys(PLACES).map((p) => [p, new Map<string, MItem>()])) as Record<Place, Map<string, MItem>>;
  readonly folderIds = {} as Record<Place, string>;
  readonly devices: SimDevice[];
  step = -1;
  op: Op | undefined;
  #n = 0;

  constructor(
    readonly srv: TestServer,
    readonly user: User,
    readonly other: User,
  ) {
    this.devices = [0, 1].map((i) => ({
      device: new Device({ url: srv.url, user: user.email, password: PASSWORD, deviceId: `PM${i}`, deviceType: 'ModelPhone', version: '14.1' }),
      synced: new Map(),
    }));
  }

  get store(): Store {
    return this.srv.store;
  }
  where(what: string): string {
    return `${what} (step ${this.step}: ${JSON.stringify(this.op ?? 'start')})`;
  }

  /**
   * `filters[3 * d + k]`: whether device d first synced WATCHABLE[k] with a FilterType (null:
   * not synced before the operations start).
   */
  async run(ops: readonly Op[], filters: readonly (boolean | null)[] = []): Promise<void> {
    for (const d of this.devices) assert.equal((await d.device.folderSync()).status, 1);
    const mine = await this.store.listFolders(this.user.id);
    for (const p of Object.keys(PLACES) as Place[]) if (p !== 'other') this.folderIds[p] = mine.find((f) => f.type === PLACES[p].type)!.id;
    const theirs = await this.store.createFolder({ userId: this.other.id, parentId: null, displayName: 'Inbox', type: 2, serverId: 'inbox' });
    this.folderIds.other = theirs.id;
    for (const [i, filter] of filters.entries()) {
      if (filter !== null) await this.sync(Math.floor(i / 3), WATCHABLE[i % 3]!, filter, false);
    }
    for (const [i, op] of ops.entries()) {
      this.step = i;
      this.op = op;
      if (op.k === 'ping') await this.ping(op);
      else await this.change(op);
    }
  }

  // -------------------------------------------------------------- expectations

  inWindow(s: Synced, item: MItem): boolean {
    return s.filterType === 0 || !item.old;
  }

  /** What the next Sync of `f` must send device `d`. */
  owed(d: number, f: Watchable): Owed {
    const s = this.devices[d]!.synced.get(f)!;
    const live = this.items[f];
    const out: Owed = { adds: [], changes: [], deletes: [] };
    for (const item of live.values()) {
      if (!this.inWindow(s, item)) continue;
      const had = s.held.get(item.serverId);
      if (had === undefined) out.adds.push(item.serverId);
      else if (had !== item.version) out.changes.push(item.serverId);
    }
    for (const sid of s.held.keys()) if (!live.has(sid)) out.deletes.push(sid);
    return { adds: sorted(out.adds), changes: sorted(out.changes), deletes: sorted(out.deletes) };
  }

  relevant(d: number, f: Watchable): boolean {
    return Object.values(this.owed(d, f)).some((list) => list.length > 0);
  }

  /** After a Sync, the device has every live item of its window at its current version. */
  caughtUp(d: number, f: Watchable): void {
    const s = this.devices[d]!.synced.get(f)!;
    s.held = new Map([...this.items[f].values()].filter((i) => this.inWindow(s, i)).map((i) => [i.serverId, i.version]));
  }

  // -------------------------------------------------------------- operations

  data(at: Place, old: boolean, label: string): JsonObject {
    const now = Date.now();
    switch (PLACES[at].cls) {
      case 'Email':
        return { subject: label, from: 'Carol <carol@example.org>', to: this.user.email, read: false, dateReceived: iso(old ? now - 400 * DAY : now - 3_600_000) };
      case 'Calendar': {
        const start = old ? now - 400 * DAY : now + DAY;
        return { subject: label, startTime: iso(start), endTime: iso(start + 3_600_000) };
      }
      case 'Contacts':
        return { firstName: label, lastName: 'Model', fileAs: `Model, ${label}` };
      default:
        return { subject: label };
    }
  }

  owner(at: Place): string {
    return at === 'other' ? this.other.id : this.user.id;
  }

  async change(op: ChangeOp): Promise<void> {
    switch (op.k) {
      case 'put': {
        const old = op.old && (PLACES[op.at].cls === 'Email' || PLACES[op.at].cls === 'Calendar');
        const label = `item${++this.#n}`;
        const item = await this.store.putItem({ userId: this.owner(op.at), folderId: this.folderIds[op.at], class: PLACES[op.at].cls, data: this.data(op.at, old, label) });
        this.items[op.at].set(item.serverId, { serverId: item.serverId, id: item.id, version: 0, old });
        return;
      }
      case 'update':
      case 'delete': {
        const list = [...this.items[op.at].values()];
        if (list.length === 0) return;
        const item = list[op.i % list.length]!;
        if (op.k === 'delete') {
          await this.store.deleteItem(this.owner(op.at), item.id);
          this.items[op.at].delete(item.serverId);
        } else {
          await this.store.updateItem(this.owner(op.at), item.id, { data: this.data(op.at, item.old, `item${++this.#n}`) });
          item.version++;
        }
        return;
      }
      case 'folder':
        await this.store.createFolder({ userId: this.user.id, parentId: null, displayName: `Folder ${++this.#n}`, type: 12 });
        return;
      case 'sync':
        return this.sync(op.d, op.f, op.filter, op.reset, op.partial);
      case 'own':
        return this.own(op);
    }
  }

  /** Syncs until MoreAvailable is gone; every command received, by kind. */
  async syncAll(d: number, f: Watchable, commands: WbxmlElement[] = []): Promise<Owed & { softDeletes: string[]; responses: WbxmlElement[] }> {
    const got = { adds: [] as string[], changes: [] as string[], deletes: [] as string[], softDeletes: [] as string[], responses: [] as WbxmlElement[] };
    for (let round = 0; ; round++) {
      assert.ok(round < 100, this.where('MoreAvailable ends'));
      const r = await this.devices[d]!.device.sync(f, round === 0 ? { commands } : {});
      assert.equal(r.status, 1, this.where(`Sync of ${f} by device ${d}: Status`));
      got.adds.push(...r.adds.map((x) => x.serverId));
      got.changes.push(...r.changes.map((x) => x.serverId));
      got.deletes.push(...r.deletes);
      got.softDeletes.push(...r.softDeletes);
      got.responses.push(...r.responses);
      if (!r.moreAvailable) break;
    }
    return { ...got, adds: sorted(got.adds), changes: sorted(got.changes), deletes: sorted(got.deletes) };
  }

  checkSync(d: number, f: Watchable, expected: Owed, { adds, changes, deletes, softDeletes }: Owed & { softDeletes: string[] }): void {
    assert.deepEqual({ adds, changes, deletes, softDeletes }, { ...expected, softDeletes: [] }, this.where(`Sync of ${f} by device ${d} sends what the device is owed`));
  }

  async sync(d: number, f: Watchable, filter: boolean, reset: boolean, partial = false): Promise<void> {
    const sim = this.devices[d]!;
    if (!sim.synced.has(f) || reset) {
      const filterType = filter ? (PLACES[f].filterType ?? 0) : 0;
      const view = sim.device.view(f);
      view.syncKey = '0';
      view.items.clear();
      const first = await sim.device.sync(f, filterType ? { options: [el('AirSync', 'FilterType', filterType)] } : {});
      assert.equal(first.status, 1, this.where(`SyncKey 0 of ${f} by device ${d}`));
      sim.synced.set(f, { filterType, held: new Map() });
    }
    const expected = this.owed(d, f);
    if (!partial) {
      this.checkSync(d, f, expected, await this.syncAll(d, f));
      return this.caughtUp(d, f);
    }
    const r = await sim.device.sync(f, { windowSize: 1 });
    assert.equal(r.status, 1, this.where(`Sync of ${f} by device ${d}: Status`));
    const got = { adds: sorted(r.adds.map((x) => x.serverId)), changes: sorted(r.changes.map((x) => x.serverId)), deletes: sorted(r.deletes), softDeletes: r.softDeletes };
    count(r.moreAvailable ? 'Sync with WindowSize 1 left more' : 'Sync with WindowSize 1 sent all');
    if (!r.moreAvailable) return this.checkSync(d, f, expected, got), this.caughtUp(d, f);
    const sent = got.adds.length + got.changes.length + got.deletes.length + got.softDeletes.length;
    const owedOnly = (k: keyof Owed) => got[k].every((sid) => expected[k].includes(sid));
    assert.ok(sent <= 1 && got.softDeletes.length === 0 && owedOnly('adds') && owedOnly('changes') && owedOnly('deletes'), this.where(`Sync of ${f} by device ${d} with WindowSize 1 sends one thing owed: ${JSON.stringify(got)}, owed ${JSON.stringify(expected)}`));
    const held = sim.synced.get(f)!.held;
    for (const sid of [...got.adds, ...got.changes]) held.set(sid, this.items[f].get(sid)!.version);
    for (const sid of got.deletes) held.delete(sid);
  }

  /** The device's own write through Sync: a Contacts Add/Change/Delete, or a Delete elsewhere. */
  async own(op: Extract<ChangeOp, { k: 'own' }>): Promise<void> {
    const s = this.devices[op.d]!.synced.get(op.f);
    if (!s) return;
    const what = op.f === 'contacts' ? op.what : 'delete';
    const current = [...this.items[op.f].values()].filter((i) => s.held.get(i.serverId) === i.version);
    const target = current.length ? current[op.i % current.length]! : undefined;
    if (what !== 'add' && !target) return;
    const label = `own${++this.#n}`;
    const command =
      what === 'add'
        ? el('AirSync', 'Add', el('AirSync', 'ClientId', label), contactData(label, 'Model'))
        : what === 'change'
          ? el('AirSync', 'Change', el('AirSync', 'ServerId', target!.serverId), contactData(label, 'Model'))
          : el('AirSync', 'Delete', el('AirSync', 'ServerId', target!.serverId));
    const expected = this.owed(op.d, op.f);
    const got = await this.syncAll(op.d, op.f, [command]);
    this.checkSync(op.d, op.f, expected, got);
    if (what === 'add') {
      const r = got.responses.find((x) => x.name === 'Add');
      assert.equal(r && childText(r, 'Status', 'AirSync'), '1', this.where('the Add is accepted'));
      const item = (await this.store.getItemByServerId(this.user.id, childText(r!, 'ServerId', 'AirSync')!))!;
      this.items.contacts.set(item.serverId, { serverId: item.serverId, id: item.id, version: 0, old: false });
    } else {
      assert.deepEqual(got.responses.map((x) => `${x.name} ${childText(x, 'Status', 'AirSync')}`).filter((x) => !x.endsWith(' 1')), [], this.where(`the ${what} is accepted`));
      if (what === 'change') target!.version++;
      else this.items[op.f].delete(target!.serverId);
    }
    this.caughtUp(op.d, op.f);
  }

  // -------------------------------------------------------------- Ping

  async ping(op: Extract<Op, { k: 'ping' }>): Promise<void> {
    const sim = this.devices[op.d]!;
    const synced = WATCHABLE.filter((f) => sim.synced.has(f));
    if (synced.length === 0) return;
    let watched = synced.filter((f) => op.mask & (1 << WATCHABLE.indexOf(f)));
    if (watched.length === 0) watched = [synced[op.mask % synced.length]!];
    const owedNow = () => watched.filter((f) => this.relevant(op.d, f));
    const connections = heldConnectionsOf(this.srv.app)!;
    const detachedBefore = connections.detached;
    const answer = new PendingPing(sim.device.client.post('Ping', pingBody(watched)));
    const expectAnswer = async (owed: Watchable[], why: string) => {
      const res = await answer.wait(this.where(`the Ping of ${watched.join(', ')} is answered ${why}`));
      assert.deepEqual(pingAnswer(res), { status: 2, folders: sorted(owed) }, this.where(`the Ping of ${watched.join(', ')} by device ${op.d} ${why}: Status 2 naming the folders owed something`));
    };

    const owed = owedNow();
    const went = (path: PingPath) => assert.ok(!op.path || op.path === path, this.where(`the scenario means the Ping to be answered ${op.path}, not ${path}`));
    if (owed.length > 0) {
      went('at once');
      count('Ping answered at once');
      await expectAnswer(owed, 'at once');
      for (const c of op.during) await this.change(c);
      return;
    }
    // Held: wait until it is parked (its connection detached), or answered.
    for (let i = 0; i < 3000 && connections.detached <= detachedBefore && !answer.settled; i++) await new Promise((r) => setTimeout(r, 10));
    if (answer.settled) assert.fail(this.where(`the Ping of ${watched.join(', ')} by device ${op.d}, with nothing owed, answered at once: ${JSON.stringify(pingAnswer(await answer.wait('')))}`));
    for (const [i, c] of op.during.entries()) {
      // Made by the store, the other user or the other device: the pinging device is waiting.
      const made = 'd' in c ? { ...c, d: 1 - op.d } : c;
      await this.change(made);
      const now = owedNow();
      if (now.length > 0) {
        went('during');
        count(`Ping woken by ${describeOp(made)}`);
        await expectAnswer(now, `after ${JSON.stringify(made)}`);
        for (const later of op.during.slice(i + 1)) await this.change(later);
        return;
      }
      count(`Ping held through ${describeOp(made)}${'f' in made || 'at' in made ? (watched.includes(('f' in made ? made.f : made.at) as Watchable) ? ' (watched)' : ' (unwatched)') : ''}`);
      if (answer.settled) assert.fail(this.where(`the Ping of ${watched.join(', ')} by device ${op.d} woken by ${JSON.stringify(made)}, which owes it nothing: ${JSON.stringify(pingAnswer(await answer.wait('')))}`));
    }
    went('final');
    count('Ping woken by the final put');
    const wake = watched[op.wake % watched.length]!;
    await this.change({ k: 'put', at: wake, old: false });
    await expectAnswer(owedNow(), `after a new item in ${wake}`);
  }
}

function pingBody(folders: readonly Watchable[]): WbxmlElement {
  return el(
    'Ping',
    'Ping',
    el('Ping', 'HeartbeatInterval', 600),
    el('Ping', 'Folders', folders.map((f) => el('Ping', 'Folder', el('Ping', 'Id', f), el('Ping', 'Class', PLACES[f].cls)))),
  );
}

function pingAnswer(res: EasResponse): { status: number; folders: string[] } {
  assert.equal(res.status, 200, 'Ping HTTP status');
  const root = res.wbxml!;
  const folders = child(root, 'Folders', 'Ping');
  return { status: Number(childText(root, 'Status', 'Ping')), folders: sorted(folders ? children(folders, 'Folder', 'Ping').map((f) => text(f) ?? '') : []) };
}

/** A Ping in flight: whether it is answered yet, and its answer (a generous bound, never a timing assertion). */
class PendingPing {
  settled = false;
  readonly #done: Promise<EasResponse>;
  constructor(sent: Promise<EasResponse>) {
    this.#done = sent.finally(() => (this.settled = true));
    this.#done.catch(() => {});
  }
  async wait(what: string): Promise<EasResponse> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within 60 s: ${what}`)), 60_000)));
    try {
      return await Promise.race([this.#done, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
