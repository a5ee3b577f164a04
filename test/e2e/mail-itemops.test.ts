/**
 * Scenarios: ItemOperations and GetAttachment on delivered mail. Fetch of a whole message from an
 * outside domain (kb-2.3), attachments by FileReference inline, by Range and in the MultiPart
 * form, LongId, EmptyFolderContents with DeleteSubFolders, Move of a conversation, GetAttachment
 * for 12.x, and another user's ids refused without revealing anything. SQLite, PostgreSQL and the
 * in-memory mailbox.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseMessage } from '../../src/mail/parse.ts';
import { child, childText, children, decodeWbxml, el, type WbxmlElement } from '../../src/wbxml/index.ts';
import { Device } from './device.ts';
import { attachmentsOf, bodyOf, lmtpDeliver, mailOptions, startMailServer } from './mail-helpers.ts';

const ALICE = { email: 'alice@example.com', password: 'pw-alice-123456' };
const BOB = { email: 'bob@example.com', password: 'pw-bob-123456' };
const FIX = join(import.meta.dirname, '..', 'fixtures', 'mail');
const IO = 'ItemOperations';

function fetchByRef(ref: string, range?: string): WbxmlElement {
  return el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('AirSyncBase', 'FileReference', ref), range ? el(IO, 'Options', el(IO, 'Range', range)) : null));
}

function fetches(r: { wbxml?: WbxmlElement }): WbxmlElement[] {
  assert.equal(childText(r.wbxml!, 'Status', IO), '1');
  return children(child(r.wbxml!, 'Response', IO)!, 'Fetch', IO);
}

/** MS-ASCMD 2.2.1.10.1: int32 count, (offset, length) pairs, parts. */
function splitMultipart(buf: Buffer): Buffer[] {
  const n = buf.readInt32LE(0);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(buf.subarray(buf.readInt32LE(4 + 8 * i), buf.readInt32LE(4 + 8 * i) + buf.readInt32LE(8 + 8 * i)));
  return out;
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`ItemOperations and GetAttachment (${backend})`, () => {
    test('kb-2.3: a message from an outside domain is fetched whole; attachments by FileReference inline, by Range, and MultiPart; LongId; GetAttachment; other users refused', async () => {
      const m = await startMailServer({ users: [ALICE, BOB], backend });
      try {
        const raw = readFileSync(join(FIX, 'thunderbird-nested-rfc822.eml'));
        const parsed = await parseMessage(raw);
        const png = parsed.parts.find((p) => p.sha256 === (parsed.data.attachments as Array<{ sha256: string }>)[1]!.sha256)!.data;
        assert.deepEqual(await lmtpDeliver(m.lmtpPort, 'bruce@wayne-enterprises.com', [ALICE.email], raw), [250]);
        const dev = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `IOA${backend}`, version: '14.1' });
        await dev.folderSync();
        const inbox = dev.folderByType(2).serverId;
        const [item] = await dev.initialSync(inbox, { options: mailOptions([{ type: 2, truncationSize: 10 }]) });
        assert.equal(bodyOf(item!.appData).truncated, true);
        const atts = attachmentsOf(item!.appData);
        assert.deepEqual(atts.map((a) => [a.name, a.method]), [['message1.eml', '5'], ['yellowPixel.png', '1']]);
        const ref = atts[1]!.fileReference!;

        // The whole message by ServerId (the "message has not been downloaded" case, kb-2.3).
        const whole = await dev.client.post(
          'ItemOperations',
          el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('AirSync', 'CollectionId', inbox), el('AirSync', 'ServerId', item!.serverId), el(IO, 'Options', mailOptions([{ type: 2 }])))),
        );
        const [wf] = fetches(whole);
        assert.equal(childText(wf!, 'Status', IO), '1');
        assert.equal(childText(wf!, 'Class', 'AirSync'), 'Email');
        const props = child(wf!, 'Properties', IO)!;
        const wb = bodyOf(props);
        assert.equal(wb.truncated, false);
        assert.match(wb.data!, /which itself has 3 attachments/);

        // Inline: base64 Data.
        const [f1] = fetches(await dev.client.post('ItemOperations', fetchByRef(ref)));
        assert.equal(childText(f1!, 'Status', IO), '1');
        const p1 = child(f1!, 'Properties', IO)!;
        assert.equal(childText(p1, 'ContentType', 'AirSyncBase'), 'image/png');
        assert.deepEqual(Buffer.from(childText(p1, 'Data', IO)!, 'base64'), png);
        // Range: the first 10 bytes, with Range and Total.
        const [f2] = fetches(await dev.client.post('ItemOperations', fetchByRef(ref, '0-9')));
        const p2 = child(f2!, 'Properties', IO)!;
        assert.equal(childText(p2, 'Range', IO), '0-9');
        assert.equal(childText(p2, 'Total', IO), String(png.length));
        assert.deepEqual(Buffer.from(childText(p2, 'Data', IO)!, 'base64'), png.subarray(0, 10));
        // A range past the end is cut at the end; one starting past it is Status 8.
        const [f3] = fetches(await dev.client.post('ItemOperations', fetchByRef(ref, `100-${png.length + 500}`)));
        assert.deepEqual(Buffer.from(childText(child(f3!, 'Properties', IO)!, 'Data', IO)!, 'base64'), png.subarray(100));
        const [f4] = fetches(await dev.client.post('ItemOperations', fetchByRef(ref, `${png.length}-${png.length + 9}`)));
        assert.equal(childText(f4!, 'Status', IO), '8');
        // MultiPart: part 0 is the WBXML, Part 1 the bytes; the body's Data becomes a Part too.
        const mp = await dev.client.post(
          'ItemOperations',
          el(
            IO,
            'ItemOperations',
            el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('AirSyncBase', 'FileReference', ref)),
            el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('AirSync', 'CollectionId', inbox), el('AirSync', 'ServerId', item!.serverId), el(IO, 'Options', mailOptions([{ type: 2 }]))),
          ),
          { params: { acceptMultiPart: true } },
        );
        assert.equal(mp.status, 200);
        assert.match(mp.headers.get('content-type') ?? '', /application\/vnd\.ms-sync\.multipart/);
        const partsList = splitMultipart(mp.body);
        assert.equal(partsList.length, 3);
        const mw = decodeWbxml(partsList[0]!);
        const [mf1, mf2] = children(child(mw, 'Response', IO)!, 'Fetch', IO);
        assert.equal(childText(child(mf1!, 'Properties', IO)!, 'Part', IO), '1');
        assert.deepEqual(partsList[1], png);
        const mbody = child(child(mf2!, 'Properties', IO)!, 'Body', 'AirSyncBase')!;
        assert.equal(childText(mbody, 'Data', 'AirSyncBase'), undefined);
        assert.equal(childText(mbody, 'Part', IO), '2');
        assert.match(partsList[2]!.toString('utf8'), /which itself has 3 attachments/);

        // LongId (what Search hands out): the ServerId; an unknown one is Status 6.
        const [lf] = fetches(await dev.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('Search', 'LongId', item!.serverId)))));
        assert.equal(childText(lf!, 'Status', IO), '1');
        const [lf2] = fetches(await dev.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('Search', 'LongId', 'nope')))));
        assert.equal(childText(lf2!, 'Status', IO), '6');

        // GetAttachment (12.1).
        const old = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `IOOLD${backend}`, version: '12.1' });
        const ga = await old.client.post('GetAttachment', undefined, { params: { attachmentName: ref } });
        assert.equal(ga.status, 200);
        assert.equal(ga.headers.get('content-type'), 'image/png');
        assert.deepEqual(ga.body, png);

        // Bob with Alice's ids: refused exactly as unknown ids.
        const bob = new Device({ url: m.srv.url, user: BOB.email, password: BOB.password, deviceId: `IOB${backend}`, version: '14.1' });
        await bob.folderSync();
        const [bf] = fetches(await bob.client.post('ItemOperations', fetchByRef(ref)));
        assert.equal(childText(bf!, 'Status', IO), '15');
        const [bf2] = fetches(await bob.client.post('ItemOperations', fetchByRef('m000000000000000000000000:1')));
        assert.deepEqual(bf, { ...bf2!, children: bf2!.children.map((c, i) => (i === 1 ? bf!.children[1]! : c)) }, 'same answer as for a FileReference that does not exist');
        const [bs] = fetches(
          await bob.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('AirSync', 'CollectionId', inbox), el('AirSync', 'ServerId', item!.serverId)))),
        );
        assert.equal(childText(bs!, 'Status', IO), '6');
        const [bl] = fetches(await bob.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'Fetch', el(IO, 'Store', 'Mailbox'), el('Search', 'LongId', item!.serverId)))));
        assert.equal(childText(bl!, 'Status', IO), '6');
        const bga = await new Device({ url: m.srv.url, user: BOB.email, password: BOB.password, deviceId: `IOBOLD${backend}`, version: '12.1' }).client.post('GetAttachment', undefined, { params: { attachmentName: ref } });
        assert.equal(bga.status, 500);
        assert.equal(bga.body.length, 0);
      } finally {
        await m.close();
      }
    });

    test('EmptyFolderContents with DeleteSubFolders; Move of a conversation to another folder', async () => {
      const m = await startMailServer({ users: [ALICE], backend });
      try {
        const root = 'Message-ID: <root@x.test>\r\nFrom: x@x.test\r\nTo: alice@example.com\r\nSubject: thread\r\n\r\nfirst\r\n';
        const reply = 'Message-ID: <r1@x.test>\r\nIn-Reply-To: <root@x.test>\r\nReferences: <root@x.test>\r\nFrom: x@x.test\r\nTo: alice@example.com\r\nSubject: Re: thread\r\n\r\nsecond\r\n';
        const other = 'Message-ID: <o@x.test>\r\nFrom: x@x.test\r\nTo: alice@example.com\r\nSubject: other\r\n\r\nthird\r\n';
        for (const msg of [root, reply, other]) assert.deepEqual(await lmtpDeliver(m.lmtpPort, 'x@x.test', [ALICE.email], msg), [250]);
        const dev = new Device({ url: m.srv.url, user: ALICE.email, password: ALICE.password, deviceId: `IOM${backend}`, version: '14.1' });
        await dev.folderSync();
        const inbox = dev.folderByType(2).serverId;
        const items = await dev.initialSync(inbox);
        assert.equal(items.length, 3);
        const convOf = (subject: string) => {
          const it = items.find((i) => childText(i.appData, 'Subject', 'Email') === subject)!;
          return child(it.appData, 'ConversationId', 'Email2')!.children[0] as Uint8Array;
        };
        assert.deepEqual(convOf('thread'), convOf('Re: thread'));
        const userId = m.srv.users.get(ALICE.email)!.id;
        const inboxFolder = (await m.srv.store.listFolders(userId)).find((f) => f.type === 2)!;
        const archive = await m.srv.store.createFolder({ userId, parentId: null, displayName: 'Archive', type: 12 });
        const mv = await dev.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'Move', el(IO, 'ConversationId', convOf('thread')), el(IO, 'DstFldId', archive.serverId))));
        const move = child(child(mv.wbxml!, 'Response', IO)!, 'Move', IO)!;
        assert.equal(childText(move, 'Status', IO), '1');
        const sync = await dev.sync(inbox);
        assert.equal(sync.deletes.length + sync.softDeletes.length, 2, 'both messages of the thread left the Inbox');

        // EmptyFolderContents of the Inbox with a subfolder.
        const sub = await m.srv.store.createFolder({ userId, parentId: inboxFolder.id, displayName: 'Sub', type: 12 });
        await m.srv.store.putItem({ userId, folderId: sub.id, class: 'Email', data: { subject: 'in sub' } });
        const ef = await dev.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'EmptyFolderContents', el('AirSync', 'CollectionId', inbox), el(IO, 'Options', el(IO, 'DeleteSubFolders')))));
        assert.equal(childText(child(child(ef.wbxml!, 'Response', IO)!, 'EmptyFolderContents', IO)!, 'Status', IO), '1');
        const after = await dev.sync(inbox);
        assert.equal(after.deletes.length, 1);
        assert.equal((await m.srv.store.listFolders(userId)).some((f) => f.id === sub.id), false, 'subfolder deleted');
        const unknown = await dev.client.post('ItemOperations', el(IO, 'ItemOperations', el(IO, 'EmptyFolderContents', el('AirSync', 'CollectionId', 'no-such-folder'))));
        assert.equal(childText(child(child(unknown.wbxml!, 'Response', IO)!, 'EmptyFolderContents', IO)!, 'Status', IO), '6');
      } finally {
        await m.close();
      }
    });
  });
}
