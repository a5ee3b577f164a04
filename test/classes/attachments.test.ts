/**
 * The attachments part of the Email and Calendar converters (src/classes/attachments.ts):
 * MS-ASAIRS 2.2.2.2 Add / 2.2.2.21 Delete from 16.x devices, over the WBXML codec (Content as
 * opaque bytes, as Horde's ActiveSync library reads it: horde/ActiveSync
 * lib/Horde/ActiveSync/Message/AirSyncBaseAdd.php), and the FileReferences they get.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { calendarConverter, emailConverter, ConversionError } from '../../src/classes/index.ts';
import { fileReference, parseFileReference } from '../../src/classes/attachments.ts';
import type { BlobPart } from '../../src/ports/mail.ts';
import { child, childText, children, el, type WbxmlElement } from '../../src/wbxml/tree.ts';
import { ctx, overTheWire } from './helpers.ts';

const ASB = 'AirSyncBase';
const add = (clientId: string, name: string, content: Buffer) =>
  el(ASB, 'Add', el(ASB, 'ClientId', clientId), el(ASB, 'Content', new Uint8Array(content)), el(ASB, 'Method', 1), el(ASB, 'DisplayName', name), el(ASB, 'ContentType', 'text/plain'));

function draft(...atts: WbxmlElement[]): WbxmlElement {
  return overTheWire([el('Email', 'Subject', 'S'), el(ASB, 'Attachments', atts)]);
}

describe('attachments from 16.x devices', () => {
  it('an Add stores name, type, size and sha256, hands the bytes to newBlobs, and gives the draft a mailId as uid', () => {
    const newBlobs: BlobPart[] = [];
    const bytes = Buffer.from([0, 1, 2, 255]);
    const data = emailConverter.fromEas(draft(add('c1', 'a.bin', bytes)), ctx('16.1', { newBlobs }));
    const [a] = data['attachments'] as Array<Record<string, unknown>>;
    assert.equal(a!['name'], 'a.bin');
    assert.equal(a!['size'], 4);
    assert.equal(a!['index'], 0);
    assert.equal(a!['sha256'], createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(newBlobs, [{ sha256: a!['sha256'], data: bytes }]);
    assert.match(String(data['mailId']), /^m[0-9a-f]{24}$/);
    assert.equal(data['uid'], data['mailId']);
  });

  it('the same ClientId again adds nothing; a new one gets the next index, never a reused one', () => {
    const first = emailConverter.fromEas(draft(add('c1', 'a', Buffer.from('a')), add('c2', 'b', Buffer.from('b'))), ctx('16.1', { newBlobs: [] }));
    const ref0 = fileReference({ kind: 'mail', mailId: String(first['mailId']) }, 0);
    // Changes of a draft in Drafts (every field is the device's there, src/sync/client-commands.ts).
    const afterDelete = emailConverter.fromEas(draft(el(ASB, 'Delete', el(ASB, 'FileReference', ref0)), add('c1', 'a', Buffer.from('a')), add('c3', 'c', Buffer.from('c'))), ctx('16.1', { newBlobs: [], draftsFolder: true }), first);
    const list = afterDelete['attachments'] as Array<Record<string, unknown>>;
    // c1 was deleted in this Change and sent again in it: added again, as a new attachment.
    assert.deepEqual(list.map((a) => [a['clientId'], a['index']]), [['c2', 1], ['c1', 2], ['c3', 3]]);
    const replay = emailConverter.fromEas(draft(add('c3', 'c', Buffer.from('c'))), ctx('16.1', { newBlobs: [], draftsFolder: true }), afterDelete);
    assert.equal((replay['attachments'] as unknown[]).length, 3);
  });

  it('Content over the limit, an Add without ClientId, and a Delete without FileReference are ConversionErrors (Sync Status 6)', () => {
    assert.throws(() => emailConverter.fromEas(draft(add('c1', 'big', Buffer.alloc(11))), ctx('16.1', { newBlobs: [], maxAttachmentBytes: 10 })), ConversionError);
    assert.throws(() => emailConverter.fromEas(draft(el(ASB, 'Add', el(ASB, 'Content', 'x'), el(ASB, 'DisplayName', 'x'))), ctx('16.1', { newBlobs: [] })), ConversionError);
    assert.throws(() => emailConverter.fromEas(draft(el(ASB, 'Delete')), ctx('16.1', { newBlobs: [] })), ConversionError);
    assert.throws(() => emailConverter.fromEas(draft(add('c1', 'x', Buffer.from('x'))), ctx('16.1')), ConversionError, 'no place to keep the bytes');
  });

  it('before 16.0 Attachments from a device are not read', () => {
    const data = emailConverter.fromEas(draft(add('c1', 'a', Buffer.from('a'))), ctx('14.1', { newBlobs: [] }));
    assert.equal(data['attachments'], undefined);
  });

  it('a calendar item: FileReferences name its UID; toEas lists the attachments on 16.x only; the answer maps ClientId to FileReference', () => {
    const appData = overTheWire([
      el('Calendar', 'Subject', 'M'),
      el('Calendar', 'StartTime', '20300101T100000Z'),
      el('Calendar', 'EndTime', '20300101T110000Z'),
      el(ASB, 'Attachments', add('x1', 'agenda.txt', Buffer.from('agenda'))),
    ]);
    const data = calendarConverter.fromEas(appData, ctx('16.1', { newBlobs: [] }));
    const odd = fileReference({ kind: 'event', uid: 'uid with spaces; and é' }, 7);
    assert.deepEqual(parseFileReference(odd), { kind: 'event', uid: 'uid with spaces; and é', index: 7 });
    // 16.x: the server makes the UID (MS-ASCAL 2.2.2.46); the FileReference names it.
    const ref = fileReference({ kind: 'event', uid: String(data['uid']) }, 0);
    const answer = calendarConverter.clientWriteAnswer!(appData, data, ctx('16.1'))!;
    const att = children(answer[0]!, 'Attachment', ASB)[0]!;
    assert.deepEqual([childText(att, 'ClientId', ASB), childText(att, 'FileReference', ASB)], ['x1', ref]);
    const out16 = calendarConverter.toEas(data, ctx('16.1'));
    const listed = out16.find((e) => e.name === 'Attachments')!;
    assert.equal(childText(child(listed, 'Attachment', ASB)!, 'FileReference', ASB), ref);
    assert.equal(calendarConverter.toEas(data, ctx('14.1')).find((e) => e.name === 'Attachments'), undefined);
  });
});
