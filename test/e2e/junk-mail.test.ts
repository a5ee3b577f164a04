/**
 * Scenario (issue 14 item 11): junk mail. Every user has a "Junk E-mail" folder (a mail folder of
 * type 12 at the root, as Exchange sends its Junk Email folder, MS-ASCMD 2.2.3.186.3); delivery
 * over LMTP files messages that the MTA's spam filter marked (X-Spam-Flag: YES from SpamAssassin,
 * X-Spam-Status: Yes, X-Spam: Yes from rspamd's milter, or a configured header) into it, runs no
 * out-of-office reply for them, and logs it; the device moves a message out of it (MoveItems,
 * logged) and cannot delete or rename the folder (FolderDelete Status 3, FolderUpdate Status 2).
 * Through the production wiring (buildRuntime's LMTP listener and hooks), on SQLite, PostgreSQL
 * and the in-memory mailbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { DEFAULT_JUNK_RULES, parseJunkRule } from '../../src/mail/junk.ts';
import type { OutboundMail } from '../../src/mail/relay.ts';
import { createOutboundMail } from '../../src/mail/relay.ts';
import { child, childText, el } from '../../src/wbxml/index.ts';
import { pgSkipped } from '../helpers/db.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';
import { Device } from './device.ts';
import { lmtpDeliver } from './mail-helpers.ts';

const ANN = { email: 'ann@example.com', password: 'ann-password-123' };

function message(subject: string, headers: string[] = []): string {
  return [
    'From: Sender <sender@outside.example>',
    'To: ann@example.com',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W+/g, '-')}@outside.example>`,
    'Date: Tue, 08 Dec 2026 10:00:00 +0000',
    ...headers,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'body',
    '',
  ].join('\r\n');
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`junk mail (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let srv: TestServer;
    let sink: SmtpSink;
    let outbound: OutboundMail | undefined;
    let lmtpPort: number;

    before(async () => {
      sink = await startSmtpSink();
      srv = await startTestServer({
        users: [ANN],
        backend,
        runtimeConfig: { junkRules: [...DEFAULT_JUNK_RULES, parseJunkRule('X-Custom-Verdict: ^spam$')] },
        // Out-of-office replies to outside senders go through a capturing relay.
        services: (store) => {
          outbound = createOutboundMail({ accounts: store, log: pino({ level: 'silent' }), deliverLocal: async () => [], relay: { url: sink.url, starttls: 'off' } });
          return { outbound };
        },
      });
      lmtpPort = await srv.runtime.listenMail('lmtp', '127.0.0.1', 0);
    });
    after(async () => {
      await srv?.close();
      await sink?.close();
    });

    it('spam-marked mail goes to Junk E-mail with no out-of-office reply; clean mail to the Inbox', async () => {
      const phone = new Device({ url: srv.url, user: ANN.email, password: ANN.password, deviceId: `JUNK${backend}`, version: '16.1' });
      await phone.folderSync();
      const junk = [...phone.folders.values()].find((f) => f.displayName === 'Junk E-mail');
      assert.ok(junk, 'FolderSync lists a Junk E-mail folder');
      assert.equal(junk.type, 12, 'a mail folder, as Exchange sends its Junk Email folder');
      assert.equal(junk.parentId, '0', 'at the root');
      const inbox = phone.folderByType(2).serverId;

      const oof = await phone.client.post(
        'Settings',
        el('Settings', 'Settings', el('Settings', 'Oof', el('Settings', 'Set', el('Settings', 'OofState', 1), el('Settings', 'OofMessage', el('Settings', 'AppliesToExternalUnknown'), el('Settings', 'Enabled', 1), el('Settings', 'ReplyMessage', 'Away.'), el('Settings', 'BodyType', 'TEXT'))))),
      );
      assert.equal(childText(oof.wbxml!, 'Status', 'Settings'), '1');

      const spam = [
        message('sa flag', ['X-Spam-Flag: YES']),
        message('sa status', ['X-Spam-Status: Yes, score=11.2 required=5.0 tests=BAYES_99,', '\tURIBL_BLACK autolearn=no']),
        message('rspamd', ['X-Spam: Yes']),
        message('custom rule', ['X-Custom-Verdict: SPAM']),
        // Several X-Spam-Flag lines: any one that says yes counts (a forged "NO" cannot hide it).
        message('two flags', ['X-Spam-Flag: NO', 'X-Spam-Flag: YES']),
      ];
      const clean = [message('not spam', ['X-Spam-Flag: NO', 'X-Spam-Status: No, score=0.1 required=5.0']), message('plain')];
      for (const m of spam) assert.deepEqual(await lmtpDeliver(lmtpPort, 'sender@outside.example', [ANN.email], m), [250]);
      assert.equal(sink.messages.length, 0, 'no out-of-office reply to spam');
      for (const m of clean.slice(0, 1)) assert.deepEqual(await lmtpDeliver(lmtpPort, 'sender@outside.example', [ANN.email], m), [250]);
      assert.equal(sink.messages.length, 1, 'the out-of-office hook runs for clean mail (one reply per sender)');
      assert.deepEqual(await lmtpDeliver(lmtpPort, 'other@outside.example', [ANN.email], clean[1]!), [250]);

      const inJunk = await phone.initialSync(junk.serverId);
      const inInbox = await phone.initialSync(inbox);
      const subjects = (items: typeof inJunk) => items.map((i) => childText(i.appData, 'Subject', 'Email')).sort();
      assert.deepEqual(subjects(inJunk), ['custom rule', 'rspamd', 'sa flag', 'sa status', 'two flags']);
      assert.deepEqual(subjects(inInbox), ['not spam', 'plain']);
      const filed = srv.logs.filter((l) => l.msg === 'delivered to Junk E-mail');
      assert.equal(filed.length, 5);
      assert.match(String(filed[1]!.junk), /^X-Spam-Status: Yes, score=11\.2/);

      // The user overrules the filter: MoveItems out of Junk E-mail works and is logged.
      const wanted = inJunk.find((i) => childText(i.appData, 'Subject', 'Email') === 'rspamd')!;
      const move = await phone.client.post(
        'MoveItems',
        el('Move', 'MoveItems', el('Move', 'Move', el('Move', 'SrcMsgId', wanted.serverId), el('Move', 'SrcFldId', junk.serverId), el('Move', 'DstFldId', inbox))),
      );
      assert.equal(move.status, 200);
      assert.equal(childText(child(move.wbxml!, 'Response', 'Move')!, 'Status', 'Move'), '3', 'MoveItems Status 3: success (MS-ASCMD 2.2.3.177.9)');
      const logged = srv.logs.find((l) => l.msg === 'message moved out of Junk E-mail');
      assert.ok(logged, 'the move out of junk is logged');
      assert.equal(logged.from, junk.serverId);
      assert.equal(logged.to, inbox);
      const after = await phone.sync(inbox);
      assert.deepEqual(after.adds.map((a) => childText(a.appData, 'Subject', 'Email')), ['rspamd']);
    });

    it('the Junk E-mail folder cannot be deleted or renamed by a device', async () => {
      const phone = new Device({ url: srv.url, user: ANN.email, password: ANN.password, deviceId: `JUNKF${backend}`, version: '14.1' });
      await phone.folderSync();
      const junk = [...phone.folders.values()].find((f) => f.displayName === 'Junk E-mail')!;
      const del = await phone.client.post('FolderDelete', el('FolderHierarchy', 'FolderDelete', el('FolderHierarchy', 'SyncKey', phone.folderSyncKey), el('FolderHierarchy', 'ServerId', junk.serverId)));
      assert.equal(childText(del.wbxml!, 'Status', 'FolderHierarchy'), '3', 'FolderDelete Status 3: a special system folder (MS-ASCMD 2.2.3.177.3)');
      const upd = await phone.client.post(
        'FolderUpdate',
        el('FolderHierarchy', 'FolderUpdate', el('FolderHierarchy', 'SyncKey', phone.folderSyncKey), el('FolderHierarchy', 'ServerId', junk.serverId), el('FolderHierarchy', 'ParentId', '0'), el('FolderHierarchy', 'DisplayName', 'Spam')),
      );
      assert.equal(childText(upd.wbxml!, 'Status', 'FolderHierarchy'), '2', 'FolderUpdate Status 2: a special folder (MS-ASCMD 2.2.3.177.6)');
      // A folder the user makes of the same type is an ordinary one.
      const create = await phone.client.post(
        'FolderCreate',
        el('FolderHierarchy', 'FolderCreate', el('FolderHierarchy', 'SyncKey', phone.folderSyncKey), el('FolderHierarchy', 'ParentId', '0'), el('FolderHierarchy', 'DisplayName', 'Receipts'), el('FolderHierarchy', 'Type', 12)),
      );
      assert.equal(childText(create.wbxml!, 'Status', 'FolderHierarchy'), '1');
      const sid = childText(create.wbxml!, 'ServerId', 'FolderHierarchy')!;
      const syncKey = childText(create.wbxml!, 'SyncKey', 'FolderHierarchy')!;
      const delOwn = await phone.client.post('FolderDelete', el('FolderHierarchy', 'FolderDelete', el('FolderHierarchy', 'SyncKey', syncKey), el('FolderHierarchy', 'ServerId', sid)));
      assert.equal(childText(delOwn.wbxml!, 'Status', 'FolderHierarchy'), '1');
    });
  });
}
