/**
 * Echoes (src/sync/echoes.ts, kb-1.2): which client Changes owe the device the server's version,
 * and that a refused edit sent again is answered once. Client commands run against a real SQLite
 * store; the clock is one that moves on every reading, so values a class fills in from it (a
 * completed task's DateCompleted, MS-ASTASK 2.2.2.9) cannot make a Change look refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { converterFor } from '../../src/classes/index.ts';
import type { ConvertContext } from '../../src/classes/types.ts';
import type { Folder, JsonObject, Store, User } from '../../src/store/types.ts';
import { StoreMailbox } from '../../src/store/store-mailbox.ts';
import { applyClientCommand } from '../../src/sync/client-commands.ts';
import { changeDigest, EchoBook, REMEMBERED_REFUSALS } from '../../src/sync/echoes.ts';
import { HeldView } from '../../src/sync/held-view.ts';
import { KeyedLock } from '../../src/sync/keyed-lock.ts';
import type { SyncContext } from '../../src/sync/sync-context.ts';
import type { ClientCommand } from '../../src/sync/sync-request.ts';
import { el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { openTempSqliteStore, type TestStore } from '../helpers/db.ts';
import { ensureDefaultFolders } from '../helpers/default-folders.ts';

const item = (id: string, modseq: number) => ({ id, modseq }) as Parameters<EchoBook['refused']>[0];

describe('EchoBook', () => {
  it('owes one echo per edit and version: the same edit again at the same version owes nothing', () => {
    const book = new EchoBook(undefined, undefined);
    book.refused(item('i1', 5), 'd1');
    assert.deepEqual(book.owed(), ['i1']);
    const next = new EchoBook([], book.remembered());
    next.refused(item('i1', 5), 'd1');
    assert.deepEqual(next.owed(), [], 'the same refused edit again: no second echo');
    next.refused(item('i1', 5), 'd2');
    assert.deepEqual(next.owed(), ['i1'], 'another edit: one echo');
    const later = new EchoBook([], next.remembered());
    later.refused(item('i1', 6), 'd2');
    assert.deepEqual(later.owed(), ['i1'], 'the same edit on a newer server version: one echo');
  });

  it('remembers at most REMEMBERED_REFUSALS edits, the oldest forgotten first', () => {
    const book = new EchoBook(undefined, undefined);
    for (let i = 0; i <= REMEMBERED_REFUSALS; i++) book.refused(item(`i${i}`, 1), 'd');
    const kept = Object.keys(book.remembered());
    assert.equal(kept.length, REMEMBERED_REFUSALS);
    assert.ok(!kept.includes('i0') && kept.includes(`i${REMEMBERED_REFUSALS}`));
  });

  it('a digest tells the same Change from another, and an occurrence from the series', () => {
    const a = el('AirSync', 'ApplicationData', el('Email', 'Subject', 'x'));
    assert.equal(changeDigest(undefined, a), changeDigest(undefined, el('AirSync', 'ApplicationData', el('Email', 'Subject', 'x'))));
    assert.notEqual(changeDigest(undefined, a), changeDigest(undefined, el('AirSync', 'ApplicationData', el('Email', 'Subject', 'y'))));
    assert.notEqual(changeDigest(undefined, a), changeDigest('20260402T120000Z', a));
  });
});

describe('client Changes and echoes (SQLite store)', () => {
  let temp: TestStore;
  let store: Store;
  let user: User;
  let folders: Folder[];
  before(async () => {
    temp = await openTempSqliteStore();
    store = temp.store;
    user = await store.createUser({ email: 'erin@example.com', passwordHash: 'x', displayName: null });
    folders = await ensureDefaultFolders(store, user.id);
  });
  after(async () => temp?.cleanup());

  /** Applies one client Change to a stored item of the folder of `type`; the echoes it owes. */
  async function change(type: number, data: JsonObject, appData: WbxmlElement[]): Promise<{ owed: string[]; stored: JsonObject }> {
    const folder = folders.find((f) => f.type === type)!;
    const cls = type === 7 ? 'Tasks' : type === 8 ? 'Calendar' : 'Email';
    const put = await store.putItem({ userId: user.id, folderId: folder.id, class: cls, data });
    const mailbox = new StoreMailbox(store, user.id);
    const device = await store.upsertDevice({ userId: user.id, deviceId: 'ECHO1', deviceType: 'TestPhone' });
    const ctx: SyncContext = { mailbox, deviceState: store, user, device, version: '16.1', folders, now: () => Date.now(), locks: new KeyedLock() };
    // A clock that moves on every reading (a slow machine between two conversions).
    let tick = Date.parse('2026-05-01T10:00:00.000Z');
    const cctx: ConvertContext = { version: '16.1', bodyPreferences: [{ type: 1 }], userEmail: user.email, now: () => new Date((tick += 1000)) };
    const echoes = new EchoBook(undefined, undefined);
    const cmd: ClientCommand = { kind: 'Change', serverId: put.serverId, appData: el('AirSync', 'ApplicationData', appData) } as ClientCommand;
    const held = new HeldView(store, user.id, 'ECHO1', folder.id, 1);
    const out = await applyClientCommand(ctx, folder, converterFor(cls), cctx, {}, put.modseq, cmd, new Map(), held, true, undefined, undefined, echoes);
    assert.deepEqual(out, [], 'taken (a successful Change is not answered)');
    return { owed: echoes.owed(), stored: (await store.getItem(user.id, put.id))!.data };
  }

  it('a task completed without DateCompleted is taken as sent: the server fills the date in, nothing is echoed', async () => {
    const r = await change(7, { subject: 'Report' }, [el('Tasks', 'Subject', 'Report'), el('Tasks', 'Complete', '1')]);
    assert.equal(r.stored['complete'], true);
    assert.equal(typeof r.stored['dateCompleted'], 'string');
    assert.deepEqual(r.owed, []);
  });

  it('an attendee copy renamed on the device owes the server\'s version; its reminder alone owes nothing', async () => {
    const meeting = { subject: 'Dan\'s sync', startTime: '2026-05-02T09:00:00.000Z', endTime: '2026-05-02T10:00:00.000Z', organizerEmail: 'dan@example.org', meetingStatus: 3, attendees: [{ email: 'erin@example.com', name: 'Erin' }] };
    const renamed = await change(8, meeting, [el('Calendar', 'Subject', 'Mine'), el('Calendar', 'Reminder', '5')]);
    assert.deepEqual([renamed.stored['subject'], renamed.stored['reminder']], ['Dan\'s sync', 5]);
    assert.equal(renamed.owed.length, 1);
    const reminder = await change(8, meeting, [el('Calendar', 'Reminder', '5')]);
    assert.deepEqual(reminder.owed, []);
  });

  it('a received message: Read and Flag owe nothing, its Subject owes an echo; in Drafts the Subject is the device\'s', async () => {
    const message = { subject: 'Invoice', from: 'shop@example.net', read: false };
    assert.deepEqual((await change(2, message, [el('Email', 'Read', '1'), el('Email', 'Flag', el('Email', 'Status', '2'))])).owed, []);
    const subject = await change(2, message, [el('Email', 'Subject', 'Paid')]);
    assert.equal(subject.stored['subject'], 'Invoice');
    assert.equal(subject.owed.length, 1);
    const draft = await change(3, { subject: 'Draft' }, [el('Email', 'Subject', 'Draft 2')]);
    assert.deepEqual([draft.stored['subject'], draft.owed], ['Draft 2', []]);
  });
});
