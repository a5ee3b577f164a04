/**
 * Initial paging of a folder whose items changed after they were created, for every class and
 * WindowSizes from 1 to 200, on SQLite and on PostgreSQL.
 *
 * The bug this guards against: a new phone paging its initial sync with a small WindowSize over an
 * Inbox of 120 messages, 24 of which another device had marked read, got 97 Adds and 23 Changes
 * for ServerIds it had never been given (WindowSize 100: 100 of 120). Add or Change was decided
 * from the item's creation sequence against the device's cursor, and an item created early and
 * changed late sits late in the change feed, after the cursor has passed its creation.
 *
 * Per class and backend: one server, one mailbox of ITEMS items of that class in its default
 * folder, created first, then every fifth item changed after creation (mail: marked read by
 * another device through a Sync Change; the other classes: a field changed on the server with
 * Store.updateItem). Then, per WindowSize, a brand-new device (its own DeviceId) does FolderSync,
 * SyncKey 0 and Syncs with that WindowSize until MoreAvailable is gone, and one more Sync.
 * Every item must arrive exactly once, as an Add; no Change or Delete may name a ServerId the
 * device does not hold; the device's final view must be the folder's items, with the changed
 * field's current value; the last Sync must bring nothing. All window sizes run before the
 * test asserts, so a failure lists every WindowSize that went wrong with its counts.
 *
 * Window sizes: every one from 1 to 200 for mail and contacts (the two classes of the report);
 * for calendar, tasks and notes 1..30, every 7th from 37 to 198, and 119, 120 and 200 (just
 * under, at and past the folder's size): every size for all five classes would be 13,860
 * requests against these 9,774 (FolderSync, SyncKey 0 and the last Sync included). SQLite and
 * PostgreSQL run side by side (PostgreSQL's work is in its own processes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROTECTION_OFF } from '../../src/devices/protection.ts';
import type { Folder, Item, ItemClass, JsonObject, Store, User } from '../../src/store/types.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { Device } from '../e2e/device.ts';
import { pgSkipped } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
/** Items in the folder. */
const ITEMS = 120;
/** Every CHANGE_EVERY-th item (i % CHANGE_EVERY === 2: early, middle and late ones) is changed after creation: 24 of 120. */
const CHANGE_EVERY = 5;
const isChanged = (i: number) => i % CHANGE_EVERY === 2;
const MAX_WINDOW = 200;
const ALL_WINDOWS = Array.from({ length: MAX_WINDOW }, (_, i) => i + 1);
/** 1..30, every 7th from 37 to 198, and the sizes around the folder's (119, 120) and the largest. */
const SPREAD_WINDOWS = [...new Set([...ALL_WINDOWS.filter((w) => w <= 30 || (w > 30 && (w - 30) % 7 === 0)), ITEMS - 1, ITEMS, MAX_WINDOW])].sort((a, b) => a - b);
const SPREAD_NAME = `WindowSize 1..30, every 7th from 37 to ${MAX_WINDOW - 2}, ${ITEMS - 1}, ${ITEMS} and ${MAX_WINDOW}`;
/** Devices paging at once (their requests interleave on the server; each device is sequential). */
const PARALLEL = 4;

interface ClassCase {
  /** Test name part. */
  name: string;
  /** Every WindowSize from 1 to MAX_WINDOW, or SPREAD_WINDOWS. */
  allWindows: boolean;
  itemClass: ItemClass;
  /** FolderSync Type of the default folder (MS-ASCMD 2.2.3.186.3). */
  folderType: number;
  /** Stored data of item i. */
  data(i: number): JsonObject;
  /** The field that changes: its ApplicationData element, and its value as EAS text from stored data. */
  tag: [ns: string, name: string];
  easValue(data: JsonObject): string | undefined;
  /** Makes the change after creation: a Sync Change from another device, or a store update. */
  change: 'device' | 'store';
  /** For 'store': the changed data. For 'device': the ApplicationData children of the Change. */
  changedData?(data: JsonObject): JsonObject;
  changeAppData?(): WbxmlElement[];
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

const CASES: ClassCase[] = [
  {
    name: 'Email (Inbox)',
    allWindows: true,
    itemClass: 'Email',
    folderType: 2,
    data: (i) => ({
      subject: `Message ${i}`,
      from: 'Carol <carol@example.org>',
      to: 'alice@example.com',
      dateReceived: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
      read: false,
      body: { text: `Body of message ${i}` },
    }),
    tag: ['Email', 'Read'],
    easValue: (d) => (d.read === true ? '1' : '0'),
    change: 'device',
    changeAppData: () => [el('Email', 'Read', 1)],
  },
  {
    name: 'Contacts',
    allWindows: true,
    itemClass: 'Contacts',
    folderType: 9,
    data: (i) => ({ firstName: `Person${i}`, lastName: 'Paging', fileAs: `Paging, Person${i}` }),
    tag: ['Contacts', 'JobTitle'],
    easValue: (d) => str(d.jobTitle),
    change: 'store',
    changedData: (d) => ({ ...d, jobTitle: `Changed ${String(d.firstName)}` }),
  },
  {
    name: 'Calendar',
    allWindows: false,
    itemClass: 'Calendar',
    folderType: 8,
    data: (i) => ({
      subject: `Event ${i}`,
      startTime: new Date(Date.UTC(2026, 11, 1, 8) + i * 3_600_000).toISOString(),
      endTime: new Date(Date.UTC(2026, 11, 1, 9) + i * 3_600_000).toISOString(),
      uid: `uid-initial-paging-${i}`,
    }),
    tag: ['Calendar', 'Subject'],
    easValue: (d) => str(d.subject),
    change: 'store',
    changedData: (d) => ({ ...d, subject: `${String(d.subject)} (moved)` }),
  },
  {
    name: 'Tasks',
    allWindows: false,
    itemClass: 'Tasks',
    folderType: 7,
    data: (i) => ({ subject: `Task ${i}`, complete: false }),
    tag: ['Tasks', 'Subject'],
    easValue: (d) => str(d.subject),
    change: 'store',
    changedData: (d) => ({ ...d, subject: `${String(d.subject)} (renamed)` }),
  },
  {
    name: 'Notes',
    allWindows: false,
    itemClass: 'Notes',
    folderType: 10,
    data: (i) => ({ subject: `Note ${i}`, body: { text: `Text of note ${i}` } }),
    tag: ['Notes', 'Subject'],
    easValue: (d) => str(d.subject),
    change: 'store',
    changedData: (d) => ({ ...d, subject: `${String(d.subject)} (edited)` }),
  },
];

/** What one device saw while paging from SyncKey 0 to the end with one WindowSize. */
interface PagingRun {
  window: number;
  requests: number;
  adds: number;
  /** Adds for a ServerId the device already held. */
  duplicateAdds: number;
  changesUnheld: number;
  changesHeld: number;
  deletesUnheld: number;
  deletesHeld: number;
  /** Any non-1 Sync status, or a window exceeded. */
  errors: string[];
  /** Commands in the Sync after MoreAvailable was gone. */
  afterEnd: number;
  /** ServerId -> ApplicationData the device holds at the end. */
  held: Map<string, WbxmlElement>;
}

/** One Sync of one collection through the device, applied to `run` (commands counted, never asserted). */
async function pageOnce(d: Device, collectionId: string, window: number | undefined, run: PagingRun): Promise<{ moreAvailable: boolean; commands: number }> {
  const response = await d.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', d.collectionRequest(collectionId, window === undefined ? {} : { windowSize: window }))));
  run.requests++;
  if (response.status !== 200) {
    run.errors.push(`HTTP ${response.status}`);
    return { moreAvailable: false, commands: 0 };
  }
  if (!response.wbxml) return { moreAvailable: false, commands: 0 }; // 14.0+: nothing to say
  const top = childText(response.wbxml, 'Status', 'AirSync');
  if (top !== undefined) {
    run.errors.push(`Sync Status ${top}`);
    return { moreAvailable: false, commands: 0 };
  }
  const collection = children(child(response.wbxml, 'Collections', 'AirSync')!, 'Collection', 'AirSync').find((c) => childText(c, 'CollectionId', 'AirSync') === collectionId);
  if (!collection) return { moreAvailable: false, commands: 0 };
  const status = childText(collection, 'Status', 'AirSync');
  if (status !== '1') {
    run.errors.push(`Collection Status ${status}`);
    return { moreAvailable: false, commands: 0 };
  }
  const key = childText(collection, 'SyncKey', 'AirSync');
  if (key) d.view(collectionId).syncKey = key;
  const cmds = child(collection, 'Commands', 'AirSync');
  const list = cmds ? children(cmds) : [];
  if (window !== undefined && list.length > window) run.errors.push(`${list.length} commands for WindowSize ${window}`);
  for (const c of list) {
    const serverId = childText(c, 'ServerId', 'AirSync')!;
    const has = run.held.has(serverId);
    if (c.name === 'Add') {
      run.adds++;
      if (has) run.duplicateAdds++;
      run.held.set(serverId, child(c, 'ApplicationData', 'AirSync')!);
    } else if (c.name === 'Change') {
      if (has) {
        run.changesHeld++;
        run.held.set(serverId, child(c, 'ApplicationData', 'AirSync')!);
      } else {
        // A phone has nothing to change: the item is lost to it.
        run.changesUnheld++;
      }
    } else if (c.name === 'Delete' || c.name === 'SoftDelete') {
      if (has) run.deletesHeld++;
      else run.deletesUnheld++;
      run.held.delete(serverId);
    } else {
      run.errors.push(`unexpected command ${c.name}`);
    }
  }
  return { moreAvailable: !!child(collection, 'MoreAvailable', 'AirSync'), commands: list.length };
}

/** A new device: FolderSync, SyncKey 0, Syncs with `window` until MoreAvailable is gone, one more Sync. */
async function initialPaging(url: string, deviceId: string, folderType: number, window: number): Promise<PagingRun> {
  const d = new Device({ url, user: ALICE.email, password: ALICE.password, deviceId, deviceType: 'TestPhone', version: '16.1' });
  const run: PagingRun = { window, requests: 0, adds: 0, duplicateAdds: 0, changesUnheld: 0, changesHeld: 0, deletesUnheld: 0, deletesHeld: 0, errors: [], afterEnd: 0, held: new Map() };
  const fs = await d.folderSync();
  if (fs.status !== 1) {
    run.errors.push(`FolderSync Status ${fs.status}`);
    return run;
  }
  const collectionId = d.folderByType(folderType).serverId;
  await pageOnce(d, collectionId, undefined, run); // SyncKey 0
  if (run.errors.length) return run;
  for (let i = 0; ; i++) {
    const page = await pageOnce(d, collectionId, window, run);
    if (run.errors.length) return run;
    if (!page.moreAvailable) break;
    if (i > ITEMS * 3) {
      run.errors.push('MoreAvailable never ended');
      return run;
    }
  }
  run.afterEnd = (await pageOnce(d, collectionId, window, run)).commands;
  return run;
}

/** The ways a run differs from what a new device must get; empty when it is right. */
function problems(run: PagingRun, live: Item[], c: ClassCase): string[] {
  const out: string[] = [...run.errors];
  const expected = new Map(live.map((i) => [i.serverId, i]));
  const missing = [...expected.keys()].filter((s) => !run.held.has(s)).length;
  const extra = [...run.held.keys()].filter((s) => !expected.has(s)).length;
  let wrongValue = 0;
  for (const [serverId, appData] of run.held) {
    const item = expected.get(serverId);
    if (item && childText(appData, c.tag[1], c.tag[0]) !== c.easValue(item.data)) wrongValue++;
  }
  if (run.adds !== live.length || run.duplicateAdds) out.push(`${run.adds} Adds of ${live.length} items${run.duplicateAdds ? ` (${run.duplicateAdds} for held ServerIds)` : ''}`);
  if (run.changesUnheld) out.push(`${run.changesUnheld} Changes for ServerIds not held`);
  if (run.deletesUnheld) out.push(`${run.deletesUnheld} Deletes for ServerIds not held`);
  if (run.deletesHeld) out.push(`${run.deletesHeld} Deletes of held items`);
  if (missing) out.push(`${missing} items missing from the device`);
  if (extra) out.push(`${extra} ServerIds on the device that the folder does not have`);
  if (wrongValue) out.push(`${wrongValue} items with a wrong ${c.tag[1]}`);
  if (run.afterEnd) out.push(`${run.afterEnd} commands in the Sync after the end`);
  return out;
}

/** Runs `fn` over `windows` with at most `parallel` at once; results in order. */
async function eachWindow<T>(windows: number[], parallel: number, fn: (w: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(windows.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < windows.length) {
        const i = next++;
        out[i] = await fn(windows[i]!);
      }
    }),
  );
  return out;
}

/** Creates the folder's items, then changes every CHANGE_EVERY-th one; returns the live items. */
async function buildMailbox(server: TestServer, user: User, c: ClassCase): Promise<Item[]> {
  // FolderSync of the device that makes the changes also creates the default folders.
  const other = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: 'OTHERDEVICE1', deviceType: 'TestPhone', version: '16.1' });
  assert.equal((await other.folderSync()).status, 1);
  const folder: Folder | undefined = (await server.store.listFolders(user.id)).find((f) => f.type === c.folderType);
  assert.ok(folder, `default folder of type ${c.folderType}`);
  const created: Item[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const data = c.data(i);
    created.push(await server.store.putItem({ userId: user.id, folderId: folder.id, class: c.itemClass, data, uid: str(data.uid) ?? null }));
  }
  const toChange = created.filter((_, i) => isChanged(i));
  if (c.change === 'device') {
    // The other device syncs the folder, then changes the items through a real Sync Change.
    const collectionId = other.folderByType(c.folderType).serverId;
    const adds = await other.initialSync(collectionId, { windowSize: 512 });
    assert.equal(adds.length, ITEMS, 'the other device has every item');
    const r = await other.sync(collectionId, {
      windowSize: 512,
      commands: toChange.map((it) => el('AirSync', 'Change', el('AirSync', 'ServerId', it.serverId), el('AirSync', 'ApplicationData', c.changeAppData!()))),
    });
    assert.equal(r.status, 1, 'the other device\'s Sync Change');
    const failed = r.responses.filter((x) => x.name === 'Change');
    assert.equal(failed.length, 0, 'no Change refused');
  } else {
    for (const it of toChange) await server.store.updateItem(user.id, it.id, { data: c.changedData!(it.data) });
  }
  const live = (await liveOf(server.store, user.id, folder.id)).filter((i) => !i.deleted);
  assert.equal(live.length, ITEMS);
  // The changes took: the changed items are the last in the feed, their creation sequence early.
  const changedIds = new Set(toChange.map((i) => i.id));
  const changedNow = live.filter((i) => changedIds.has(i.id));
  assert.equal(changedNow.length, toChange.length);
  for (const i of changedNow) {
    assert.ok(i.modseq > i.createdModseq, `item ${i.serverId} changed after creation`);
    assert.notEqual(c.easValue(i.data), c.easValue(c.data(created.findIndex((x) => x.id === i.id))), `item ${i.serverId} has the changed value`);
  }
  return live;
}

async function liveOf(store: Store, userId: string, folderId: string): Promise<Item[]> {
  return store.listChangesSince(userId, folderId, 0, 10_000);
}

const BACKENDS = pgSkipped() ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);

// The backends side by side: SQLite works in this process, PostgreSQL mostly in its own.
describe('initial paging', { concurrency: BACKENDS.length }, () => {
  for (const backend of BACKENDS) {
    describe(`initial paging (${backend})`, () => {
      for (const c of CASES) {
        describe(`initial paging (${backend}): ${c.name}`, () => {
          let server: TestServer;
          let user: User;
          let live: Item[];

          before(async () => {
            // 200 devices of one user in a minute or two are far past the user's request budget
            // (900 a minute): throttling is off, it is not what this test is about.
            server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn', config: { protection: PROTECTION_OFF } });
            user = server.users.get(ALICE.email)!;
            live = await buildMailbox(server, user, c);
          });
          after(async () => server?.close());

          // EASD_PAGING_ALL=1 runs every WindowSize for every class (a few minutes more).
          const all = c.allWindows || process.env.EASD_PAGING_ALL === '1';
          const windows = all ? ALL_WINDOWS : SPREAD_WINDOWS;
          const range = all ? `WindowSize 1..${MAX_WINDOW}` : SPREAD_NAME;
          it(`initial paging, ${range}: a new device gets each of ${ITEMS} ${c.name} items (${ITEMS / CHANGE_EVERY} changed after creation) exactly once as an Add`, async () => {
            const runs = await eachWindow(windows, PARALLEL, (w) => initialPaging(server.url, `NEWPHONEW${w}`, c.folderType, w));
            const failures = runs.map((r) => ({ w: r.window, p: problems(r, live, c) })).filter((f) => f.p.length > 0);
            const report = failures.map((f) => `  WindowSize ${f.w}: ${f.p.join('; ')}`).join('\n');
            assert.equal(failures.length, 0, `initial paging of ${c.name} (${backend}) went wrong at ${failures.length} of ${windows.length} window sizes:\n${report}`);
          });
        });
      }
    });
  }
});
