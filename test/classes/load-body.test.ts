/**
 * MIME for BodyPreference 4 comes from the blob store (load-body.ts) and goes out byte for byte:
 * UTF-8 messages as text, 8-bit messages in other charsets as opaque bytes (never through a lossy
 * UTF-8 decode), truncated by bytes; nothing is loaded when the client did not ask for MIME.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emailConverter } from '../../src/classes/email.ts';
import type { ConvertContext } from '../../src/classes/types.ts';
import { deliverMessage } from '../../src/mail/deliver.ts';
import { loadForConversion } from '../../src/classes/load-body.ts';
import type { Store } from '../../src/store/types.ts';
import { child, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { openTempSqliteStore } from '../helpers/db.ts';
import { deliveryTo } from '../helpers/delivery.ts';

async function deliverOne(store: Store, raw: Buffer) {
  const u = (await store.getUserByEmail('alice@example.com')) ?? (await store.createUser({ email: 'alice@example.com', passwordHash: 'x' }));
  const [r] = await deliverMessage(deliveryTo(store), { envelopeFrom: '', recipients: [u.email], raw });
  return (await store.getItem(u.id, r!.itemId!))!;
}

function data(kids: WbxmlElement[]): WbxmlElement {
  const body = kids.find((k) => k.name === 'Body')!;
  return child(body, 'Data', 'AirSyncBase')!;
}

const mime = (extra: Partial<ConvertContext> = {}): ConvertContext => ({ version: '14.1', bodyPreferences: [{ type: 4 }], mimeSupport: 2, ...extra });

test('an 8-bit windows-1252 message goes out as the exact bytes received (opaque), truncated by bytes', async () => {
  const t = await openTempSqliteStore();
  try {
    const raw = Buffer.concat([
      Buffer.from('From: x@outside.test\r\nSubject: 8bit\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf'),
      Buffer.from([0xe9, 0x20, 0x93, 0x71, 0x94, 0x0d, 0x0a]),
    ]);
    const item = await deliverOne(t.store, raw);
    assert.equal((item.data.body as { text: string }).text.trim(), 'Café “q”', 'the text body is decoded for Sync');
    await loadForConversion(t.store.mail, [item], mime());
    const d = data(emailConverter.toEas(item.data, mime()));
    assert.ok(d.children[0] instanceof Uint8Array);
    assert.deepEqual(Buffer.from(d.children[0]), raw);
    const cut = data(emailConverter.toEas(item.data, mime({ bodyPreferences: [{ type: 4, truncationSize: 20 }] })));
    assert.deepEqual(Buffer.from(cut.children[0] as Uint8Array), raw.subarray(0, 20));
  } finally {
    await t.cleanup();
  }
});

test('a UTF-8 message goes out as text; without MIME in the request nothing is read from the blob store', async () => {
  const t = await openTempSqliteStore();
  try {
    const raw = Buffer.from('From: x@outside.test\r\nSubject: utf8\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCafé ✓\r\n');
    const item = await deliverOne(t.store, raw);
    const before = JSON.stringify(item.data);
    await loadForConversion(t.store.mail, [item], { version: '14.1', bodyPreferences: [{ type: 2 }], mimeSupport: 2 });
    await loadForConversion(t.store.mail, [item], mime({ mimeSupport: 0 }));
    await loadForConversion(t.store.mail, [item], mime({ mimeSupport: 1 }));
    assert.equal(JSON.stringify(item.data), before, 'not loaded: no MIME asked, MIMESupport 0, or 1 for a message that is not S/MIME');
    await loadForConversion(t.store.mail, [item], mime());
    const d = data(emailConverter.toEas(item.data, mime()));
    assert.equal(d.children[0], raw.toString('utf8'));
  } finally {
    await t.cleanup();
  }
});
