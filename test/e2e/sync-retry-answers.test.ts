/**
 * A request whose response was lost, sent again, gets the answer the first one got, and the
 * store ends as after one application (MS-ASCMD 2.2.3.177.3 SyncKey; src/sync/answered.ts,
 * src/commands/moves-done.ts): Sync's Delete (DeletesAsMoves on and off, Inbox, Deleted Items,
 * Contacts), Change (a task completed from the server's clock, a recurring task's occurrence
 * completed), and MoveItems, on SQLite and PostgreSQL (issue 15 item 4). Also: what another
 * device changed in between reaches the retrying device on top of the replay, and a different
 * request with the same key is applied as new.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JsonObject, User } from '../../src/store/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { PROTECTION_OFF } from '../../src/devices/protection.ts';
import { pgSkipped } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const USER = { email: 'again@example.com', password: 'again-password-1' };
const T = 'Tasks';
const A = 'AirSync';
const sid = (s: string) => el(A, 'ServerId', s);
const del = (s: string) => el(A, 'Delete', sid(s));
const change = (s: string, appData: WbxmlElement) => el(A, 'Change', sid(s), appData);

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a retried request gets the first answer (${backend})`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let srv: TestServer;
    let user: User;
    let n = 0;
    before(async () => {
      // No pacing of identical requests: the retry must reach the engine at once.
      srv = await startTestServer({ backend, users: [USER], logLevel: 'warn', config: { protection: PROTECTION_OFF } });
      user = srv.users.get(USER.email)!;
    });
    after(async () => srv.close());

    const device = async () => {
      const d = new Device({ url: srv.url, user: USER.email, password: USER.password, deviceId: `AGAIN${++n}` });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };
    const folderId = async (d: Device, type: number) => (await srv.store.getFolderByServerId(user.id, d.folderByType(type).serverId))!.id;
    const live = async (fid: string) => (await srv.store.listChangesSince(user.id, fid, 0, 10_000)).filter((i) => !i.deleted);
    /** Sends one collection's request twice (the first response lost); both Collection elements. */
    const twice = async (d: Device, collectionId: string, commands: WbxmlElement[], opts: { deletesAsMoves?: boolean } = {}) => {
      const body = el(A, 'Sync', el(A, 'Collections', d.collectionRequest(collectionId, { commands, ...opts })));
      const collection = (r: Awaited<ReturnType<Device['syncRaw']>>) => {
        assert.equal(r.status, 200);
        return children(child(r.wbxml!, 'Collections', A)!, 'Collection', A)[0]!;
      };
      const first = collection(await d.syncRaw(body));
      await new Promise((r) => setTimeout(r, 5)); // a retry comes later: the server's clock moves
      const again = collection(await d.syncRaw(body));
      return { first, again, applied: d.apply(collectionId, again) };
    };

    for (const c of <Array<{ name: string; type: number; dam: boolean | undefined; cls: 'Email' | 'Contacts'; data: JsonObject; trash: number }>>[
      { name: 'Inbox, DeletesAsMoves on: the item goes to Deleted Items once', type: 2, dam: undefined, cls: 'Email', data: { subject: 'to bin', read: false }, trash: 1 },
      { name: 'Inbox, DeletesAsMoves off: deleted', type: 2, dam: false, cls: 'Email', data: { subject: 'to nothing', read: false }, trash: 0 },
      { name: 'Deleted Items: deleted for good', type: 4, dam: undefined, cls: 'Email', data: { subject: 'binned', read: false }, trash: 0 },
      { name: 'Contacts, DeletesAsMoves on', type: 9, dam: undefined, cls: 'Contacts', data: { fileAs: 'Gone, Person', firstName: 'Person' }, trash: 1 },
    ]) {
      it(`Delete sent again: the same answer, no Status 8 (${c.name})`, async () => {
        const d = await device();
        const fid = await folderId(d, c.type);
        const trash = await folderId(d, 4);
        const inTrash = (await live(trash)).length;
        const item = await srv.store.putItem({ userId: user.id, folderId: fid, class: c.cls, data: c.data });
        await d.initialSync(d.folderByType(c.type).serverId);
        const { first, again, applied } = await twice(d, d.folderByType(c.type).serverId, [del(item.serverId)], c.dam === false ? { deletesAsMoves: false } : {});
        assert.deepEqual(again, first, 'the retry is answered as the first attempt was');
        assert.equal(child(again, 'Responses', A), undefined, 'a Delete that is done is not answered (no Status 8)');
        assert.equal(applied.deletes.length, 0, 'its own Delete is not sent back');
        assert.equal((await live(fid)).filter((i) => i.serverId === item.serverId).length, 0);
        if (c.type !== 4) assert.equal((await live(trash)).length, inTrash + c.trash, 'moved to Deleted Items once, or not at all');
        const next = await d.sync(d.folderByType(c.type).serverId);
        assert.equal(next.status, 1, 'the key of the retry is good');
        assert.deepEqual([...next.adds, ...next.changes].length + next.deletes.length, 0, 'nothing about it afterwards');
      });
    }

    it('Change completing a task sent again: the same answer, not a conflict (Status 7), written once', async () => {
      const d = await device();
      const tasks = d.folderByType(7).serverId;
      const item = await srv.store.putItem({ userId: user.id, folderId: await folderId(d, 7), class: 'Tasks', data: { subject: 'file taxes', complete: false } });
      await d.initialSync(tasks);
      const done = el(A, 'ApplicationData', el(T, 'Subject', 'file taxes'), el(T, 'Complete', 1));
      const { first, again } = await twice(d, tasks, [change(item.serverId, done)]);
      assert.deepEqual(again, first);
      assert.equal(child(again, 'Responses', A), undefined, 'a successful Change is not answered (no Status 7)');
      const stored = (await srv.store.getItemByServerId(user.id, item.serverId))!;
      assert.equal(stored.data.complete, true);
      const next = await d.sync(tasks);
      assert.equal(next.changes.length + next.adds.length, 0, 'its own Change is not sent back');
      assert.equal((await srv.store.getItemByServerId(user.id, item.serverId))!.modseq, stored.modseq, 'not written again');
    });

    it("Change completing a recurring task's occurrence sent again: one completed copy, the series moved on once", async () => {
      const d = await device();
      const tasks = d.folderByType(7).serverId;
      const fid = await folderId(d, 7);
      const weekly = (complete: boolean) =>
        el(
          A,
          'ApplicationData',
          el(T, 'Subject', 'Water the ferns'),
          el(T, 'UtcStartDate', '2026-11-05T08:00:00.000Z'),
          el(T, 'StartDate', '2026-11-05T00:00:00.000Z'),
          el(T, 'UtcDueDate', '2026-11-05T08:00:00.000Z'),
          el(T, 'DueDate', '2026-11-05T00:00:00.000Z'),
          el(T, 'Recurrence', el(T, 'Type', 1), el(T, 'Start', '2026-11-05T00:00:00.000Z'), el(T, 'Occurrences', 5), el(T, 'Interval', 1), el(T, 'DayOfWeek', 16), el(T, 'DeadOccur', 0)),
          el(T, 'Complete', complete ? 1 : 0),
        );
      await d.initialSync(tasks);
      const added = await d.sync(tasks, { commands: [el(A, 'Add', el(A, 'ClientId', 'fern-1'), weekly(false))] });
      const serverId = childText(added.responses[0]!, 'ServerId', A)!;
      const { first, again, applied } = await twice(d, tasks, [change(serverId, weekly(true))]);
      assert.deepEqual(again, first);
      assert.equal(child(again, 'Responses', A), undefined, 'no Status 7');
      const ferns = (await live(fid)).filter((i) => i.data.subject === 'Water the ferns');
      assert.equal(ferns.length, 2, 'the series and one completed copy');
      const series = ferns.find((i) => i.serverId === serverId)!;
      assert.equal(series.data.complete, false);
      assert.equal(childText(child(applied.changes[0]!.appData, 'Recurrence', T)!, 'Occurrences', T), '4', 'moved on by one occurrence');
    });

    it('MoveItems sent again: Status 3 with the same DstMsgId, one move; 1 once the moved item has gone on', async () => {
      const d = await device();
      const inbox = d.folderByType(2).serverId;
      const bin = d.folderByType(4).serverId;
      const item = await srv.store.putItem({ userId: user.id, folderId: await folderId(d, 2), class: 'Email', data: { subject: 'move me', read: false } });
      await d.initialSync(inbox);
      const move = el('Move', 'MoveItems', el('Move', 'Move', el('Move', 'SrcMsgId', item.serverId), el('Move', 'SrcFldId', inbox), el('Move', 'DstFldId', bin)));
      const answer = async () => {
        const r = await d.client.post('MoveItems', move);
        const resp = child(r.wbxml!, 'Response', 'Move')!;
        return { status: childText(resp, 'Status', 'Move'), dst: childText(resp, 'DstMsgId', 'Move') };
      };
      const first = await answer();
      assert.equal(first.status, '3');
      assert.deepEqual(await answer(), first, 'the same answer');
      const inBin = (await live(await folderId(d, 4))).filter((i) => i.data.subject === 'move me');
      assert.deepEqual(inBin.map((i) => i.serverId), [first.dst], 'moved once');
      // Another device deletes the moved copy: a retry now is answered 1 (the source is gone,
      // and a DstMsgId that no Sync will ever tell this device about would be a ghost).
      await srv.store.deleteItem(user.id, inBin[0]!.id);
      assert.deepEqual(await answer(), { status: '1', dst: undefined });
    });

    it("a retried Change when another device changed the item in between: the same answer, then the other device's version", async () => {
      const d = await device();
      const other = await device();
      const contacts = d.folderByType(9).serverId;
      const item = await srv.store.putItem({ userId: user.id, folderId: await folderId(d, 9), class: 'Contacts', data: { fileAs: 'Lee, Ann', firstName: 'Ann', lastName: 'Lee' } });
      await d.initialSync(contacts);
      await other.initialSync(contacts);
      const mine = el(A, 'ApplicationData', el('Contacts', 'FileAs', 'Lee, Anna'), el('Contacts', 'FirstName', 'Anna'), el('Contacts', 'LastName', 'Lee'));
      const body = el(A, 'Sync', el(A, 'Collections', d.collectionRequest(contacts, { commands: [change(item.serverId, mine)] })));
      const first = await d.syncRaw(body);
      // Then another device (it had synced after the first attempt) renames the contact.
      await other.sync(contacts);
      const theirs = el(A, 'ApplicationData', el('Contacts', 'FileAs', 'Lee, Annie'), el('Contacts', 'FirstName', 'Annie'), el('Contacts', 'LastName', 'Lee'));
      const taken = await other.sync(contacts, { commands: [change(item.serverId, theirs)] });
      assert.equal(taken.responses.length, 0, "the other device's Change is taken");
      const again = await d.syncRaw(body);
      const col = (r: typeof first) => children(child(r.wbxml!, 'Collections', A)!, 'Collection', A)[0]!;
      assert.deepEqual(child(col(again), 'Responses', A), child(col(first), 'Responses', A), 'its Change is answered as it was (taken)');
      const got = d.apply(contacts, col(again));
      assert.deepEqual(got.changes.map((c) => childText(c.appData, 'FirstName', 'Contacts')), ['Annie'], "the other device's later version follows");
    });

    it('a different request with the same key is applied as new', async () => {
      const d = await device();
      const inbox = d.folderByType(2).serverId;
      const fid = await folderId(d, 2);
      const x = await srv.store.putItem({ userId: user.id, folderId: fid, class: 'Email', data: { subject: 'x', read: false } });
      const y = await srv.store.putItem({ userId: user.id, folderId: fid, class: 'Email', data: { subject: 'y', read: false } });
      await d.initialSync(inbox);
      const key = d.view(inbox).syncKey;
      await d.sync(inbox, { commands: [del(x.serverId)], deletesAsMoves: false });
      d.view(inbox).syncKey = key; // its answer lost; the device sends another request instead
      const r = await d.sync(inbox, { commands: [del(y.serverId)], deletesAsMoves: false });
      assert.equal(r.status, 1);
      assert.equal(r.responses.length, 0);
      assert.deepEqual(r.deletes, [x.serverId], 'the first Delete, not part of this request, is news');
      assert.equal((await live(fid)).filter((i) => i.serverId === x.serverId || i.serverId === y.serverId).length, 0);
    });
  });
}
