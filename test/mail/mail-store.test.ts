/**
 * store.mail (content-addressed blobs) and deliverMessage on SQLite and PostgreSQL: one copy of
 * the message for all recipients, per-recipient refusals (kb-2.3), aliases, hooks that fail
 * without failing delivery, and the Inbox notification that wakes Pings.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { StoreError, type Store } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'mail');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function users(store: Store) {
  const a = await store.createUser({ email: 'alice@example.com', passwordHash: 'x' });
  const b = await store.createUser({ email: 'bob@example.com', passwordHash: 'x' });
  return { a, b };
}

async function inboxItems(store: Store, userId: string) {
  const folders = await store.listFolders(userId);
  const inbox = folders.find((f) => f.type === 2)!;
  return (await store.listChangesSince(userId, inbox.id, 0, 100)).filter((i) => !i.deleted);
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`mail store and delivery (${backend})`, () => {
    const open = () => (backend === 'sqlite' ? openTempSqliteStore() : openTempPostgresStore());

    test('blobs: kept once by sha256, read back byte for byte, wrong hashes refused', async () => {
      const t = await open();
      try {
        const data = Buffer.from([0, 1, 2, 255, 254, 0x0d, 0x0a]);
        await t.store.mail.putBlobs([{ sha256: sha(data), data }, { sha256: sha(data), data }]);
        await t.store.mail.putBlobs([{ sha256: sha(data), data }]);
        assert.deepEqual(await t.store.mail.getBlob(sha(data)), data);
        assert.equal(await t.store.mail.blobSize(sha(data)), data.length);
        assert.equal(await t.store.mail.getBlob('0'.repeat(64)), null);
        assert.equal(await t.store.mail.getBlob("' or 1=1 --"), null);
        await assert.rejects(t.store.mail.putBlobs([{ sha256: '1'.repeat(64), data }]), (e: unknown) => e instanceof StoreError && e.code === 'invalid');
      } finally {
        await t.cleanup();
      }
    });

    test('kb-2.3: delivery to two users stores the message once; unknown user and foreign domain refused per recipient', async () => {
      const t = await open();
      try {
        const { a, b } = await users(t.store);
        const raw = readFileSync(join(FIX, 'outlook-alternative-related.eml'));
        const hooked: string[] = [];
        const res = await deliverMessage(
          deliveryTo(t.store),
          { envelopeFrom: 'x@outside.test', recipients: ['<Alice@Example.com>', 'bob@example.com', 'nobody@example.com', 'someone@elsewhere.test'], raw },
          {
            afterDelivery: [
              async (userId) => {
                hooked.push(userId);
              },
              async () => {
                throw new Error('hook broken');
              },
            ],
          },
        );
        assert.deepEqual(
          res.map((r) => [r.recipient, r.code, r.outcome]),
          [
            ['alice@example.com', 250, 'delivered'],
            ['bob@example.com', 250, 'delivered'],
            ['nobody@example.com', 550, 'unknown_user'],
            ['someone@elsewhere.test', 550, 'not_accepted'],
          ],
        );
        assert.deepEqual(hooked.sort(), [a.id, b.id].sort(), 'hooks ran; a failing hook does not fail delivery');
        const ia = await inboxItems(t.store, a.id);
        const ib = await inboxItems(t.store, b.id);
        assert.equal(ia.length, 1);
        assert.equal(ib.length, 1);
        const ma = ia[0]!.data.mime as { sha256: string };
        assert.equal(ma.sha256, (ib[0]!.data.mime as { sha256: string }).sha256, 'both items refer to one blob');
        assert.deepEqual(await t.store.mail.getBlob(ma.sha256), raw);
        assert.equal(ia[0]!.data.subject, 'Outlook style – alternative with inline image');
        assert.equal(ia[0]!.data.read, false);
        assert.equal(ia[0]!.data.receivedAsBcc, true, 'neither alice nor bob is in To/Cc');
        assert.equal(ia[0]!.uid, ia[0]!.data.mailId);
        assert.notEqual(ia[0]!.data.mailId, ib[0]!.data.mailId);
      } finally {
        await t.cleanup();
      }
    });

    test('kb-2.3: configured accepted domains; an alias delivers to its user once even when named twice', async () => {
      const t = await open();
      try {
        const { a } = await users(t.store);
        await t.store.directory.addAlias(a.id, 'al@example.org');
        const raw = Buffer.from('From: x@outside.test\r\nTo: alice@example.com\r\nSubject: hi\r\n\r\nbody\r\n');
        const res = await deliverMessage(
          deliveryTo(t.store),
          { envelopeFrom: 'x@outside.test', recipients: ['al@example.org', 'alice@example.com', 'ghost@example.org', 'ghost@extra.test'], raw },
          { acceptedDomains: ['Extra.test'] },
        );
        assert.deepEqual(
          res.map((r) => [r.code, r.outcome]),
          [
            [250, 'delivered'],
            [250, 'delivered'],
            [550, 'unknown_user'],
            [550, 'unknown_user'],
          ],
        );
        assert.equal(res[0]!.itemId, res[1]!.itemId);
        const items = await inboxItems(t.store, a.id);
        assert.equal(items.length, 1);
        assert.equal(items[0]!.data.receivedAsBcc, false);
      } finally {
        await t.cleanup();
      }
    });

    test('bad MIME is delivered and stored whole, never refused or dropped', async () => {
      const t = await open();
      try {
        const { a } = await users(t.store);
        for (const f of ['malformed-truncated.eml', 'malformed-empty-rfc822.eml']) {
          const raw = readFileSync(join(FIX, f));
          const [r] = await deliverMessage(deliveryTo(t.store), { envelopeFrom: '', recipients: ['alice@example.com'], raw });
          assert.equal(r!.code, 250, f);
          const item = (await inboxItems(t.store, a.id)).find((i) => i.id === r!.itemId)!;
          assert.deepEqual(await t.store.mail.getBlob((item.data.mime as { sha256: string }).sha256), raw);
        }
        assert.equal((await inboxItems(t.store, a.id)).length, 2);
      } finally {
        await t.cleanup();
      }
    });

    test('garbage collection: blobs of items deleted for good go, blobs of live or moved items and recent blobs stay', async () => {
      let nowMs = Date.parse('2025-01-01T00:00:00.000Z');
      const t = backend === 'sqlite' ? await openTempSqliteStore({ now: () => new Date(nowMs) }) : await openTempPostgresStore({ now: () => new Date(nowMs) });
      try {
        const { a } = await users(t.store);
        const one = readFileSync(join(FIX, 'thunderbird-nested-rfc822.eml'));
        const two = readFileSync(join(FIX, 'outlook-alternative-related.eml'));
        const [r1] = await deliverMessage(deliveryTo(t.store), { envelopeFrom: '', recipients: ['alice@example.com'], raw: one });
        const [r2] = await deliverMessage(deliveryTo(t.store), { envelopeFrom: '', recipients: ['alice@example.com'], raw: two });
        const i1 = (await t.store.getItem(a.id, r1!.itemId!))!;
        const i2 = (await t.store.getItem(a.id, r2!.itemId!))!;
        const shas = (item: typeof i1) => [(item.data.mime as { sha256: string }).sha256, ...(item.data.attachments as Array<{ sha256: string }>).map((x) => x.sha256)];
        await t.store.deleteItem(a.id, i1.id);
        const archive = await t.store.createFolder({ userId: a.id, parentId: null, displayName: 'Archive', type: 12 });
        await t.store.moveItem(a.id, i2.id, archive.id);
        // Within the grace period nothing goes.
        assert.deepEqual(await t.store.mail.deleteUnreferencedBlobs(new Date(nowMs - 1000)), { deleted: 0, kept: 5 });
        nowMs += 3_600_000;
        // The same message delivered again refreshes its blobs: they are recent again.
        const [r3] = await deliverMessage(deliveryTo(t.store), { envelopeFrom: '', recipients: ['alice@example.com'], raw: one });
        await t.store.deleteItem(a.id, r3!.itemId!);
        assert.deepEqual(await t.store.mail.deleteUnreferencedBlobs(new Date(nowMs - 1000)), { deleted: 0, kept: 5 });
        nowMs += 3_600_000;
        const r = await t.store.mail.deleteUnreferencedBlobs(new Date(nowMs - 1000));
        assert.deepEqual(r, { deleted: 3, kept: 2 });
        for (const sha of shas(i1)) assert.equal(await t.store.mail.getBlob(sha), null);
        for (const sha of shas(i2)) assert.notEqual(await t.store.mail.getBlob(sha), null, 'the moved item keeps its blobs');
      } finally {
        await t.cleanup();
      }
    });

    test('the delivered item notifies the Inbox (what wakes a held Ping)', async () => {
      const t = await open();
      try {
        const { a } = await users(t.store);
        const folders = await (await import('../helpers/default-folders.ts')).ensureDefaultFolders(t.store, a.id);
        const inbox = folders.find((f) => f.type === 2)!;
        const heard = new Promise<void>((resolve) => {
          const off = t.store.subscribeChanges((e) => {
            if (e.userId === a.id && e.folderId === inbox.id) {
              off();
              resolve();
            }
          });
        });
        await deliverMessage(deliveryTo(t.store), { envelopeFrom: '', recipients: ['alice@example.com'], raw: Buffer.from('Subject: x\r\n\r\ny\r\n') });
        await heard;
      } finally {
        await t.cleanup();
      }
    });
  });
}
