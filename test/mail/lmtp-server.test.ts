/**
 * The LMTP and SMTP listeners over real sockets with a real store: per-recipient 550s at RCPT
 * (kb-2.3), per-recipient replies after DATA (RFC 2033), 552 over the size limit, 451/452 when
 * the store fails, and the message in the Inbox afterwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import type { Store } from '../../src/store/types.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';
import { LineClient } from './lmtp-client.ts';

const quiet = pino({ level: 'silent' });

async function inboxCount(store: Store, userId: string): Promise<number> {
  const inbox = (await store.listFolders(userId)).find((f) => f.type === 2);
  if (!inbox) return 0;
  return (await store.listChangesSince(userId, inbox.id, 0, 1000)).filter((i) => !i.deleted).length;
}

const MSG = 'From: Sender <s@outside.test>\r\nTo: alice@example.com, bob@example.com\r\nSubject: LMTP test\r\n\r\nHello over LMTP.\r\n.leading dot line\r\n';

test('kb-2.3: LMTP: unknown user and foreign domain get 550 at RCPT; one reply per accepted recipient after DATA; delivered to both Inboxes', async () => {
  const t = await openTempSqliteStore();
  const l = createMailListener({ ...deliveryTo(t.store), log: quiet, acceptedDomains: ['extra.test'] });
  try {
    const a = await t.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    const b = await t.store.createUser({ email: 'bob@example.com', passwordHash: 'x' });
    const port = await l.listen('127.0.0.1', 0);
    const c = await LineClient.open(port);
    assert.equal((await c.command('LHLO mta.test')).code, 250);
    assert.equal((await c.command('MAIL FROM:<s@outside.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<alice@example.com>')).code, 250);
    const unknown = await c.command('RCPT TO:<nobody@example.com>');
    assert.equal(unknown.code, 550);
    assert.match(unknown.text, /5\.1\.1/);
    const unknownExtra = await c.command('RCPT TO:<nobody@extra.test>');
    assert.equal(unknownExtra.code, 550);
    assert.match(unknownExtra.text, /5\.1\.1/);
    const foreign = await c.command('RCPT TO:<x@elsewhere.test>');
    assert.equal(foreign.code, 550);
    assert.match(foreign.text, /5\.7\.1/);
    assert.equal((await c.command('RCPT TO:<BOB@example.com>')).code, 250);
    const replies = await c.data(MSG, 2);
    assert.deepEqual(replies.map((r) => r.code), [250, 250]);
    assert.match(replies[0]!.text, /alice@example\.com/);
    assert.match(replies[1]!.text, /bob@example\.com/);
    await c.close();
    assert.equal(await inboxCount(t.store, a.id), 1);
    assert.equal(await inboxCount(t.store, b.id), 1);
    const inbox = (await t.store.listFolders(a.id)).find((f) => f.type === 2)!;
    const [item] = await t.store.listChangesSince(a.id, inbox.id, 0, 10);
    assert.equal(item!.data.subject, 'LMTP test');
    assert.match((item!.data.body as { text: string }).text, /^\.leading dot line$/m, 'dot-stuffing undone');
  } finally {
    await l.close();
    await t.cleanup();
  }
});

test('LMTP: a message over the size limit gets 552 for every recipient and is not stored', async () => {
  const t = await openTempSqliteStore();
  const l = createMailListener({ ...deliveryTo(t.store), log: quiet, maxMessageBytes: 2048 });
  try {
    const a = await t.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    await t.store.createUser({ email: 'bob@example.com', passwordHash: 'x' });
    const c = await LineClient.open(await l.listen('127.0.0.1', 0));
    await c.command('LHLO mta.test');
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    await c.command('RCPT TO:<bob@example.com>');
    const replies = await c.data(MSG + 'x'.repeat(70) + '\r\n'.repeat(1) + ('y'.repeat(76) + '\r\n').repeat(40), 2);
    assert.deepEqual(replies.map((r) => r.code), [552, 552]);
    // the session goes on: a small message afterwards is delivered
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    assert.deepEqual((await c.data(MSG, 1)).map((r) => r.code), [250]);
    await c.close();
    assert.equal(await inboxCount(t.store, a.id), 1);
  } finally {
    await l.close();
    await t.cleanup();
  }
});

test('LMTP: a store that fails answers 451 (and 452 when full) per recipient; the MTA keeps the message', async () => {
  const t = await openTempSqliteStore();
  const l = createMailListener({ ...deliveryTo(t.store), log: quiet });
  const original = t.store.mail.putBlobs.bind(t.store.mail);
  try {
    await t.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    const c = await LineClient.open(await l.listen('127.0.0.1', 0));
    await c.command('LHLO mta.test');
    // A full disk, as SQLite reports it.
    t.store.mail.putBlobs = async () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    assert.deepEqual((await c.data(MSG, 1)).map((r) => r.code), [452]);
    t.store.mail.putBlobs = async () => {
      throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
    };
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    assert.deepEqual((await c.data(MSG, 1)).map((r) => r.code), [451]);
    t.store.mail.putBlobs = original;
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    assert.deepEqual((await c.data(MSG, 1)).map((r) => r.code), [250]);
    await c.close();
  } finally {
    t.store.mail.putBlobs = original;
    await l.close();
    await t.cleanup();
  }
});

test('SMTP listener: per-recipient 550 at RCPT, one 250 for the transaction', async () => {
  const t = await openTempSqliteStore();
  const l = createMailListener({ ...deliveryTo(t.store), log: quiet, protocol: 'smtp' });
  try {
    const a = await t.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    const c = await LineClient.open(await l.listen('127.0.0.1', 0));
    assert.equal((await c.command('EHLO mta.test')).code, 250);
    await c.command('MAIL FROM:<s@outside.test>');
    assert.equal((await c.command('RCPT TO:<alice@example.com>')).code, 250);
    assert.equal((await c.command('RCPT TO:<nobody@example.com>')).code, 550);
    assert.deepEqual((await c.data(MSG, 1)).map((r) => r.code), [250]);
    await c.close();
    assert.equal(await inboxCount(t.store, a.id), 1);
  } finally {
    await l.close();
    await t.cleanup();
  }
});

test('SMTP listener: a store failure for one of two recipients answers 4xx for the message (retried, never lost)', async () => {
  const t = await openTempSqliteStore();
  const l = createMailListener({ ...deliveryTo(t.store), log: quiet, protocol: 'smtp' });
  const original = t.store.putItem.bind(t.store);
  try {
    await t.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
    const b = await t.store.createUser({ email: 'bob@example.com', passwordHash: 'x' });
    t.store.putItem = async (item) => {
      if (item.userId === b.id) throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
      return original(item);
    };
    const c = await LineClient.open(await l.listen('127.0.0.1', 0));
    await c.command('EHLO mta.test');
    await c.command('MAIL FROM:<s@outside.test>');
    await c.command('RCPT TO:<alice@example.com>');
    await c.command('RCPT TO:<bob@example.com>');
    assert.deepEqual((await c.data(MSG, 1)).map((r) => r.code), [451]);
    await c.close();
    assert.equal(await inboxCount(t.store, b.id), 0);
  } finally {
    t.store.putItem = original;
    await l.close();
    await t.cleanup();
  }
});
