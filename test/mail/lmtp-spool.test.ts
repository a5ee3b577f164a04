/**
 * The LMTP listener with messages over its spool threshold (src/mail/spool.ts): delivered to
 * every recipient from the spool file, raw message and attachment stored byte for byte, the same
 * per-recipient replies, 552 over the size limit and 451/452 on store failure as for a message
 * in memory, and the spool directory empty after each outcome.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createMailListener } from '../../src/mail/lmtp-server.ts';
import { isBlobSource } from '../../src/ports/mail.ts';
import type { Store } from '../../src/store/types.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';
import { LineClient } from './lmtp-client.ts';

const quiet = pino({ level: 'silent' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function message(attachment: Buffer): Buffer {
  const b64 = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      'From: "Sender" <s@outside.test>',
      'To: alice@example.com, bob@example.com',
      'Subject: Quarterly figures',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Figures attached.',
      '--b',
      'Content-Type: application/octet-stream; name="figures.bin"',
      'Content-Disposition: attachment; filename="figures.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b--',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

async function inboxItems(store: Store, userId: string) {
  const inbox = (await store.listFolders(userId)).find((f) => f.type === 2);
  if (!inbox) return [];
  return (await store.listChangesSince(userId, inbox.id, 0, 1000)).filter((i) => !i.deleted);
}

async function setup(maxMessageBytes = 10 * 1024 * 1024) {
  const t = await openTempSqliteStore();
  const spoolDir = await mkdtemp(join(tmpdir(), 'easd-spool-lmtp-'));
  const l = createMailListener({ ...deliveryTo(t.store), log: quiet, spoolDir, spoolThresholdBytes: 4096, maxMessageBytes });
  const a = await t.store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
  const b = await t.store.createUser({ email: 'bob@example.com', passwordHash: 'x' });
  const c = await LineClient.open(await l.listen('127.0.0.1', 0));
  await c.command('LHLO mta.test');
  const send = async (msg: Buffer, rcpts: string[]) => {
    await c.command('MAIL FROM:<s@outside.test>');
    for (const r of rcpts) await c.command(`RCPT TO:<${r}>`);
    return (await c.data(msg, rcpts.length)).map((r) => r.code);
  };
  return {
    t,
    a,
    b,
    send,
    spoolFiles: () => readdirSync(spoolDir),
    async close() {
      await c.close();
      await l.close();
      await t.cleanup();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

test('kb-2.3: LMTP: a spooled message is delivered to each recipient with one reply each; message and attachment stored byte for byte; spool emptied', async () => {
  const s = await setup();
  try {
    const att = randomBytes(600_000);
    const msg = message(att);
    assert.deepEqual(await s.send(msg, ['alice@example.com', 'bob@example.com']), [250, 250]);
    assert.deepEqual(s.spoolFiles(), []);
    for (const u of [s.a, s.b]) {
      const items = await inboxItems(s.t.store, u.id);
      assert.equal(items.length, 1);
      const data = items[0]!.data as { subject: string; mime: { sha256: string; size: number }; attachments: Array<{ sha256: string; size: number; name: string }> };
      assert.equal(data.subject, 'Quarterly figures');
      assert.deepEqual(data.mime, { sha256: sha(msg), size: msg.length });
      assert.deepEqual(await s.t.store.mail.getBlob(data.mime.sha256), msg);
      assert.equal(data.attachments[0]!.name, 'figures.bin');
      assert.equal(data.attachments[0]!.size, att.length);
      assert.deepEqual(await s.t.store.mail.getBlob(data.attachments[0]!.sha256), att);
    }
  } finally {
    await s.close();
  }
});

test('LMTP: a spooled message over the size limit gets 552 per recipient, is not stored, and leaves no spool file', async () => {
  const s = await setup(200_000);
  try {
    assert.deepEqual(await s.send(message(randomBytes(300_000)), ['alice@example.com', 'bob@example.com']), [552, 552]);
    assert.deepEqual(s.spoolFiles(), []);
    assert.equal((await inboxItems(s.t.store, s.a.id)).length, 0);
  } finally {
    await s.close();
  }
});

test('LMTP: a store failing while it reads a spooled message answers 452 (full) or 451 per recipient; spool emptied; a retry is delivered', async () => {
  const s = await setup();
  const mail = s.t.store.mail;
  const original = mail.putBlobs.bind(mail);
  try {
    const msg = message(randomBytes(400_000));
    let code = 'SQLITE_FULL';
    mail.putBlobs = async (parts) => {
      // Part of the spooled file is read, then the disk is full (or the connection drops).
      const src = parts.find(isBlobSource);
      assert.ok(src, 'a spooled message reaches the store as a source');
      for await (const _ of src.read()) break;
      throw Object.assign(new Error('store failure'), { code });
    };
    assert.deepEqual(await s.send(msg, ['alice@example.com', 'bob@example.com']), [452, 452]);
    code = 'ECONNRESET';
    assert.deepEqual(await s.send(msg, ['alice@example.com']), [451]);
    assert.deepEqual(s.spoolFiles(), []);
    mail.putBlobs = original;
    assert.deepEqual(await s.send(msg, ['alice@example.com']), [250]);
    const items = await inboxItems(s.t.store, s.a.id);
    assert.equal(items.length, 1);
    assert.deepEqual(await mail.getBlob(sha(msg)), msg);
  } finally {
    mail.putBlobs = original;
    await s.close();
  }
});
