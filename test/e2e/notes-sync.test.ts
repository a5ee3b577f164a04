/**
 * Notes (MS-ASNOTE, 14.0+) through the device simulator, on SQLite and PostgreSQL: every element
 * from one device to another (14.1, 16.1), a Change, and a 12.1 client, which has no Notes class.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '../../src/store/types.ts';
import { childText, children, el, text, type WbxmlElement } from '../../src/wbxml/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const N = 'Notes';
const BODY_TEXT = [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1))];

function note(subject: string, body: string): WbxmlElement {
  return el(
    'AirSync',
    'ApplicationData',
    el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', body)),
    el(N, 'Subject', subject),
    el(N, 'MessageClass', 'IPN.StickyNote'),
    el(N, 'LastModifiedDate', '20261101T093000Z'),
    el(N, 'Categories', el(N, 'Category', 'Home'), el(N, 'Category', 'Ideas')),
  );
}

function fields(e: WbxmlElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of children(e)) {
    if (c.name === 'Body') out[`${c.ns}:${c.name}`] = childText(c, 'Data', 'AirSyncBase') ?? '';
    else if (c.name === 'Categories') out[`${c.ns}:${c.name}`] = children(c).map((x) => text(x)).join('|');
    else out[`${c.ns}:${c.name}`] = text(c) ?? '';
  }
  return out;
}

const add = (clientId: string, appData: WbxmlElement) => el('AirSync', 'Add', el('AirSync', 'ClientId', clientId), appData);
const statuses = (responses: WbxmlElement[]) => responses.map((r) => [r.name, childText(r, 'Status', 'AirSync')]);

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`notes scenarios (${backend})`, () => {
    let server: TestServer;
    let alice: User;
    let n = 0;
    const device = async (version = '16.1') => {
      const d = new Device({ url: server.url, user: ALICE.email, password: ALICE.password, deviceId: `NTE${backend}${++n}`, deviceType: 'TestPhone', version });
      assert.equal((await d.folderSync()).status, 1);
      return d;
    };

    before(async () => {
      server = await startTestServer({ users: [ALICE], backend, logLevel: 'warn' });
      alice = server.users.get(ALICE.email)!;
    });
    after(async () => server.close());

    for (const version of ['14.1', '16.1']) {
      it(`every element goes device A -> server -> device B unchanged (${version}), and a Change follows`, async () => {
        const a = await device(version);
        const b = await device(version);
        const id = a.folderByType(10).serverId;
        await a.initialSync(id, { options: BODY_TEXT });
        await b.initialSync(id, { options: BODY_TEXT });
        const sent = note(`Ideas ${version}`, 'A garden.\nA shed.');
        const r = await a.sync(id, { commands: [add('n-1', sent)], options: BODY_TEXT });
        assert.deepEqual(statuses(r.responses), [['Add', '1']]);
        const got = await b.sync(id, { options: BODY_TEXT });
        assert.equal(got.adds.length, 1);
        assert.deepEqual(fields(got.adds[0]!.appData), fields(sent));

        const serverId = got.adds[0]!.serverId;
        const changed = note(`Ideas ${version}`, 'A garden.\nA shed.\nA pond.');
        await b.sync(id, { commands: [el('AirSync', 'Change', el('AirSync', 'ServerId', serverId), changed)], options: BODY_TEXT });
        const onA = await a.sync(id, { options: BODY_TEXT });
        assert.deepEqual(onA.changes.map((x) => x.serverId), [serverId]);
        assert.deepEqual(fields(onA.changes[0]!.appData), fields(changed));
      });
    }

    it('a 12.1 client has no Notes class (MS-ASNOTE 2.2.2): its Add is refused with Status 6, nothing stored', async () => {
      const old = await device('12.1');
      const id = old.folderByType(10).serverId;
      await old.initialSync(id);
      const folderId = (await server.store.getFolderByServerId(alice.id, id))!.id;
      const before = (await server.store.listChangesSince(alice.id, folderId, 0, 1000)).length;
      const r = await old.sync(id, { commands: [add('old-1', el('AirSync', 'ApplicationData', el('AirSyncBase', 'Body', el('AirSyncBase', 'Type', 1), el('AirSyncBase', 'Data', 'x'))))] });
      assert.deepEqual(statuses(r.responses), [['Add', '6']]);
      assert.equal((await server.store.listChangesSince(alice.id, folderId, 0, 1000)).length, before);
    });
  });
}
