/**
 * The out-of-office delivery hook with a real store, real parsing and a real outbound service
 * relaying to a capturing SMTP server: the envelope sender wins over From, a sender in the user's
 * contacts gets the known-audience text, and concurrent deliveries reply once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { parseMessage } from '../../src/mail/parse.ts';
import { createOutboundMail, type OutboundMail } from '../../src/mail/relay.ts';
import { autoReplyHook, headerMap } from '../../src/settings/auto-reply-hook.ts';
import type { OofSettings } from '../../src/store/directory-types.ts';
import type { Store, User } from '../../src/store/types.ts';
import { ensureDefaultFolders } from '../helpers/default-folders.ts';
import { openTempSqliteStore, type TestStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';
import { startSmtpSink, type SmtpSink } from '../mail-out/harness.ts';

const OOF: OofSettings = {
  state: 'global',
  start: null,
  end: null,
  internal: { enabled: true, message: 'internal text', bodyType: 'text' },
  externalKnown: { enabled: true, message: '<p>known <i>text</i></p>', bodyType: 'html' },
  externalUnknown: { enabled: true, message: 'unknown text', bodyType: 'text' },
};

const raw = (from: string, id: string, extra = '') =>
  Buffer.from(`From: ${from}\r\nTo: ann@example.com\r\nSubject: Hi\r\nMessage-ID: <${id}>\r\nReferences: <r0@x> <r1@x>\r\n${extra}\r\nbody\r\n`);

describe('autoReplyHook', () => {
  let t: TestStore;
  let store: Store;
  let sink: SmtpSink;
  let outbound: OutboundMail;
  let ann: User;
  const log = pino({ level: 'silent' });

  before(async () => {
    t = await openTempSqliteStore();
    store = t.store;
    sink = await startSmtpSink();
    outbound = createOutboundMail({ accounts: store, log, deliverLocal: (m) => deliverMessage(deliveryTo(store), m), relay: { url: sink.url, starttls: 'off' } });
    ann = await store.createUser({ email: 'ann@example.com', passwordHash: 'h', displayName: 'Ann' });
    await store.directory.putOof(ann.id, OOF);
    const contacts = (await ensureDefaultFolders(store, ann.id)).find((f) => f.type === 9)!;
    await store.putItem({ userId: ann.id, folderId: contacts.id, class: 'Contacts', data: { firstName: 'Kim', email2Address: '"Kim" <Kim@Partner.example>' } });
  });
  after(async () => {
    outbound.close();
    await sink.close();
    await t.cleanup();
  });

  it('replies to the envelope sender, not From; a contact gets the known text (HTML with a text part)', async () => {
    const hook = autoReplyHook({ accounts: store, mailboxes: deliveryTo(store).mailboxes, outbound: () => outbound });
    await hook(ann.id, 'item', await parseMessage(raw('someone@else.example', 'k1@partner.example')), { envelopeFrom: 'kim@partner.example' });
    assert.equal(sink.messages.length, 1);
    assert.deepEqual(sink.messages[0]!.to, ['kim@partner.example']);
    const reply = await simpleParser(sink.messages[0]!.raw);
    assert.equal(reply.html && reply.html.includes('<p>known <i>text</i></p>'), true);
    assert.equal(reply.text?.trim(), 'known text');
    assert.deepEqual(reply.references, ['<r0@x>', '<r1@x>', '<k1@partner.example>']);
  });

  it('uses the Return-Path header when there is no envelope; concurrent deliveries reply once', async () => {
    const hook = autoReplyHook({ accounts: store, mailboxes: deliveryTo(store).mailboxes, outbound: () => outbound });
    const parsed = await parseMessage(raw('x@y.example', 'c1@stranger.example', 'Return-Path: <stranger@far.example>\r\n'));
    assert.equal(headerMap(parsed).get('return-path'), '<stranger@far.example>');
    const before = sink.messages.length;
    await Promise.all([hook(ann.id, 'a', parsed), hook(ann.id, 'b', parsed), hook(ann.id, 'c', parsed)]);
    const sent = sink.messages.slice(before);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.to, ['stranger@far.example']);
    assert.equal((await simpleParser(sent[0]!.raw)).text?.trim(), 'unknown text');
  });

  it('no outbound service: nothing sent and nothing claimed', async () => {
    const hook = autoReplyHook({ accounts: store, mailboxes: deliveryTo(store).mailboxes, outbound: () => undefined });
    await hook(ann.id, 'item', await parseMessage(raw('late@far.example', 'n1@far.example')));
    assert.equal(await store.directory.lastAutoReply(ann.id, 'late@far.example'), null);
  });
});
