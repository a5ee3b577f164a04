/**
 * FolderSync, FolderCreate, FolderUpdate and FolderDelete over loopback HTTP with the device
 * client, on SQLite and on PostgreSQL (one suite, run for each backend).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { hashPassword } from '../../src/auth/password.ts';
import { folderCreate } from '../../src/commands/folder-create.ts';
import { folderDelete } from '../../src/commands/folder-delete.ts';
import { folderUpdate } from '../../src/commands/folder-update.ts';
import { folderSync } from '../../src/commands/foldersync.ts';
import { commandHandlers } from '../../src/commands/index.ts';
import type { CommandContext, CommandHandler } from '../../src/commands/types.ts';
import { DEFAULT_MAX_REQUEST_BYTES } from '../../src/http/server.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { HIERARCHY_COLLECTION, type Store, type User } from '../../src/store/types.ts';
import { DEFAULT_FOLDERS } from '../../src/ports/default-folders.ts';
import { isWellFormedSyncKey } from '../../src/sync/sync-key.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { openTempPostgresStore, openTempSqliteStore, pgSkipped, type TestStore } from '../helpers/db.ts';
import { EasClient, type EasResponse } from '../helpers/eas-client.ts';
import { collectingLogger, type LogLine } from '../helpers/server.ts';

const NS = 'FolderHierarchy';
const PASSWORD = 'pa55word-of-everyone-4kq';
const f = (name: string, ...kids: Parameters<typeof el>[2][]) => el(NS, name, ...kids);

interface Change {
  kind: string;
  serverId: string;
  parentId?: string;
  displayName?: string;
  type?: number;
}

interface Answer {
  http: number;
  status: number;
  key?: string;
  serverId?: string;
  count?: number;
  changes: Change[];
  res: EasResponse;
}

function answer(res: EasResponse, root: string): Answer {
  assert.equal(res.status, 200, `HTTP ${res.status}`);
  const body = res.wbxml;
  assert.ok(body, 'a WBXML body');
  assert.equal(body.ns, NS);
  assert.equal(body.name, root);
  const changesEl = child(body, 'Changes', NS);
  const changes: Change[] = [];
  for (const c of changesEl ? children(changesEl) : []) {
    if (c.name === 'Count') continue;
    const type = childText(c, 'Type', NS);
    changes.push({
      kind: c.name,
      serverId: childText(c, 'ServerId', NS)!,
      ...(c.name === 'Delete' ? {} : { parentId: childText(c, 'ParentId', NS), displayName: childText(c, 'DisplayName', NS), type: Number(type) }),
    });
  }
  const count = changesEl ? childText(changesEl, 'Count', NS) : undefined;
  return {
    http: res.status,
    status: Number(childText(body, 'Status', NS)),
    key: childText(body, 'SyncKey', NS),
    serverId: childText(body, 'ServerId', NS),
    count: count === undefined ? undefined : Number(count),
    changes,
    res,
  };
}

/** A device of a user, speaking the four hierarchy commands. */
class Phone {
  readonly client: EasClient;
  constructor(url: string, user: string, deviceId: string) {
    this.client = new EasClient({ url, user, password: PASSWORD, deviceId, deviceType: 'iPhone', version: '14.1' });
  }
  async raw(cmd: string, body?: WbxmlElement): Promise<EasResponse> {
    return this.client.post(cmd, body);
  }
  async sync(key: string): Promise<Answer> {
    return answer(await this.raw('FolderSync', f('FolderSync', f('SyncKey', key))), 'FolderSync');
  }
  async create(key: string, parentId: string, name: string, type: number | string = 12): Promise<Answer> {
    const body = f('FolderCreate', f('SyncKey', key), f('ParentId', parentId), f('DisplayName', name), f('Type', String(type)));
    return answer(await this.raw('FolderCreate', body), 'FolderCreate');
  }
  async update(key: string, serverId: string, parentId: string, name: string): Promise<Answer> {
    const body = f('FolderUpdate', f('SyncKey', key), f('ServerId', serverId), f('ParentId', parentId), f('DisplayName', name));
    return answer(await this.raw('FolderUpdate', body), 'FolderUpdate');
  }
  async delete(key: string, serverId: string): Promise<Answer> {
    return answer(await this.raw('FolderDelete', f('FolderDelete', f('SyncKey', key), f('ServerId', serverId))), 'FolderDelete');
  }
  /** FolderSync 0, returning the key and the folders by display name. */
  async start(): Promise<{ key: string; byName: Map<string, Change> }> {
    const a = await this.sync('0');
    assert.equal(a.status, 1);
    return { key: a.key!, byName: new Map(a.changes.map((c) => [c.displayName!, c])) };
  }
}

interface Env {
  url: string;
  store: Store;
  logs: LogLine[];
}

type OpenStore = () => Promise<TestStore>;

function runFolderSuite(backend: string, open: OpenStore): void {
  describe(`hierarchy commands on ${backend}`, () => {
    let temp: TestStore;
    let app: FastifyInstance;
    let env: Env;
    let passwordHash: string;
    let n = 0;

    before(async () => {
      temp = await open();
      const logs: LogLine[] = [];
      app = (await buildRuntime({ server: { maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, trustProxy: false }, requireProvisioning: false }, {
        store: temp.store,
        log: collectingLogger(logs, 'info'),
        handlers: commandHandlers()
      })).app;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      assert.ok(address && typeof address === 'object');
      env = { url: `http://127.0.0.1:${address.port}`, store: temp.store, logs };
      passwordHash = await hashPassword(PASSWORD);
    });

    after(async () => {
      await app?.close();
      await temp?.cleanup();
    });

    /** A fresh user (with no folders yet) for one test. */
    const newUser = async (): Promise<User> =>
      env.store.createUser({ email: `user${++n}-${backend}@example.com`, passwordHash, displayName: `User ${n}` });
    const phone = (user: User, deviceId = 'DEVICEA') => new Phone(env.url, user.email, deviceId);

    describe('FolderSync', () => {
      it('lists the default folders (the 9 typed ones and Junk E-mail) at the root with their types on SyncKey 0, with the reset headers', async () => {
        const user = await newUser();
        const res = await phone(user).raw('FolderSync', f('FolderSync', f('SyncKey', '0')));
        const a = answer(res, 'FolderSync');
        assert.equal(a.status, 1);
        assert.ok(a.key && isWellFormedSyncKey(a.key), `a key easd issues: ${a.key}`);
        assert.equal(a.count, DEFAULT_FOLDERS.length);
        assert.deepEqual(
          a.changes.map((c) => [c.kind, c.displayName, c.type, c.parentId]).sort((x, y) => Number(x[2]) - Number(y[2])),
          DEFAULT_FOLDERS.map((d) => ['Add', d.displayName, d.type, '0']),
        );
        assert.equal(new Set(a.changes.map((c) => c.serverId)).size, DEFAULT_FOLDERS.length);
        // MS-ASHTTP 3.2.5.1: X-MS-RP, MS-ASProtocolCommands and MS-ASProtocolVersions on SyncKey 0.
        assert.equal(res.headers.get('x-ms-rp'), '12.0,12.1,14.0,14.1,16.0,16.1');
        assert.equal(res.headers.get('ms-asprotocolversions'), '12.0,12.1,14.0,14.1,16.0,16.1');
        assert.match(res.headers.get('ms-asprotocolcommands') ?? '', /FolderSync,FolderCreate,FolderDelete,FolderUpdate/);
        assert.equal((await env.store.listFolders(user.id)).length, DEFAULT_FOLDERS.length);
      });

      it('answers the new key with Count 0 and the same key when nothing changed (no reset headers)', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const a = await p.sync(key);
        assert.equal(a.status, 1);
        assert.equal(a.count, 0);
        assert.deepEqual(a.changes, []);
        assert.equal(a.key, key, 'MS-ASHTTP 4.1: SyncKey 2 answered with SyncKey 2, Count 0');
        assert.equal(a.res.headers.get('x-ms-rp'), null);
        assert.equal((await p.sync(key)).count, 0, 'and again');
      });

      it('creates the default folders once, also for devices racing on SyncKey 0, and never again on a reset', async () => {
        const user = await newUser();
        const results = await Promise.all(['D1', 'D2', 'D3', 'D4'].map((d) => phone(user, d).sync('0')));
        for (const r of results) {
          assert.equal(r.status, 1);
          assert.equal(r.count, DEFAULT_FOLDERS.length);
        }
        await phone(user, 'D1').sync('0');
        const folders = await env.store.listFolders(user.id);
        assert.equal(folders.length, DEFAULT_FOLDERS.length);
        assert.deepEqual(new Set(folders.map((x) => x.type)), new Set(DEFAULT_FOLDERS.map((d) => d.type)));
      });

      it('sends a folder created on device A to device B as an Add, but not back to A', async () => {
        const user = await newUser();
        const a = phone(user, 'PHONEA');
        const b = phone(user, 'PHONEB');
        const sa = await a.start();
        const sb = await b.start();
        const inbox = sa.byName.get('Inbox')!.serverId;

        const created = await a.create(sa.key, inbox, 'Projects', 12);
        assert.equal(created.status, 1);
        assert.ok(created.serverId);
        assert.ok(created.key && created.key !== sa.key);

        const onA = await a.sync(created.key);
        assert.equal(onA.status, 1);
        assert.equal(onA.count, 0, 'A does not get its own folder back');
        assert.equal(onA.key, created.key);

        const onB = await b.sync(sb.key);
        assert.equal(onB.status, 1);
        assert.deepEqual(onB.changes, [{ kind: 'Add', serverId: created.serverId, parentId: inbox, displayName: 'Projects', type: 12 }]);
        assert.equal(onB.count, 1);
        assert.notEqual(onB.key, sb.key);
        assert.equal((await b.sync(onB.key!)).count, 0);

        // Another user's device never hears of it.
        const stranger = phone(await newUser(), 'PHONEA');
        const ss = await stranger.start();
        assert.ok(![...ss.byName.values()].some((c) => c.serverId === created.serverId));
        assert.equal((await stranger.sync(ss.key)).count, 0);
      });

      it('sends a rename or move as an Update and a delete as a Delete (with the subfolders), to the other device only', async () => {
        const user = await newUser();
        const a = phone(user, 'PHONEA');
        const b = phone(user, 'PHONEB');
        let { key: ka, byName } = await a.start();
        const inbox = byName.get('Inbox')!.serverId;
        let c = await a.create(ka, '0', 'Work');
        const work = c.serverId!;
        c = await a.create(c.key!, work, 'Old');
        const old = c.serverId!;
        c = await a.create(c.key!, old, 'Old child');
        const oldChild = c.serverId!;
        ka = c.key!;
        let { key: kb } = await b.start();

        let u = await a.update(ka, work, '0', 'Work renamed');
        assert.equal(u.status, 1);
        u = await a.update(u.key!, old, inbox, 'Old');
        assert.equal(u.status, 1);
        ka = u.key!;
        let onB = await b.sync(kb);
        assert.deepEqual(onB.changes, [
          { kind: 'Update', serverId: work, parentId: '0', displayName: 'Work renamed', type: 12 },
          { kind: 'Update', serverId: old, parentId: inbox, displayName: 'Old', type: 12 },
        ]);
        kb = onB.key!;
        assert.equal((await a.sync(ka)).count, 0, 'A does not get its own updates back');

        const d = await a.delete(ka, old);
        assert.equal(d.status, 1);
        assert.ok(d.key);
        onB = await b.sync(kb);
        assert.deepEqual(onB.changes, [
          { kind: 'Delete', serverId: oldChild },
          { kind: 'Delete', serverId: old },
        ]);
        const onA = await a.sync(d.key!);
        assert.equal(onA.count, 0, 'A does not get its own delete back');
        assert.equal(await env.store.getFolderByServerId(user.id, old), null);
        assert.equal(await env.store.getFolderByServerId(user.id, oldChild), null);
      });

      it('answers a retried FolderSync with the previous key with the same changes and key', async () => {
        const user = await newUser();
        const a = phone(user, 'PHONEA');
        const b = phone(user, 'PHONEB');
        const sa = await a.start();
        const sb = await b.start();
        const x = await a.create(sa.key, '0', 'X');

        const first = await b.sync(sb.key);
        assert.equal(first.count, 1);
        const retry = await b.sync(sb.key);
        assert.equal(retry.status, 1);
        assert.equal(retry.key, first.key);
        assert.deepEqual(retry.changes, first.changes);

        // A change made meanwhile is not lost by a retry: it comes with the retried answer.
        const y = await a.create(x.key!, '0', 'Y');
        const retry2 = await b.sync(sb.key);
        assert.equal(retry2.key, first.key);
        assert.deepEqual(
          retry2.changes.map((c) => c.serverId),
          [x.serverId, y.serverId],
        );
        const after = await b.sync(retry2.key!);
        assert.equal(after.status, 1);
        assert.equal(after.count, 0);
      });

      it('still delivers a folder the device created when the FolderCreate response was lost', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const lost = await p.create(key, '0', 'Lost response');
        assert.equal(lost.status, 1);
        // The device never saw `lost`, so it still has `key`: the previous key, still answerable.
        const r = await p.sync(key);
        assert.equal(r.status, 1);
        assert.deepEqual(r.changes, [{ kind: 'Add', serverId: lost.serverId, parentId: '0', displayName: 'Lost response', type: 12 }]);
        assert.equal((await p.sync(r.key!)).count, 0);
      });

      it('answers Status 9 to a garbage, unknown, old or foreign key, and the current key keeps working', async () => {
        const user = await newUser();
        const other = await newUser();
        const a = phone(user, 'PHONEA');
        const b = phone(user, 'PHONEB');
        const s0 = await a.start();
        const sb = await b.start();
        const so = await phone(other, 'PHONEA').start();

        await a.create(s0.key, '0', 'One');
        const k1 = (await a.sync(s0.key)).key!; // s0 is now the previous key: still answerable
        await phone(user, 'PHONEB').create(sb.key, '0', 'Two');
        const k2 = (await a.sync(k1)).key!; // s0 is now old
        assert.notEqual(k1, k2);

        const bad = ['garbage', '{00000000-0000-0000-0000-000000000000}1', s0.key, sb.key, so.key, '', '-1'];
        for (const key of bad) {
          const r = await a.sync(key);
          assert.equal(r.status, 9, `key ${JSON.stringify(key)}`);
          assert.equal(r.key, undefined, 'no SyncKey with a failure');
          assert.deepEqual(r.changes, []);
        }
        const ok = await a.sync(k2);
        assert.equal(ok.status, 1);
        assert.equal(ok.count, 0);
        assert.equal(ok.key, k2);
      });

      it('answers Status 10 to a request without SyncKey or without a FolderSync body', async () => {
        const user = await newUser();
        const p = phone(user);
        assert.equal(answer(await p.raw('FolderSync', f('FolderSync')), 'FolderSync').status, 10);
        assert.equal(answer(await p.raw('FolderSync'), 'FolderSync').status, 10);
        assert.equal(answer(await p.raw('FolderSync', f('FolderCreate', f('SyncKey', '0'))), 'FolderSync').status, 10);
      });

      it('counts a SyncKey 0 from a device that synced before as a reset and drops its sync states', async () => {
        const user = await newUser();
        const p = phone(user, 'RESETTER');
        const first = await p.start();
        assert.equal((await env.store.getDevice(user.id, 'RESETTER'))?.syncResets, 0, 'the first SyncKey 0 is no reset');
        const inbox = await env.store.getFolderByServerId(user.id, first.byName.get('Inbox')!.serverId);
        await env.store.saveSyncState({ userId: user.id, deviceId: 'RESETTER', collectionId: inbox!.id, syncKey: '{11111111-1111-1111-1111-111111111111}1', data: {} }, []);

        const again = await p.start();
        assert.equal((await env.store.getDevice(user.id, 'RESETTER'))?.syncResets, 1);
        assert.deepEqual(
          [...again.byName.values()].map((c) => c.serverId).sort(),
          [...first.byName.values()].map((c) => c.serverId).sort(),
          'the same ServerIds across SyncKey 0 (MS-ASCMD 2.2.3.25)',
        );
        assert.equal(await env.store.getSyncState(user.id, 'RESETTER', inbox!.id, '{11111111-1111-1111-1111-111111111111}1'), null);
        assert.equal(await env.store.getSyncState(user.id, 'RESETTER', HIERARCHY_COLLECTION, first.key), null);
        assert.equal((await p.sync(first.key)).status, 9, 'the key before the reset is void');
        assert.equal((await p.sync(again.key)).status, 1);

        await p.start();
        assert.equal((await env.store.getDevice(user.id, 'RESETTER'))?.syncResets, 2);
        assert.equal((await env.store.getDevice(user.id, 'OTHER'))?.syncResets, undefined);
      });
    });

    describe('FolderCreate', () => {
      it('creates under the root and under a default folder (1), with a ServerId and a new key', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key, byName } = await p.start();
        const top = await p.create(key, '0', 'Top', 1);
        assert.equal(top.status, 1);
        const cal = await p.create(top.key!, byName.get('Calendar')!.serverId, 'Team calendar', 13);
        assert.equal(cal.status, 1);
        const stored = await env.store.getFolderByServerId(user.id, cal.serverId!);
        assert.equal(stored?.displayName, 'Team calendar');
        assert.equal(stored?.type, 13);
        assert.equal((await env.store.getFolder(user.id, stored!.parentId!))?.type, 8);
        const long = await p.create(cal.key!, '0', 'x'.repeat(256), 17);
        assert.equal(long.status, 1, 'a 256-character name is fine');
        let k = long.key!;
        for (const type of [14, 15, 16]) {
          const r = await p.create(k, '0', `T${type}`, type);
          assert.equal(r.status, 1, `type ${type}`);
          k = r.key!;
        }
      });

      it('answers 2 when the parent has a folder of that name (case-insensitive), but not for another parent', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key, byName } = await p.start();
        const a = await p.create(key, '0', 'Projects');
        assert.equal(a.status, 1);
        const dup = await p.create(a.key!, '0', 'PROJECTS');
        assert.equal(dup.status, 2);
        assert.equal(dup.key, undefined, 'no SyncKey after a failure (MS-ASCMD 2.2.3.181.1)');
        assert.equal(dup.serverId, undefined);
        assert.equal((await p.create(a.key!, '0', 'inbox')).status, 2, 'nor the name of a default folder');
        assert.equal((await p.create(a.key!, byName.get('Inbox')!.serverId, 'Projects')).status, 1);
      });

      it('answers 3 when the parent is the recipient information cache', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        await env.store.createFolder({ userId: user.id, parentId: null, displayName: 'Suggested Contacts', type: 19, serverId: 'ri' });
        const r = await p.create(key, 'ri', 'Sub');
        assert.equal(r.status, 3);
        assert.equal(r.key, undefined);
      });

      it('answers 5 when the parent does not exist, or is a deleted folder or another user\'s folder', async () => {
        const user = await newUser();
        const other = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const theirs = await phone(other).start();
        const gone = await p.create(key, '0', 'Gone');
        const del = await p.delete(gone.key!, gone.serverId!);
        assert.equal(del.status, 1);
        const theirFolder = await phone(other).create(theirs.key, '0', 'Theirs');
        for (const parent of ['no-such-folder', gone.serverId!, theirFolder.serverId!, (await env.store.listFolders(other.id))[0]!.id]) {
          const r = await p.create(del.key!, parent, 'Sub');
          assert.equal(r.status, 5, `parent ${parent}`);
        }
        assert.equal((await env.store.listFolders(other.id)).length, DEFAULT_FOLDERS.length + 1, 'nothing was created for the other user');
      });

      it('answers 9 to a key that is not the current one', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const a = await p.create(key, '0', 'A');
        assert.equal((await p.create(key, '0', 'B')).status, 9, 'the previous key');
        assert.equal((await p.create('0', '0', 'B')).status, 9);
        assert.equal((await p.create('garbage', '0', 'B')).status, 9);
        assert.equal((await phone(user, 'OTHERDEVICE').create(a.key!, '0', 'B')).status, 9, 'another device\'s key');
        assert.equal(await env.store.getFolderByServerId(user.id, 'B'), null);
        assert.equal((await env.store.listFolders(user.id)).length, DEFAULT_FOLDERS.length + 1);
        assert.equal((await p.create(a.key!, '0', 'B')).status, 1);
      });

      it('answers 10 to a malformed request: missing elements, a bad name or a type a client cannot create', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const cases: Array<[string, WbxmlElement]> = [
          ['no SyncKey', f('FolderCreate', f('ParentId', '0'), f('DisplayName', 'A'), f('Type', '12'))],
          ['no ParentId', f('FolderCreate', f('SyncKey', key), f('DisplayName', 'A'), f('Type', '12'))],
          ['no DisplayName', f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('Type', '12'))],
          ['no Type', f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', 'A'))],
          ['empty name', f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName'), f('Type', '12'))],
          ['blank name', f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', '  '), f('Type', '12'))],
          ['257 characters', f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', 'x'.repeat(257)), f('Type', '12'))],
          ['wrong root element', f('FolderUpdate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', 'A'), f('Type', '12'))],
        ];
        for (const type of ['0', '2', '6', '11', '18', '19', '20', 'abc', '-1', '']) {
          cases.push([`Type ${type}`, f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', 'A'), f('Type', type))]);
        }
        for (const [what, body] of cases) {
          const r = answer(await p.raw('FolderCreate', body), 'FolderCreate');
          assert.equal(r.status, 10, what);
          assert.equal(r.key, undefined, what);
        }
        assert.equal(answer(await p.raw('FolderCreate'), 'FolderCreate').status, 10, 'no body');
        assert.equal((await env.store.listFolders(user.id)).length, DEFAULT_FOLDERS.length);
        assert.equal((await p.create(key, '0', 'A')).status, 1, 'the key is still current');
      });
    });

    describe('FolderUpdate', () => {
      it('renames and moves (1), and a new key follows', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key, byName } = await p.start();
        const a = await p.create(key, '0', 'A');
        const r = await p.update(a.key!, a.serverId!, byName.get('Inbox')!.serverId, 'A renamed');
        assert.equal(r.status, 1);
        assert.ok(r.key && r.key !== a.key);
        const stored = await env.store.getFolderByServerId(user.id, a.serverId!);
        assert.equal(stored?.displayName, 'A renamed');
        assert.equal((await env.store.getFolder(user.id, stored!.parentId!))?.serverId, byName.get('Inbox')!.serverId);
        const back = await p.update(r.key!, a.serverId!, '0', 'a RENAMED');
        assert.equal(back.status, 1, 'a change of case only, back at the root');
      });

      it('answers 2 when the new parent has a folder of that name, or the folder is a special folder', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key, byName } = await p.start();
        const a = await p.create(key, '0', 'A');
        const b = await p.create(a.key!, '0', 'B');
        const r = await p.update(b.key!, b.serverId!, '0', 'a');
        assert.equal(r.status, 2);
        assert.equal(r.key, undefined);
        assert.equal((await p.update(b.key!, b.serverId!, '0', 'Inbox')).status, 2);
        for (const d of DEFAULT_FOLDERS) {
          const sid = byName.get(d.displayName)!.serverId;
          assert.equal((await p.update(b.key!, sid, '0', `${d.displayName} 2`)).status, 2, `rename ${d.displayName}`);
          assert.equal((await p.update(b.key!, sid, a.serverId!, d.displayName)).status, 2, `move ${d.displayName}`);
        }
        assert.equal((await env.store.getFolderByServerId(user.id, byName.get('Inbox')!.serverId))?.displayName, 'Inbox');
      });

      it('answers 3 for the recipient information cache', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        await env.store.createFolder({ userId: user.id, parentId: null, displayName: 'Suggested Contacts', type: 19, serverId: 'ri' });
        assert.equal((await p.update(key, 'ri', '0', 'Renamed')).status, 3);
        const a = await p.create(key, '0', 'A');
        assert.equal((await p.update(a.key!, a.serverId!, 'ri', 'A')).status, 3, 'nor can a folder move into it');
      });

      it('answers 4 for a missing folder, a deleted one or another user\'s', async () => {
        const user = await newUser();
        const other = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const theirs = await phone(other).start();
        const theirFolder = await phone(other).create(theirs.key, '0', 'Theirs');
        const gone = await p.create(key, '0', 'Gone');
        const del = await p.delete(gone.key!, gone.serverId!);
        for (const sid of ['no-such-folder', gone.serverId!, theirFolder.serverId!]) {
          assert.equal((await p.update(del.key!, sid, '0', 'Mine now')).status, 4, sid);
        }
        assert.equal((await env.store.getFolderByServerId(other.id, theirFolder.serverId!))?.displayName, 'Theirs');
      });

      it('answers 5 when the new parent does not exist or is another user\'s folder', async () => {
        const user = await newUser();
        const other = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const theirs = await phone(other).start();
        const theirFolder = await phone(other).create(theirs.key, '0', 'Theirs');
        const a = await p.create(key, '0', 'A');
        for (const parent of ['no-such-folder', theirFolder.serverId!]) {
          assert.equal((await p.update(a.key!, a.serverId!, parent, 'A')).status, 5, parent);
        }
      });

      it('answers 9 to a key that is not the current one', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const a = await p.create(key, '0', 'A');
        assert.equal((await p.update(key, a.serverId!, '0', 'B')).status, 9);
        assert.equal((await p.update('garbage', a.serverId!, '0', 'B')).status, 9);
        assert.equal((await env.store.getFolderByServerId(user.id, a.serverId!))?.displayName, 'A');
      });

      it('answers 10 to a malformed request or a move under itself', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const a = await p.create(key, '0', 'A');
        const sub = await p.create(a.key!, a.serverId!, 'Sub');
        const k = sub.key!;
        const sid = a.serverId!;
        const cases: Array<[string, WbxmlElement]> = [
          ['no SyncKey', f('FolderUpdate', f('ServerId', sid), f('ParentId', '0'), f('DisplayName', 'B'))],
          ['no ServerId', f('FolderUpdate', f('SyncKey', k), f('ParentId', '0'), f('DisplayName', 'B'))],
          ['no ParentId', f('FolderUpdate', f('SyncKey', k), f('ServerId', sid), f('DisplayName', 'B'))],
          ['no DisplayName', f('FolderUpdate', f('SyncKey', k), f('ServerId', sid), f('ParentId', '0'))],
          ['empty name', f('FolderUpdate', f('SyncKey', k), f('ServerId', sid), f('ParentId', '0'), f('DisplayName'))],
          ['a Status element (MS-ASCMD 2.2.3.77)', f('FolderUpdate', f('SyncKey', k), f('ServerId', sid), f('ParentId', '0'), f('DisplayName', 'B'), f('Status', '1'))],
        ];
        for (const [what, body] of cases) assert.equal(answer(await p.raw('FolderUpdate', body), 'FolderUpdate').status, 10, what);
        assert.equal((await p.update(k, sid, sid, 'A')).status, 10, 'under itself');
        assert.equal((await p.update(k, sid, sub.serverId!, 'A')).status, 10, 'under its subfolder');
        assert.equal((await p.update(k, sid, '0', 'B')).status, 1, 'the key is still current');
      });
    });

    describe('FolderDelete', () => {
      it('deletes a folder with its subfolders (1), and a new key follows', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const a = await p.create(key, '0', 'A');
        const sub = await p.create(a.key!, a.serverId!, 'Sub');
        const d = await p.delete(sub.key!, a.serverId!);
        assert.equal(d.status, 1);
        assert.ok(d.key && d.key !== sub.key);
        assert.equal(await env.store.getFolderByServerId(user.id, a.serverId!), null);
        assert.equal(await env.store.getFolderByServerId(user.id, sub.serverId!), null);
        assert.equal((await env.store.listFolders(user.id)).length, DEFAULT_FOLDERS.length);
      });

      it('answers 3 for every default folder and the recipient information cache', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key, byName } = await p.start();
        await env.store.createFolder({ userId: user.id, parentId: null, displayName: 'Suggested Contacts', type: 19, serverId: 'ri' });
        for (const sid of [...[...byName.values()].map((c) => c.serverId), 'ri']) {
          const r = await p.delete(key, sid);
          assert.equal(r.status, 3, sid);
          assert.equal(r.key, undefined);
        }
        assert.equal((await env.store.listFolders(user.id)).length, DEFAULT_FOLDERS.length + 1);
      });

      it('answers 4 for a missing folder, a deleted one or another user\'s', async () => {
        const user = await newUser();
        const other = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const theirs = await phone(other).start();
        const theirFolder = await phone(other).create(theirs.key, '0', 'Theirs');
        const a = await p.create(key, '0', 'A');
        const d = await p.delete(a.key!, a.serverId!);
        for (const sid of ['no-such-folder', a.serverId!, theirFolder.serverId!]) {
          assert.equal((await p.delete(d.key!, sid)).status, 4, sid);
        }
        assert.ok(await env.store.getFolderByServerId(other.id, theirFolder.serverId!));
      });

      it('answers 9 to a key that is not the current one, and 10 to a malformed request', async () => {
        const user = await newUser();
        const p = phone(user);
        const { key } = await p.start();
        const a = await p.create(key, '0', 'A');
        assert.equal((await p.delete(key, a.serverId!)).status, 9);
        assert.equal((await p.delete('garbage', a.serverId!)).status, 9);
        assert.equal(answer(await p.raw('FolderDelete', f('FolderDelete', f('ServerId', a.serverId!))), 'FolderDelete').status, 10);
        assert.equal(answer(await p.raw('FolderDelete', f('FolderDelete', f('SyncKey', a.key!))), 'FolderDelete').status, 10);
        assert.equal(answer(await p.raw('FolderDelete'), 'FolderDelete').status, 10);
        assert.ok(await env.store.getFolderByServerId(user.id, a.serverId!));
        assert.equal((await p.delete(a.key!, a.serverId!)).status, 1);
      });
    });

    it('writes one request log line per command with its EAS status', async () => {
      const user = await newUser();
      const from = env.logs.length;
      const p = phone(user);
      const { key } = await p.start();
      await p.create(key, '0', 'A');
      await p.sync('garbage');
      const lines = env.logs.slice(from).filter((l) => l.msg === 'request');
      assert.deepEqual(
        lines.map((l) => [l.cmd, l.easStatus]),
        [
          ['FolderSync', 1],
          ['FolderCreate', 1],
          ['FolderSync', 9],
        ],
      );
    });
  });
}

runFolderSuite('sqlite', () => openTempSqliteStore());
if (pgSkipped()) {
  it('hierarchy commands on postgres', { skip: 'EASD_TEST_SKIP_PG=1' }, () => {});
} else {
  runFolderSuite('postgres', () => openTempPostgresStore());
}

describe('hierarchy commands on a failing store', () => {
  /** A store whose every method throws, as when the database is down. */
  const broken = new Proxy({} as Store, {
    get: () => async () => {
      throw new Error('database is down');
    },
  });
  const ctx = (request: WbxmlElement): CommandContext =>
    ({
      request,
      store: broken,
      user: { id: 'u1', email: 'a@example.com' },
      device: { userId: 'u1', deviceId: 'D1' },
      log: pino({ level: 'silent' }),
    }) as unknown as CommandContext;
  const key = '{11111111-1111-1111-1111-111111111111}1';
  const cases: Array<[string, CommandHandler, WbxmlElement]> = [
    ['FolderSync 0', folderSync, f('FolderSync', f('SyncKey', '0'))],
    ['FolderSync', folderSync, f('FolderSync', f('SyncKey', key))],
    ['FolderCreate', folderCreate, f('FolderCreate', f('SyncKey', key), f('ParentId', '0'), f('DisplayName', 'A'), f('Type', '12'))],
    ['FolderUpdate', folderUpdate, f('FolderUpdate', f('SyncKey', key), f('ServerId', 'x'), f('ParentId', '0'), f('DisplayName', 'A'))],
    ['FolderDelete', folderDelete, f('FolderDelete', f('SyncKey', key), f('ServerId', 'x'))],
  ];
  for (const [name, handler, request] of cases) {
    it(`${name} answers Status 6 (server error)`, async () => {
      const result = await handler(ctx(request));
      assert.equal(result.easStatus, 6);
      assert.equal(childText(result.body!, 'Status', NS), '6');
      assert.equal(child(result.body!, 'SyncKey', NS), undefined);
    });
  }
});
