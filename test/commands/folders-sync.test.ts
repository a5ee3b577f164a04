/**
 * FolderSync over loopback HTTP with the device client, on SQLite and on PostgreSQL, and the
 * request log line of each hierarchy command.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HIERARCHY_COLLECTION } from '../../src/store/types.ts';
import { DEFAULT_FOLDERS } from '../../src/ports/default-folders.ts';
import { isWellFormedSyncKey } from '../../src/sync/sync-key.ts';
import { answer, f, hierarchySuites } from './folders-harness.ts';

hierarchySuites('FolderSync', (env, newUser, phone) => {
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
