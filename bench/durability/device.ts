/**
 * A device of the durability check: the device simulator (test/e2e/device.ts) driven by a seeded
 * random walk of what phones do — initial sync and paging with WindowSize, client Adds with
 * ClientIds, Changes and Deletes of contacts, Read changes and Deletes of mail, MoveItems — and
 * behaving as a phone does when the server dies under it: a request cut by a kill is sent again
 * unchanged (the same SyncKey and the same commands, MS-ASCMD 2.2.3.166.4) once the server is
 * back, and a collection the server answers Status 3 (invalid SyncKey) starts again from 0.
 * Every write and what the server answered is written to the ledger.
 *
 * Each device writes only its own share of the mail (message number modulo the device count) and
 * its own contacts, so what the store must hold at the end follows from the ledger alone.
 */
import { AssertionError } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { contactData, Device, type SyncCollectionResult } from '../../test/e2e/device.ts';
import { numberOfSubject, type ContactRecord, type Ledger, type MailRecord } from './ledger.ts';
import type { Account, ServerControl } from './server.ts';

/** The folders a device syncs, by type: Inbox, Deleted Items, Contacts, the user's "Archive". */
export const SYNCED_TYPES = [2, 4, 9, 12] as const;
const M = 'Move';

export class DurableDevice {
  readonly dev: Device;
  readonly folder = new Map<number, string>();
  /** The message number of each mail ServerId the device was sent (from its Subject). */
  readonly numbers = new Map<string, number>();
  /** Mail this device has deleted or moved: not written again. */
  readonly done = new Set<number>();
  readonly own: ContactRecord[] = [];
  #adds = 0;

  constructor(
    readonly index: number,
    readonly deviceCount: number,
    account: Account,
    url: string,
    private readonly ctl: ServerControl,
    private readonly ledger: Ledger,
    private readonly rand: () => number,
  ) {
    this.dev = new Device({ url, user: account.email, password: account.password, deviceId: `DURABLE${index}`, deviceType: 'DurabilityPhone' });
  }

  /** Runs `fn` until it gets an answer; a request cut by a kill (a fetch error) is sent again once the server is up. */
  async retrying<T>(what: string, fn: () => Promise<T>): Promise<{ value: T; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      const up = await this.ctl.ready();
      try {
        const value = await fn();
        this.ctl.answered();
        return { value, attempts: attempt };
      } catch (err) {
        if (err instanceof AssertionError) throw err;
        if (attempt >= 400) throw new Error(`device ${this.index} ${what}: no answer after ${attempt} attempts: ${String(err)}`);
        this.ledger.counts.retries++;
        // Down: ready() waits for the next start. Up yet failing: a short pause, then again.
        if (this.ctl.isCurrent(up)) await sleep(Math.min(2000, 100 * attempt));
      }
    }
  }

  async setup(): Promise<void> {
    await this.folderSync();
    for (const type of SYNCED_TYPES) {
      const f = [...this.dev.folders.values()].find((x) => x.type === type || (type === 12 && x.displayName === 'Archive'));
      if (!f) throw new Error(`device ${this.index}: no folder of type ${type}`);
      this.folder.set(type, f.serverId);
    }
    for (const type of SYNCED_TYPES) await this.resync(this.folder.get(type)!);
  }

  async folderSync(): Promise<void> {
    this.ledger.counts.folderSyncs++;
    const { value } = await this.retrying('FolderSync', () => this.dev.folderSync());
    if (value.status === 9) {
      // MS-ASCMD 2.2.3.177.5: invalid key, the device starts the hierarchy again from 0.
      this.ledger.counts.resyncs++;
      this.dev.folderSyncKey = '0';
      this.dev.folders.clear();
      await this.retrying('FolderSync', () => this.dev.folderSync());
    } else if (value.status !== 1) this.ledger.finding(`device ${this.index}: FolderSync Status ${value.status}`);
  }

  /** One Sync of one collection, sent until answered; learns the message numbers of mail Adds. */
  async sync(collectionId: string, windowSize: number, commands: WbxmlElement[] = [], deletesAsMoves?: boolean): Promise<{ result?: SyncCollectionResult; attempts: number }> {
    this.ledger.counts.syncRequests++;
    try {
      const { value, attempts } = await this.retrying('Sync', () => this.dev.sync(collectionId, { windowSize, commands, ...(deletesAsMoves === undefined ? {} : { deletesAsMoves }) }));
      for (const a of value.adds) {
        const n = numberOfSubject(childText(a.appData, 'Subject', 'Email'));
        if (n !== undefined) this.numbers.set(a.serverId, n);
      }
      return { result: value, attempts };
    } catch (err) {
      // The simulator's own checks: an HTTP status other than 200, or an Add of an item the device holds (a duplicate).
      if (!(err instanceof AssertionError)) throw err;
      const text = `device ${this.index} Sync of ${collectionId}: ${err.message.split('\n')[0]}`;
      if (/which the device has/.test(err.message)) this.ledger.deviceDuplicates.push(text);
      else this.ledger.finding(text);
      return { attempts: 1 };
    }
  }

  /** SyncKey 0, then pages of WindowSize until MoreAvailable is gone (MS-ASCMD 2.2.3.113). */
  async resync(collectionId: string): Promise<void> {
    const v = this.dev.view(collectionId);
    v.syncKey = '0';
    v.items.clear();
    const first = await this.sync(collectionId, 5);
    if (first.result && first.result.status !== 1) this.ledger.finding(`device ${this.index}: SyncKey 0 of ${collectionId} answered Status ${first.result.status}`);
    await this.pages(collectionId);
  }

  /** Syncs until the server has nothing more for the collection. */
  async pages(collectionId: string, windowSize = 5): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      const { result } = await this.sync(collectionId, windowSize);
      if (!result) return;
      if (result.status === 3) return this.#toldToResync(collectionId, []);
      if (result.status !== 1) return this.ledger.finding(`device ${this.index}: Sync of ${collectionId} Status ${result.status}`);
      if (!result.moreAvailable) return;
    }
    this.ledger.finding(`device ${this.index}: MoreAvailable never ended for ${collectionId}`);
  }

  async #toldToResync(collectionId: string, unknown: Array<MailRecord | ContactRecord>): Promise<void> {
    this.ledger.counts.resyncs++;
    for (const r of unknown) r.unknown = true;
    await this.resync(collectionId);
  }

  /** One random step of what a phone does. */
  async step(): Promise<void> {
    const r = this.rand();
    if (r < 0.35) await this.mailStep();
    else if (r < 0.65) await this.contactStep();
    else if (r < 0.8) await this.moveStep();
    else if (r < 0.95) await this.pages(this.folder.get(this.rand() < 0.5 ? 4 : 12)!, 1 + Math.floor(this.rand() * 6));
    else await this.folderSync();
  }

  /** This device's mail in its Inbox view that it has not deleted or moved. */
  #ownMail(): Array<{ serverId: string; rec: MailRecord }> {
    const out: Array<{ serverId: string; rec: MailRecord }> = [];
    for (const serverId of this.dev.view(this.folder.get(2)!).items.keys()) {
      const n = this.numbers.get(serverId);
      const rec = n === undefined ? undefined : this.ledger.mail.get(n);
      if (rec && n! % this.deviceCount === this.index && !this.done.has(n!)) out.push({ serverId, rec });
    }
    return out;
  }

  #pick<T>(xs: T[], max: number): T[] {
    const out: T[] = [];
    const pool = [...xs];
    while (out.length < max && pool.length) out.push(pool.splice(Math.floor(this.rand() * pool.length), 1)[0]!);
    return out;
  }

  /** Answers to the commands of one Sync: the failure Response of a ServerId, if any (a success is not answered). */
  static failureOf(result: SyncCollectionResult, kind: string, serverId: string): number | undefined {
    const r = result.responses.find((x) => x.name === kind && childText(x, 'ServerId', 'AirSync') === serverId);
    const s = r ? Number(childText(r, 'Status', 'AirSync')) : 1;
    return s === 1 ? undefined : s;
  }

  /** A Sync of the Inbox carrying Read changes and Deletes (moves to Deleted Items, the default) of own mail. */
  async mailStep(): Promise<void> {
    const inbox = this.folder.get(2)!;
    const chosen = this.#pick(this.#ownMail(), Math.floor(this.rand() * 3));
    const cmds: Array<{ kind: 'Change' | 'Delete'; serverId: string; rec: MailRecord }> = [];
    for (const c of chosen) {
      const kind = !c.rec.readSent && this.rand() < 0.6 ? 'Change' : 'Delete';
      if (kind === 'Change') c.rec.readSent = true;
      else {
        c.rec.deleteSent = true;
        this.done.add(c.rec.n);
      }
      cmds.push({ kind, ...c });
    }
    const els = cmds.map((c) =>
      c.kind === 'Change'
        ? el('AirSync', 'Change', el('AirSync', 'ServerId', c.serverId), el('AirSync', 'ApplicationData', el('Email', 'Read', 1)))
        : el('AirSync', 'Delete', el('AirSync', 'ServerId', c.serverId)),
    );
    const { result } = await this.sync(inbox, 2 + Math.floor(this.rand() * 7), els);
    if (!result || result.status !== 1) {
      if (result?.status === 3) return this.#toldToResync(inbox, cmds.map((c) => c.rec));
      for (const c of cmds) c.rec.unknown = true;
      if (result) this.ledger.finding(`device ${this.index}: Inbox Sync Status ${result.status}`);
      return;
    }
    for (const c of cmds) {
      const failed = DurableDevice.failureOf(result, c.kind, c.serverId);
      if (failed !== undefined) {
        this.ledger.counts.writesRefused++;
        this.ledger.finding(`device ${this.index}: mail ${c.kind} of ${c.serverId} answered Status ${failed}`);
        c.rec.unknown = true;
      } else if (c.kind === 'Change') {
        c.rec.readAcked = true;
        this.ledger.counts.readsAcked++;
      } else {
        c.rec.deleteAcked = true;
        this.ledger.counts.deletesAcked++;
        this.dev.view(inbox).items.delete(c.serverId);
      }
    }
  }

  /** A Sync of Contacts carrying Adds (with ClientIds), Changes and Deletes (DeletesAsMoves 0: gone). */
  async contactStep(): Promise<void> {
    const contacts = this.folder.get(9)!;
    const live = this.own.filter((c) => c.addAcked && !c.deleteSent && !c.unknown);
    const cmds: Array<{ kind: 'Add' | 'Change' | 'Delete'; rec: ContactRecord; version: number; el: WbxmlElement }> = [];
    const count = 1 + Math.floor(this.rand() * 3);
    for (let i = 0; i < count; i++) {
      const r = this.rand();
      const free = live.filter((c) => !cmds.some((x) => x.rec === c));
      if (r < 0.5 || free.length === 0) {
        const n = this.#adds++;
        const rec: ContactRecord = { marker: `d${this.index}n${n}`, device: this.index, clientId: `c${this.index}-${n}`, addAcked: false, versionsSent: [0], ackedVersion: -1, deleteSent: false, deleteAcked: false, unknown: false };
        this.ledger.contacts.set(rec.marker, rec);
        this.own.push(rec);
        cmds.push({ kind: 'Add', rec, version: 0, el: el('AirSync', 'Add', el('AirSync', 'ClientId', rec.clientId), contactData(rec.marker, 'v0')) });
      } else {
        const rec = free[Math.floor(this.rand() * free.length)]!;
        if (r < 0.8) {
          const version = Math.max(...rec.versionsSent) + 1;
          rec.versionsSent.push(version);
          cmds.push({ kind: 'Change', rec, version, el: el('AirSync', 'Change', el('AirSync', 'ServerId', rec.serverId!), contactData(rec.marker, `v${version}`)) });
        } else {
          rec.deleteSent = true;
          cmds.push({ kind: 'Delete', rec, version: -1, el: el('AirSync', 'Delete', el('AirSync', 'ServerId', rec.serverId!)) });
        }
      }
    }
    const { result, attempts } = await this.sync(contacts, 2 + Math.floor(this.rand() * 7), cmds.map((c) => c.el), false);
    if (!result || result.status !== 1) {
      if (result?.status === 3) return this.#toldToResync(contacts, cmds.map((c) => c.rec));
      for (const c of cmds) c.rec.unknown = true;
      if (result) this.ledger.finding(`device ${this.index}: Contacts Sync Status ${result.status}`);
      return;
    }
    for (const c of cmds) {
      if (c.kind === 'Add') {
        const resp = result.responses.find((x) => x.name === 'Add' && childText(x, 'ClientId', 'AirSync') === c.rec.clientId);
        const status = resp ? Number(childText(resp, 'Status', 'AirSync')) : undefined;
        const serverId = resp ? childText(resp, 'ServerId', 'AirSync') : undefined;
        if (status !== 1 || !serverId) {
          this.ledger.finding(`device ${this.index}: Add ${c.rec.clientId} answered ${status === undefined ? 'nothing' : `Status ${status}`} (attempt ${attempts})`);
          c.rec.unknown = true;
          continue;
        }
        c.rec.addAcked = true;
        c.rec.ackedVersion = 0;
        c.rec.serverId = serverId;
        this.ledger.counts.addsAcked++;
        continue;
      }
      const failed = DurableDevice.failureOf(result, c.kind, c.rec.serverId!);
      if (failed !== undefined) {
        this.ledger.counts.writesRefused++;
        // A Change the server had taken before the kill and refuses as a conflict on the retry
        // leaves the outcome open; not a loss.
        if (c.kind === 'Delete' || failed !== 7) this.ledger.finding(`device ${this.index}: contact ${c.kind} of ${c.rec.serverId} answered Status ${failed} (attempt ${attempts})`);
        c.rec.unknown = true;
      } else if (c.kind === 'Change') {
        c.rec.ackedVersion = c.version;
        this.ledger.counts.changesAcked++;
      } else {
        c.rec.deleteAcked = true;
        this.ledger.counts.deletesAcked++;
        this.dev.view(contacts).items.delete(c.rec.serverId!);
      }
    }
  }

  /** MoveItems of own mail from the Inbox to Archive (MS-ASCMD 2.2.1.12); Status 3 is success. */
  async moveStep(): Promise<void> {
    const inbox = this.folder.get(2)!;
    const archive = this.folder.get(12)!;
    const chosen = this.#pick(this.#ownMail(), 1 + Math.floor(this.rand() * 2));
    if (!chosen.length) return;
    for (const c of chosen) {
      c.rec.moveSent = true;
      this.done.add(c.rec.n);
    }
    const body = el(M, 'MoveItems', chosen.map((c) => el(M, 'Move', el(M, 'SrcMsgId', c.serverId), el(M, 'SrcFldId', inbox), el(M, 'DstFldId', archive))));
    this.ledger.counts.moveRequests++;
    const { value: res, attempts } = await this.retrying('MoveItems', () => this.dev.client.post('MoveItems', body));
    if (res.status !== 200 || !res.wbxml) {
      this.ledger.finding(`device ${this.index}: MoveItems answered HTTP ${res.status}`);
      for (const c of chosen) c.rec.unknown = true;
      return;
    }
    for (const c of chosen) {
      const r = children(res.wbxml, 'Response', M).find((x) => childText(x, 'SrcMsgId', M) === c.serverId);
      const status = r ? Number(childText(r, 'Status', M)) : undefined;
      if (status === 3 && r) {
        c.rec.moveAcked = true;
        c.rec.moveDst = childText(r, 'DstMsgId', M);
        this.ledger.counts.movesAcked++;
      } else {
        c.rec.unknown = true;
        if (status === 1 && attempts > 1) this.ledger.counts.moveRetriesNotFound++;
        else {
          this.ledger.counts.writesRefused++;
          this.ledger.finding(`device ${this.index}: MoveItems of ${c.serverId} answered Status ${status ?? 'nothing'} (attempt ${attempts})`);
        }
      }
    }
  }

  /** At the end: every collection synced to the end with the device's last SyncKey. */
  async converge(): Promise<void> {
    await this.folderSync();
    for (const type of SYNCED_TYPES) await this.pages(this.folder.get(type)!, 50);
  }
}
