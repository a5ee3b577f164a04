/**
 * FolderCreate, FolderUpdate and FolderDelete over loopback HTTP with the device client, on
 * SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FOLDERS } from '../../src/ports/default-folders.ts';
import type { WbxmlElement } from '../../src/wbxml/tree.ts';
import { answer, f, hierarchySuites } from './folders-harness.ts';

hierarchySuites('folder edits', (env, newUser, phone) => {
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

});
