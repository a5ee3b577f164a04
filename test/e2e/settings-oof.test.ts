/**
 * Scenario (issue 5): out of office set from a device (Settings over HTTP) answers an external
 * sender once, through the SMTP relay (a capturing smtp-server on 127.0.0.1:0), and an internal
 * sender with the internal text, by local delivery into their Inbox; lists and automatic mail get
 * nothing. Mail arrives through deliverMessage with the out-of-office hook, as LMTP delivers it.
 * On SQLite, PostgreSQL and the in-memory mailbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { createOutboundMail, type OutboundMail } from '../../src/mail/relay.ts';
import { autoReplyHook } from '../../src/settings/auto-reply-hook.ts';
import type { Store } from '../../src/store/types.ts';
import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { childText, el } from '../../src/wbxml/tree.ts';
import { pgSkipped } from '../helpers/db.ts';
import { EasClient } from '../helpers/eas-client.ts';
import { collectingLogger, startTestServer, type LogLine, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';

const ANN = { email: 'ann@example.com', password: 'ann-password-123', displayName: 'Ann Smith' };
const BOB = { email: 'bob@example.com', password: 'bob-password-123', displayName: 'Bob Jones' };
const s = (name: string, ...kids: Parameters<typeof el>[2][]) => el('Settings', name, ...kids);

function mime(h: { from: string; to: string; subject: string; id: string; extra?: string[] }): Buffer {
  return Buffer.from(
    [
      `From: ${h.from}`,
      `To: ${h.to}`,
      `Subject: ${h.subject}`,
      `Message-ID: <${h.id}>`,
      'Date: Tue, 03 Mar 2026 10:00:00 +0000',
      ...(h.extra ?? []),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hello Ann',
      '',
    ].join('\r\n'),
  );
}

async function inboxSubjects(store: Store, userId: string): Promise<Array<{ subject: string; text: string }>> {
  const inbox = (await ensureDefaultFolders(store, userId)).find((f) => f.type === 2)!;
  const items = await store.listChangesSince(userId, inbox.id, 0, 1000);
  return items
    .filter((i) => !i.deleted)
    .map((i) => ({ subject: String(i.data.subject ?? ''), text: String((i.data.body as { text?: string } | undefined)?.text ?? '') }));
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`out of office (${backend})`, { skip: backend === 'postgres' && pgSkipped() ? 'EASD_TEST_SKIP_PG=1' : false }, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let outbound: OutboundMail | undefined;
    const logs: LogLine[] = [];
    let deliver: (from: string, raw: Buffer) => Promise<void>;

    before(async () => {
      sink = await startSmtpSink();
      server = await startTestServer({
        users: [ANN, BOB],
        backend,
        logLevel: 'warn',
        services: (store, _, mailboxes) => {
          const hook = autoReplyHook({ accounts: store, mailboxes, outbound: () => outbound, log: collectingLogger(logs, 'info') });
          const deliverLocal = (m: { envelopeFrom: string; recipients: string[]; raw: Buffer }) => deliverMessage({ accounts: store, mailboxes }, m, { afterDelivery: hook });
          outbound = createOutboundMail({ accounts: store, log: collectingLogger(logs, 'info'), deliverLocal, relay: { url: sink.url, starttls: 'off' } });
          deliver = async (from, raw) => {
            const results = await deliverLocal({ envelopeFrom: from, recipients: [ANN.email], raw });
            assert.equal(results[0]!.outcome, 'delivered');
          };
          return { outbound };
        },
      });
    });
    after(async () => {
      outbound?.close();
      await server.close();
      await sink.close();
    });

    it('Oof set from a device answers an external sender once and an internal sender with the internal text', async () => {
      const phone = new EasClient({ url: server.url, user: ANN.email, password: ANN.password, deviceId: `OOF${backend}` });
      const res = await phone.post(
        'Settings',
        s(
          'Settings',
          s(
            'Oof',
            s(
              'Set',
              s('OofState', 1),
              s('OofMessage', s('AppliesToInternal'), s('Enabled', 1), s('ReplyMessage', 'Internal: on leave, ask Bob.'), s('BodyType', 'TEXT')),
              s('OofMessage', s('AppliesToExternalKnown'), s('Enabled', 1), s('ReplyMessage', 'External: on leave until Monday.'), s('BodyType', 'TEXT')),
              s('OofMessage', s('AppliesToExternalUnknown'), s('Enabled', 1), s('ReplyMessage', 'External: on leave until Monday.'), s('BodyType', 'TEXT')),
            ),
          ),
        ),
      );
      assert.equal(res.status, 200);
      assert.equal(childText(res.wbxml!, 'Status', 'Settings'), '1');

      // An outside sender writes twice: one reply, through the relay, with a null envelope sender.
      await deliver('carol@outside.example', mime({ from: 'Carol <carol@outside.example>', to: 'Ann <ann@example.com>', subject: 'Lunch?', id: 'm1@outside.example' }));
      await deliver('carol@outside.example', mime({ from: 'Carol <carol@outside.example>', to: 'ann@example.com', subject: 'Lunch, really?', id: 'm2@outside.example' }));
      assert.equal(sink.messages.length, 1, 'one reply per sender per period');
      const out = sink.messages[0]!;
      assert.deepEqual(out.to, ['carol@outside.example']);
      assert.equal(out.from, '', 'MAIL FROM:<> (RFC 3834 3.3)');
      const reply = await simpleParser(out.raw);
      assert.equal(reply.subject, 'Automatic reply: Lunch?');
      assert.equal(reply.text?.trim(), 'External: on leave until Monday.');
      assert.equal(reply.headers.get('auto-submitted'), 'auto-replied');
      assert.equal(reply.inReplyTo, '<m1@outside.example>');
      assert.equal(reply.from?.value[0]?.address, 'ann@example.com');

      // Lists, bulk and automatic mail get nothing.
      await deliver('news@lists.example', mime({ from: 'news@lists.example', to: 'ann@example.com', subject: 'Digest', id: 'l1@lists.example', extra: ['List-Id: <news.lists.example>'] }));
      await deliver('promo@shop.example', mime({ from: 'promo@shop.example', to: 'ann@example.com', subject: 'Sale', id: 'b1@shop.example', extra: ['Precedence: bulk'] }));
      await deliver('robot@shop.example', mime({ from: 'robot@shop.example', to: 'ann@example.com', subject: 'Receipt', id: 'a1@shop.example', extra: ['Auto-Submitted: auto-generated'] }));
      await deliver('', mime({ from: 'MAILER-DAEMON@outside.example', to: 'ann@example.com', subject: 'Undelivered', id: 'd1@outside.example' }));
      assert.equal(sink.messages.length, 1, 'no reply to lists, bulk, automatic mail or bounces');

      // A colleague gets the internal text in their Inbox, by local delivery.
      await deliver('bob@example.com', mime({ from: 'Bob <bob@example.com>', to: 'ann@example.com', subject: 'Budget', id: 'b2@example.com' }));
      const bob = server.users.get(BOB.email)!;
      const bobInbox = await inboxSubjects(server.store, bob.id);
      assert.deepEqual(bobInbox.map((m) => m.subject), ['Automatic reply: Budget']);
      assert.equal(bobInbox[0]!.text.trim(), 'Internal: on leave, ask Bob.');
      assert.equal(sink.messages.length, 1, 'nothing relayed for a local sender');

      // Turning out of office off from the device stops the replies.
      await phone.post('Settings', s('Settings', s('Oof', s('Set', s('OofState', 0)))));
      await deliver('dave@outside.example', mime({ from: 'dave@outside.example', to: 'ann@example.com', subject: 'Hi', id: 'x1@outside.example' }));
      assert.equal(sink.messages.length, 1);
    });
  });
}
