/**
 * Sending mail through the device simulator (issue 7 item 4), on SQLite, PostgreSQL and the
 * in-memory mailbox (content only through the Mailbox port, test/helpers/memory-mailbox.ts):
 * SendMail to a local user lands in their Inbox and in the sender's Sent Items; a replayed
 * ClientId sends once; outside recipients leave through the SMTP relay (a capturing sink on
 * loopback); no relay means Status 120 and nothing sent; the sender is always the user;
 * SmartReply quotes the original and SmartForward carries its attachments; another user's
 * message cannot be a Source; the 12.x form with query parameters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { deliverMessage, type DeliveryTargets } from '../../src/mail/deliver.ts';
import { childText } from '../../src/wbxml/index.ts';
import { liveItemsOf } from '../helpers/store-items.ts';
import { pgSkipped } from '../helpers/db.ts';
import { ALICE, BOB, composeMail, mimeMessage, phone, startMailOut, type MailOutEnv } from '../mail-out/harness.ts';


/** A message from outside, with a PDF attachment, delivered to `to` over local delivery. */
async function deliverWithAttachment(targets: DeliveryTargets, to: string, subject: string): Promise<void> {
  const raw = [
    'From: Carol Outside <carol@outside.test>',
    `To: ${to}`,
    `Subject: ${subject}`,
    'Message-ID: <orig-1@outside.test>',
    'Date: Tue, 02 Jan 2024 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Here are the quarterly figures.',
    '--b1',
    'Content-Type: application/pdf; name="figures.pdf"',
    'Content-Disposition: attachment; filename="figures.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.4 quarterly figures').toString('base64'),
    '--b1--',
    '',
  ].join('\r\n');
  const res = await deliverMessage(targets, { envelopeFrom: 'carol@outside.test', recipients: [to], raw: Buffer.from(raw) });
  assert.equal(res[0]!.outcome, 'delivered');
}

for (const backend of ['sqlite', 'postgres', 'memory'] as const) {
  describe(`sending mail on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    let env: MailOutEnv;
    before(async () => {
      env = await startMailOut({ backend, relay: true });
    });
    after(async () => {
      await env.close();
    });

    it('SendMail to a local user arrives in their Inbox; a copy in Sent Items; Bcc stays hidden', async () => {
      const alice = phone(env.srv, ALICE);
      await alice.folderSync();
      const bob = phone(env.srv, BOB, 'BOBPHONE');
      await bob.folderSync();
      const inbox = bob.folderByType(2);
      await bob.initialSync(inbox.serverId);

      const mime = mimeMessage({ from: ALICE.email, to: BOB.email, bcc: 'dave@outside.test', subject: 'Lunch on Friday', text: 'Shall we?' });
      const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'send-1', mime, saveInSent: true }));
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 0, 'success is an empty response (MS-ASCMD 2.2.1.17)');

      const adds = await bob.syncAll(inbox.serverId);
      assert.equal(adds.length, 1);
      assert.equal(childText(adds[0]!.appData, 'Subject', 'Email'), 'Lunch on Friday');
      const [item] = await liveItemsOf(env.srv.store, BOB.email, 2);
      assert.doesNotMatch(String(item!.data.bcc ?? ''), /dave/);
      const sent = await liveItemsOf(env.srv.store, ALICE.email, 5);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.data.subject, 'Lunch on Friday');
      assert.equal(sent[0]!.data.read, true);
      // The Bcc recipient went through the relay, without a Bcc header in what travelled.
      const out = env.sink!.messages.find((m) => m.to.includes('dave@outside.test'))!;
      assert.ok(out, 'the Bcc recipient got the message through the relay');
      assert.doesNotMatch(out.raw.toString(), /^Bcc:/im);
      assert.equal(out.from, ALICE.email);
    });

    it('a replayed ClientId sends nothing twice (Status 118)', async () => {
      const alice = phone(env.srv, ALICE);
      const before = env.sink!.messages.length;
      const mime = mimeMessage({ from: ALICE.email, to: 'erin@outside.test', subject: 'Once only', text: 'x' });
      const first = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'replay-1', mime }));
      assert.equal(first.status, 200);
      assert.equal(first.body.length, 0);
      const again = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'replay-1', mime }));
      assert.equal(childText(again.wbxml!, 'Status', 'ComposeMail'), '118');
      assert.equal(env.sink!.messages.length, before + 1);
    });

    it('outside recipients leave through the relay; a From naming someone else is rewritten to the user', async () => {
      const alice = phone(env.srv, ALICE);
      const mime = mimeMessage({ from: 'The CEO <ceo@example.com>', to: 'Frank <frank@outside.test>', subject: 'Spoof?', text: 'hello' });
      const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'relay-1', mime }));
      assert.equal(res.status, 200);
      const out = env.sink!.messages.find((m) => m.to.includes('frank@outside.test'))!;
      assert.equal(out.from, ALICE.email, 'envelope sender is the user');
      const parsed = await simpleParser(out.raw);
      assert.equal(parsed.from?.value[0]?.address, ALICE.email);
      assert.equal(parsed.subject, 'Spoof?');
      assert.equal(parsed.headers.get('sender'), undefined);
    });

    it('a recipient the relay refuses: Status 120, and the ClientId can be used again', async () => {
      const alice = phone(env.srv, ALICE);
      env.sink!.refuse.add('nobody@outside.test');
      try {
        const mime = mimeMessage({ from: ALICE.email, to: 'nobody@outside.test', subject: 'x', text: 'x' });
        const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'refused-1', mime }));
        assert.equal(childText(res.wbxml!, 'Status', 'ComposeMail'), '120');
      } finally {
        env.sink!.refuse.clear();
      }
      const mime = mimeMessage({ from: ALICE.email, to: 'nobody@outside.test', subject: 'x', text: 'x' });
      const retry = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'refused-1', mime }));
      assert.equal(retry.body.length, 0, 'the retry is sent, not taken for a replay');
    });

    it('statuses: no recipient 119, not a message 107, unknown user of this domain 116, missing ClientId 103', async () => {
      const alice = phone(env.srv, ALICE);
      const status = async (body: ReturnType<typeof composeMail>) => childText((await alice.client.post('SendMail', body)).wbxml!, 'Status', 'ComposeMail');
      assert.equal(await status(composeMail('SendMail', { clientId: 's-119', mime: Buffer.from(`From: ${ALICE.email}\r\nSubject: none\r\n\r\nbody\r\n`) })), '119');
      assert.equal(await status(composeMail('SendMail', { clientId: 's-107', mime: Buffer.from('just some text without headers') })), '107');
      assert.equal(await status(composeMail('SendMail', { clientId: 's-116', mime: mimeMessage({ from: ALICE.email, to: 'ghost@example.com', subject: 'x', text: 'x' }) })), '116');
      const noClientId = composeMail('SendMail', { clientId: 'x', mime: mimeMessage({ from: ALICE.email, to: BOB.email, subject: 'x', text: 'x' }) });
      noClientId.children = noClientId.children.filter((c) => typeof c !== 'object' || c instanceof Uint8Array || c.name !== 'ClientId');
      assert.equal(await status(noClientId), '103');
    });

    it('SmartReply quotes the original and threads it; SmartForward carries the original attachments', async () => {
      const store = env.srv.store;
      await deliverWithAttachment(env.srv.runtime.deliveryTargets, ALICE.email, 'Quarterly figures');
      const alice = phone(env.srv, ALICE, 'PHONE2');
      await alice.folderSync();
      const inbox = alice.folderByType(2);
      const adds = await alice.initialSync(inbox.serverId);
      const original = adds.find((a) => childText(a.appData, 'Subject', 'Email') === 'Quarterly figures')!;
      assert.ok(original);

      const reply = mimeMessage({ from: ALICE.email, to: 'carol@outside.test', subject: 'Re: Quarterly figures', text: 'Thanks, looks good.' });
      const r1 = await alice.client.post(
        'SmartReply',
        composeMail('SmartReply', { clientId: 'reply-1', mime: reply, source: { itemId: original.serverId, folderId: inbox.serverId }, saveInSent: true }),
      );
      assert.equal(r1.status, 200);
      assert.equal(r1.body.length, 0);
      const sentReply = env.sink!.messages.find((m) => m.to.includes('carol@outside.test'))!;
      const parsedReply = await simpleParser(sentReply.raw);
      assert.match(parsedReply.text ?? '', /Thanks, looks good\./);
      assert.match(parsedReply.text ?? '', /wrote:\n> Here are the quarterly figures\./);
      assert.equal(parsedReply.inReplyTo, '<orig-1@outside.test>');
      assert.equal(parsedReply.attachments.length, 0, 'a reply does not carry the attachments');
      const marked = (await liveItemsOf(store, ALICE.email, 2)).find((i) => i.data.subject === 'Quarterly figures')!;
      assert.equal(marked.data.lastVerbExecuted, 1, 'marked as replied to the sender (MS-ASEMAIL 2.2.2.45)');

      const fwd = mimeMessage({ from: ALICE.email, to: BOB.email, subject: 'Fwd: Quarterly figures', text: 'FYI' });
      const r2 = await alice.client.post('SmartForward', composeMail('SmartForward', { clientId: 'fwd-1', mime: fwd, source: { itemId: original.serverId, folderId: inbox.serverId } }));
      assert.equal(r2.status, 200);
      assert.equal(r2.body.length, 0);
      const bobInbox = await liveItemsOf(store, BOB.email, 2);
      const got = bobInbox.find((i) => i.data.subject === 'Fwd: Quarterly figures')!;
      assert.ok(got, 'the forward arrived in Bob\'s Inbox');
      assert.equal((await liveItemsOf(store, ALICE.email, 2)).find((i) => i.data.subject === 'Quarterly figures')!.data.lastVerbExecuted, 3);
      const atts = got.data.attachments as Array<{ name: string; sha256: string }>;
      assert.deepEqual(atts.map((a) => a.name), ['figures.pdf']);
      // The bytes are in Bob's mailbox, whichever backend keeps it.
      const bobMailbox = env.srv.runtime.services.mailboxes.open(got.userId);
      assert.equal((await bobMailbox.getBlob(atts[0]!.sha256))!.toString(), '%PDF-1.4 quarterly figures');
      assert.match(String((got.data.body as { text?: string }).text), /FYI[\s\S]*Original Message[\s\S]*Here are the quarterly figures/);

      // ReplaceMime: the device's MIME is the whole message, nothing appended.
      const whole = mimeMessage({ from: ALICE.email, to: BOB.email, subject: 'Fwd: whole', text: 'complete as written' });
      const r3 = await alice.client.post(
        'SmartForward',
        composeMail('SmartForward', { clientId: 'fwd-2', mime: whole, replaceMime: true, source: { itemId: original.serverId, folderId: inbox.serverId } }),
      );
      assert.equal(r3.body.length, 0);
      const plain = (await liveItemsOf(store, BOB.email, 2)).find((i) => i.data.subject === 'Fwd: whole')!;
      assert.equal(plain.data.attachments, undefined);
      assert.doesNotMatch(String((plain.data.body as { text?: string }).text), /Original Message/);
    });

    it("another user's message cannot be a Source (Status 150), nor a folder mismatch", async () => {
      const store = env.srv.store;
      await deliverWithAttachment(env.srv.runtime.deliveryTargets, BOB.email, 'Private to Bob');
      const bobItem = (await liveItemsOf(store, BOB.email, 2)).find((i) => i.data.subject === 'Private to Bob')!;
      const alice = phone(env.srv, ALICE);
      const before = env.sink!.messages.length;
      for (const source of [{ itemId: bobItem.serverId, folderId: 'inbox' }, { itemId: bobItem.serverId }, { longId: bobItem.serverId }]) {
        const res = await alice.client.post(
          'SmartForward',
          composeMail('SmartForward', { clientId: `steal-${JSON.stringify(source)}`, mime: mimeMessage({ from: ALICE.email, to: 'mallory@outside.test', subject: 'fw', text: '' }), source }),
        );
        assert.equal(childText(res.wbxml!, 'Status', 'ComposeMail'), '150', JSON.stringify(source));
      }
      assert.equal(env.sink!.messages.length, before, 'nothing was sent');
    });

    it('12.x form: raw MIME body, SaveInSent and ItemId/CollectionId query parameters; failures are HTTP statuses', async () => {
      const alice = phone(env.srv, ALICE, 'OLDPHONE', '12.1');
      await alice.folderSync();
      const mime = mimeMessage({ from: ALICE.email, to: BOB.email, subject: '12.1 hello', text: 'old school' });
      const res = await alice.client.post('SendMail', mime, { contentType: 'message/rfc822', params: { saveInSent: true } });
      assert.equal(res.status, 200);
      assert.ok((await liveItemsOf(env.srv.store, BOB.email, 2)).some((i) => i.data.subject === '12.1 hello'));
      assert.ok((await liveItemsOf(env.srv.store, ALICE.email, 5)).some((i) => i.data.subject === '12.1 hello'));

      const inbox = alice.folderByType(2);
      const orig = (await liveItemsOf(env.srv.store, ALICE.email, 2)).find((i) => i.data.subject === 'Quarterly figures')!;
      const fwd = mimeMessage({ from: ALICE.email, to: 'gina@outside.test', subject: 'Fwd: figures (12.1)', text: 'see below' });
      const r2 = await alice.client.post('SmartForward', fwd, { contentType: 'message/rfc822', params: { itemId: orig.serverId, collectionId: inbox.serverId } });
      assert.equal(r2.status, 200);
      const out = env.sink!.messages.find((m) => m.to.includes('gina@outside.test'))!;
      assert.deepEqual((await simpleParser(out.raw)).attachments.map((a) => a.filename), ['figures.pdf']);

      const bad = await alice.client.post('SmartReply', fwd, { contentType: 'message/rfc822', params: { itemId: 'no-such-item', collectionId: inbox.serverId } });
      assert.equal(bad.status, 500);
    });
  });

  describe(`sending mail without a relay on ${backend}`, { skip: backend === 'postgres' && pgSkipped() }, () => {
    it('an outside recipient: Status 120 and a log line; the local recipient gets nothing either', async () => {
      const env = await startMailOut({ backend });
      try {
        const alice = phone(env.srv, ALICE);
        await alice.folderSync();
        const mime = mimeMessage({ from: ALICE.email, to: 'hank@outside.test', cc: BOB.email, subject: 'No relay', text: 'x' });
        const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'norelay-1', mime }));
        assert.equal(childText(res.wbxml!, 'Status', 'ComposeMail'), '120');
        assert.ok(env.outboundLogs.some((l) => /no --smtp-relay/.test(String(l.msg))));
        assert.equal((await liveItemsOf(env.srv.store, BOB.email, 2)).length, 0);
        // Local-only mail still works without a relay.
        const local = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'norelay-2', mime: mimeMessage({ from: ALICE.email, to: BOB.email, subject: 'Local', text: 'x' }) }));
        assert.equal(local.body.length, 0);
        assert.equal((await liveItemsOf(env.srv.store, BOB.email, 2)).length, 1);
      } finally {
        await env.close();
      }
    });

    it('a message larger than the request size limit is refused with HTTP 413 and not sent', async () => {
      // Small sizes: the whole request goes out in one write, before the server answers 413 and
      // closes (a body still being written when the socket closes fails the client with EPIPE).
      const env = await startMailOut({ backend, maxRequestBytes: 16 * 1024 });
      try {
        const alice = phone(env.srv, ALICE);
        const huge = mimeMessage({ from: ALICE.email, to: BOB.email, subject: 'Huge', text: 'x'.repeat(20 * 1024) });
        const res = await alice.client.post('SendMail', composeMail('SendMail', { clientId: 'huge-1', mime: huge }));
        assert.equal(res.status, 413);
        assert.equal((await liveItemsOf(env.srv.store, BOB.email, 2)).length, 0);
      } finally {
        await env.close();
      }
    });
  });
}
