/**
 * Spooled messages (src/mail/spool.ts, parse-stream.ts): a message read from a stream past the
 * memory threshold is on disk with its sha256; parsing it from the file gives the same item data
 * as parsing it in memory; a large attachment is never held whole (an instrumented counter of
 * what the parser keeps); a message over the limit leaves no file behind.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { isBlobSource, type BlobInput } from '../../src/ports/mail.ts';
import { INLINE_ATTACHMENT_BYTES, parseSpooled, type ParseStats } from '../../src/mail/parse-stream.ts';
import { parseMessage } from '../../src/mail/parse.ts';
import { readMessageStream, removeSpoolDir, type SpooledMessage } from '../../src/mail/spool.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'mail');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Streams `raw` in 16 KB pieces through readMessageStream. */
async function spool(raw: Buffer, opts: { maxBytes?: number; memoryBytes?: number; dir?: string } = {}) {
  const s = new PassThrough();
  const p = readMessageStream(s, { maxBytes: opts.maxBytes ?? 1e9, memoryBytes: opts.memoryBytes ?? 0, ...(opts.dir ? { dir: opts.dir } : {}) });
  for (let i = 0; i < raw.length; i += 16384) s.write(raw.subarray(i, i + 16384));
  s.end();
  return p;
}

async function bytesOf(p: BlobInput): Promise<Buffer> {
  if (!isBlobSource(p)) return p.data;
  const chunks: Buffer[] = [];
  for await (const c of p.read()) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function withAttachment(size: number): Buffer {
  const b64 = randomBytes(size).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      'From: "Sender" <s@outside.test>',
      'To: alice@example.com',
      'Subject: Report',
      'Message-ID: <report@outside.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=iso-8859-1',
      '',
      'The report is attached.',
      '--b',
      'Content-Type: application/pdf; name="report.pdf"',
      'Content-Disposition: attachment; filename="report.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b--',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

test('a spooled message parses to the same item data, parts and calendar parts as in memory (every fixture)', async () => {
  const received = new Date('2025-02-03T10:00:00Z');
  const files = readdirSync(FIX).filter((f) => f.endsWith('.eml'));
  assert.ok(files.length >= 5);
  const ics = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'calendar', 'itip', 'outlook-series-request.ics'), 'utf8');
  const meeting = Buffer.from(
    ['From: o@outside.test', 'To: alice@example.com', 'Subject: Weekly', 'MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="m"', '', '--m', 'Content-Type: text/plain', '', 'Weekly sync', '--m', 'Content-Type: text/calendar; method=REQUEST; charset=utf-8', '', ics, '--m--', ''].join('\r\n'),
  );
  for (const f of [...files, 'with-attachment', 'meeting']) {
    const raw = f === 'with-attachment' ? withAttachment(300_000) : f === 'meeting' ? meeting : readFileSync(join(FIX, f));
    const read = await spool(raw);
    assert.equal(read.kind, 'spooled', f);
    const sp = read as SpooledMessage;
    try {
      assert.equal(sp.sha256, sha(raw), f);
      assert.equal(sp.size, raw.length, f);
      assert.deepEqual(readFileSync(sp.path), raw, f);
      const mem = await parseMessage(raw, { received });
      const str = await parseSpooled(sp, { received });
      assert.deepEqual(str.data, mem.data, f);
      assert.deepEqual(str.calendarParts, mem.calendarParts, f);
      if (f === 'meeting') assert.equal(str.data['messageClass'], 'IPM.Schedule.Meeting.Request');
      assert.equal(str.messageId, mem.messageId, f);
      assert.equal(str.rawSha256, mem.rawSha256, f);
      assert.deepEqual(str.parts.map((p) => p.sha256), mem.parts.map((p) => p.sha256), f);
      for (const p of str.parts) assert.equal(sha(await bytesOf(p)), p.sha256, f);
    } finally {
      await removeSpoolDir(sp.dir);
    }
  }
});

test('a large attachment is never held whole: it is spooled, and the parser holds at most about INLINE_ATTACHMENT_BYTES of it', async () => {
  const raw = withAttachment(5 * 1024 * 1024);
  const sp = (await spool(raw)) as SpooledMessage;
  try {
    const stats: ParseStats = { maxHeldAttachmentBytes: 0, spooledAttachments: 0 };
    const parsed = await parseSpooled(sp, { stats });
    assert.equal(stats.spooledAttachments, 1);
    // One decoded piece may come on top of the limit before the switch to the file.
    assert.ok(stats.maxHeldAttachmentBytes <= INLINE_ATTACHMENT_BYTES + 256 * 1024, `held ${stats.maxHeldAttachmentBytes}`);
    const att = (parsed.data['attachments'] as Array<{ sha256: string; size: number }>)[0]!;
    assert.equal(att.size, 5 * 1024 * 1024);
    const part = parsed.parts.find((p) => p.sha256 === att.sha256)!;
    assert.ok(isBlobSource(part), 'the attachment reaches the store as a file source');
    assert.ok(isBlobSource(parsed.parts[0]!), 'so does the raw message');
    assert.equal(sha(await bytesOf(part)), att.sha256);
    assert.equal(parsed.mail?.attachments[0]?.content.length, 0);
  } finally {
    await removeSpoolDir(sp.dir);
  }
});

test('reading a message: small stays in memory, over the limit leaves no spool file, a binary spooled body still gets an item', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'easd-spool-test-'));
  try {
    const small = await spool(Buffer.from('Subject: hi\r\n\r\nhello\r\n'), { memoryBytes: 1024, dir });
    assert.equal(small.kind, 'memory');
    const over = await spool(randomBytes(300_000), { maxBytes: 200_000, memoryBytes: 1000, dir });
    assert.equal(over.kind, 'over');
    assert.deepEqual(readdirSync(dir), [], 'the refused message left nothing');
    // Binary bytes after a header: still an item with its subject, and the raw bytes kept by hash.
    const junk = Buffer.concat([Buffer.from('Subject: binary\r\n\r\n'), randomBytes(200_000)]);
    const sp = (await spool(junk, { dir })) as SpooledMessage;
    const parsed = await parseSpooled(sp, {});
    assert.equal(parsed.data['subject'], 'binary');
    assert.equal(parsed.rawSha256, sha(junk));
    await removeSpoolDir(sp.dir);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a spool file that cannot be written or read fails the parse (a temporary failure), never an item with attachments missing', async () => {
  const raw = withAttachment(500_000);
  const sp = (await spool(raw)) as SpooledMessage;
  try {
    // The attachment's file cannot be made: the error comes out as it is (ENOENT here; ENOSPC -> 452).
    await assert.rejects(parseSpooled({ ...sp, dir: join(sp.dir, 'gone') }, {}), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
    // The message's own file is gone.
    await assert.rejects(parseSpooled({ ...sp, path: join(sp.dir, 'missing.eml') }, {}), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
    // The same message parses when the disk is there.
    const ok = await parseSpooled(sp, {});
    assert.equal((ok.data['attachments'] as unknown[]).length, 1);
  } finally {
    await removeSpoolDir(sp.dir);
  }
});
