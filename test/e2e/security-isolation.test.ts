/**
 * Another user's items are never reachable, whatever ids a request names: user A's device names
 * user B's ServerIds, folder ids, LongIds and FileReferences in every command that takes one, and
 * gets exactly the answer a made-up id of the same kind gets (refused, and nothing revealed),
 * while B's data stays as it was. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { child, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { EasClient, type EasResponse } from '../helpers/eas-client.ts';
import { startTestServer } from '../helpers/server.ts';
import { Device } from './device.ts';

const A = { email: 'alice@example.com', password: 'pw-alice-123456' };
const B = { email: 'bob@example.com', password: 'pw-bob-1234567' };

const RAW = Buffer.from(
  [
    'From: Carol <carol@example.org>',
    'To: bob@example.com',
    'Subject: For Bob only',
    'Message-ID: <bob-only@example.org>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Secret text.',
    '--b1',
    'Content-Type: application/octet-stream; name="secret.bin"',
    'Content-Disposition: attachment; filename="secret.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('secret attachment bytes').toString('base64'),
    '--b1--',
    '',
  ].join('\r\n'),
);

/** What a response says, with the named id itself taken out: HTTP status and every element but the echoed ids. */
function shape(r: EasResponse, ids: readonly string[]): string {
  const walk = (e: WbxmlElement): unknown => ({
    n: `${e.ns}:${e.name}`,
    c: e.children.map((c) => (typeof c === 'string' ? (ids.includes(c) ? '<id>' : c) : c instanceof Uint8Array ? '<bytes>' : walk(c))),
  });
  return JSON.stringify({ status: r.status, body: r.wbxml ? walk(r.wbxml) : r.body.length });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`isolation between users (${backend})`, () => {
    it("user A's device naming user B's ids gets what an unknown id gets, and B's data is untouched", async () => {
      const srv = await startTestServer({ users: [A, B], backend });
      try {
        const bId = srv.users.get(B.email)!.id;
        const [delivered] = await deliverMessage(srv.runtime.deliveryTargets, { envelopeFrom: 'carol@example.org', recipients: [B.email], raw: RAW });
        assert.equal(delivered!.outcome, 'delivered');
        const bItem = (await srv.store.getItem(bId, delivered!.itemId!))!;
        const bFolder = await srv.store.createFolder({ userId: bId, parentId: null, displayName: 'Bob private', type: 12 });
        const bDevice = new Device({ url: srv.url, user: B.email, password: B.password, deviceId: 'BOBPHONE' });
        await bDevice.folderSync();
        const bInbox = await bDevice.initialSync('inbox', { options: [el('AirSyncBase', 'BodyPreference', el('AirSyncBase', 'Type', 1))] });
        const fileRef = (() => {
          const att = child(bInbox[0]!.appData, 'Attachments', 'AirSyncBase');
          return att ? String(child(children(att)[0]!, 'FileReference', 'AirSyncBase')?.children[0]) : undefined;
        })();
        assert.ok(fileRef, 'B sees a FileReference for the attachment');
        const before = JSON.stringify(await srv.store.getItem(bId, bItem.id));

        const a = new Device({ url: srv.url, user: A.email, password: A.password, deviceId: 'ALICEPHONE' });
        await a.folderSync();
        await a.initialSync('inbox');
        const client = new EasClient({ url: srv.url, user: A.email, password: A.password, deviceId: 'ALICEPHONE' });
        const fake = { serverId: 'no-such-item-0001', folder: 'no-such-folder-0001', fileRef: 'no-such-ref-0001' };
        const real = { serverId: bItem.serverId, folder: bFolder.serverId, fileRef };
        const ids = [fake.serverId, fake.folder, fake.fileRef, real.serverId, real.folder, real.fileRef];

        // Each request is made twice, with B's id and with a made-up one: the answers must match.
        const same = async (what: string, make: (id: { serverId: string; folder: string; fileRef: string }) => Promise<EasResponse>) => {
          const forB = await make(real);
          const forNobody = await make(fake);
          if (process.env.EASD_TEST_DEBUG) console.log(what, shape(forB, ids).slice(0, 300));
          // A real EAS answer (200 with a body), not a refusal of the request's form.
          assert.equal(forB.status, 200, `${what}: HTTP status`);
          assert.ok(forB.wbxml, `${what}: a WBXML answer`);
          assert.equal(shape(forB, ids), shape(forNobody, ids), `${what}: B's id is answered like an unknown one`);
          assert.ok(!forB.body.includes(Buffer.from('For Bob only')) && !forB.body.includes(Buffer.from('secret')), `${what}: nothing of B's leaks`);
        };

        const syncWith = (commands: WbxmlElement[]) => a.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', a.collectionRequest('inbox', { commands }))));
        await same('Sync Fetch', (id) => syncWith([el('AirSync', 'Fetch', el('AirSync', 'ServerId', id.serverId))]));
        await same('Sync Change', (id) =>
          syncWith([el('AirSync', 'Change', el('AirSync', 'ServerId', id.serverId), el('AirSync', 'ApplicationData', el('Email', 'Read', '1')))]),
        );
        await same('Sync Delete', (id) => syncWith([el('AirSync', 'Delete', el('AirSync', 'ServerId', id.serverId))]));
        await same('Sync of a folder', (id) =>
          a.syncRaw(el('AirSync', 'Sync', el('AirSync', 'Collections', el('AirSync', 'Collection', el('AirSync', 'SyncKey', '0'), el('AirSync', 'CollectionId', id.folder))))),
        );
        await same('GetItemEstimate', (id) =>
          client.post(
            'GetItemEstimate',
            el('GetItemEstimate', 'GetItemEstimate', el('GetItemEstimate', 'Collections', el('GetItemEstimate', 'Collection', el('AirSync', 'SyncKey', '1'), el('GetItemEstimate', 'CollectionId', id.folder)))),
          ),
        );
        await same('ItemOperations Fetch by ServerId', (id) =>
          client.post('ItemOperations', el('ItemOperations', 'ItemOperations', el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'Mailbox'), el('AirSync', 'CollectionId', 'inbox'), el('AirSync', 'ServerId', id.serverId)))),
        );
        await same('ItemOperations Fetch by LongId', (id) =>
          client.post('ItemOperations', el('ItemOperations', 'ItemOperations', el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'Mailbox'), el('Search', 'LongId', id.serverId)))),
        );
        await same('ItemOperations Fetch by FileReference', (id) =>
          client.post('ItemOperations', el('ItemOperations', 'ItemOperations', el('ItemOperations', 'Fetch', el('ItemOperations', 'Store', 'Mailbox'), el('AirSyncBase', 'FileReference', id.fileRef)))),
        );
        await same('MoveItems', (id) =>
          client.post('MoveItems', el('Move', 'MoveItems', el('Move', 'Move', el('Move', 'SrcMsgId', id.serverId), el('Move', 'SrcFldId', 'inbox'), el('Move', 'DstFldId', 'deleted')))),
        );
        await same('FolderUpdate', async (id) => {
          await a.folderSync();
          return client.post('FolderUpdate', el('FolderHierarchy', 'FolderUpdate', el('FolderHierarchy', 'SyncKey', a.folderSyncKey), el('FolderHierarchy', 'ServerId', id.folder), el('FolderHierarchy', 'ParentId', '0'), el('FolderHierarchy', 'DisplayName', 'Taken')));
        });
        await same('FolderDelete', async (id) => {
          await a.folderSync();
          return client.post('FolderDelete', el('FolderHierarchy', 'FolderDelete', el('FolderHierarchy', 'SyncKey', a.folderSyncKey), el('FolderHierarchy', 'ServerId', id.folder)));
        });
        await same('SmartForward', (id) =>
          client.post(
            'SmartForward',
            el('ComposeMail', 'SmartForward', [
              el('ComposeMail', 'ClientId', `fwd-${id.serverId}`),
              el('ComposeMail', 'Source', [el('ComposeMail', 'FolderId', 'inbox'), el('ComposeMail', 'ItemId', id.serverId)]),
              el('ComposeMail', 'Mime', Buffer.from('From: alice@example.com\r\nTo: alice@example.com\r\nSubject: fw\r\n\r\nsee below\r\n').toString()),
            ]),
          ),
        );

        // B's message, folder and attachment are as they were.
        assert.equal(JSON.stringify(await srv.store.getItem(bId, bItem.id)), before);
        assert.ok(await srv.store.getFolder(bId, bFolder.id));
        assert.equal((await srv.store.listChangesSince(bId, (await srv.store.getFolderByServerId(bId, 'deleted'))!.id, 0, 10)).length, 0);
      } finally {
        await srv.close();
      }
    });
  });
}
