/**
 * A spooled message (spool.ts) -> the same ParsedMessage as parse.ts gives for bytes in memory,
 * without ever holding the message or a large attachment whole.
 *
 * The file is streamed through mailparser's MailParser (the streaming parser simpleParser is
 * built on, with the same options). Each attachment's decoded bytes are hashed (sha256) as they
 * arrive; up to INLINE_ATTACHMENT_BYTES they stay in memory (a small part is cheaper to store as
 * one value), past it they go to a file in the delivery's spool directory, and the store reads
 * that file a chunk at a time (MailStore BlobSource). The raw message itself is stored from its
 * spool file the same way. Calendar parts (text/calendar) are kept in memory up to
 * CALENDAR_PART_BYTES, since meeting processing reads them as text.
 *
 * What is still held whole is the message's text and HTML body, which the Email item keeps
 * (MS-ASEMAIL 2.2.2.9 Body is served from it).
 *
 * Never throws for bad MIME: if the parser fails, the item is made (parse.ts `fallback`) from the
 * first FALLBACK_BYTES of the message, and the raw message is still kept whole.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { MailParser, type Attachment, type AttachmentStream, type MessageText, type ParsedMail } from 'mailparser';
import { assemble, fallback, fromParsed, MAX_HTML_TO_TEXT, type AttachmentBytes, type ParsedMessage, type ParseOptions } from './parse.ts';
import { fileSource, type SpooledMessage } from './spool.ts';

/** Attachments up to this size are kept in memory; larger ones are spooled to a file. */
export const INLINE_ATTACHMENT_BYTES = 64 * 1024;
/** Calendar parts up to this size are kept in memory (meeting processing reads them). */
export const CALENDAR_PART_BYTES = 4 * 1024 * 1024;
/** How much of an unparseable message becomes the item's text (the raw message is kept whole). */
export const FALLBACK_BYTES = 1024 * 1024;

/** A failure reading or writing the spool files, as opposed to the message's own form. */
class SpoolIoError extends Error {
  constructor(override readonly cause: unknown) {
    super('spool I/O failed');
  }
}

/** Counts what the parse holds in memory, for tests: the largest attachment buffer kept. */
export interface ParseStats {
  maxHeldAttachmentBytes: number;
  spooledAttachments: number;
}

/** Parses a spooled message; its attachments' files go in the message's spool directory. */
export async function parseSpooled(msg: SpooledMessage, opts: ParseOptions & { stats?: ParseStats } = {}): Promise<ParsedMessage> {
  const received = opts.received ?? new Date();
  const bytes = new Map<Attachment, AttachmentBytes>();
  let mail: ParsedMail | undefined;
  try {
    mail = await streamParse(msg, bytes, opts.stats);
  } catch (err) {
    // The disk failing (full, gone) is a temporary failure of the delivery (451/452), never a
    // reason to file the message with its attachments missing; bad MIME falls back.
    if (err instanceof SpoolIoError) throw err.cause;
    mail = undefined;
  }
  const parts: ParsedMessage['parts'] = [fileSource(msg.path, msg.size, msg.sha256)];
  const data = mail ? fromParsed(mail, msg.head, received, parts, (a) => bytes.get(a)!) : fallback(await readStart(msg.path, FALLBACK_BYTES), received);
  return assemble(mail, data, parts, msg.sha256, msg.size);
}

async function readStart(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** MailParser over the file, gathered as simpleParser gathers it, attachments spooled. */
function streamParse(msg: SpooledMessage, bytes: Map<Attachment, AttachmentBytes>, stats: ParseStats | undefined): Promise<ParsedMail> {
  return new Promise((resolve, reject) => {
    const parser = new MailParser({ skipImageLinks: true, maxHtmlLengthToParse: MAX_HTML_TO_TEXT, checksumAlgo: false });
    const mail: Record<string, unknown> & { attachments: Attachment[] } = { attachments: [] };
    const input = createReadStream(msg.path);
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      input.destroy();
      parser.destroy();
      reject(err);
    };
    parser.on('error', fail);
    parser.on('headers', (headers) => {
      mail['headers'] = headers;
      mail['headerLines'] = parser.headerLines;
    });
    let reading = false;
    const reader = (): void => {
      reading = true;
      const data = parser.read() as MessageText | AttachmentStream | null;
      if (data === null) {
        reading = false;
        return;
      }
      if (data.type === 'text') {
        for (const key of ['text', 'html', 'textAsHtml', 'textConversionError'] as const) if (data[key] !== undefined) mail[key] = data[key];
        return reader();
      }
      const index = mail.attachments.length;
      spoolAttachment(data, join(msg.dir, `part-${index}`), stats).then(
        ({ content, stored }) => {
          const release = data.release;
          const att = Object.assign(data, { content, release: null, size: stored.size, checksum: '' }) as unknown as Attachment;
          mail.attachments.push(att);
          bytes.set(att, stored);
          release?.();
          reader();
        },
        (err: unknown) => fail(err),
      );
    };
    parser.on('readable', () => {
      if (!reading) reader();
    });
    parser.on('end', () => {
      const headers = mail['headers'] as Map<string, unknown> | undefined;
      for (const key of ['subject', 'references', 'date', 'to', 'from', 'cc', 'bcc', 'message-id', 'in-reply-to', 'reply-to']) {
        if (headers?.has(key)) mail[key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] = headers.get(key);
      }
      if (!mail['headers']) return fail(new Error('no message headers'));
      if (settled) return;
      settled = true;
      resolve(mail as unknown as ParsedMail);
    });
    input.once('error', (err) => fail(new SpoolIoError(err)));
    input.pipe(parser);
  });
}

/**
 * Reads one attachment's content: hashed as it comes, kept in memory up to its limit, past it
 * written to `path` (with backpressure). Returns the in-memory content (empty when spooled).
 */
async function spoolAttachment(att: AttachmentStream, path: string, stats: ParseStats | undefined): Promise<{ content: Buffer; stored: AttachmentBytes }> {
  const limit = att.contentType.toLowerCase() === 'text/calendar' ? CALENDAR_PART_BYTES : INLINE_ATTACHMENT_BYTES;
  const hash = createHash('sha256');
  let held: Buffer[] = [];
  let size = 0;
  let out: ReturnType<typeof createWriteStream> | undefined;
  let writeErr: Error | undefined;
  try {
    for await (const chunk of att.content as AsyncIterable<Buffer>) {
      if (writeErr) throw writeErr;
      hash.update(chunk);
      size += chunk.length;
      if (out) {
        if (!out.write(chunk)) await once(out, 'drain');
        continue;
      }
      held.push(chunk);
      if (stats) stats.maxHeldAttachmentBytes = Math.max(stats.maxHeldAttachmentBytes, size);
      if (size > limit) {
        // Past the limit: what was held goes to the file first, then the rest as it comes.
        out = createWriteStream(path);
        out.on('error', (err) => (writeErr = err));
        const first = Buffer.concat(held, size);
        held = [];
        if (!out.write(first)) await once(out, 'drain');
      }
    }
  } catch (err) {
    throw writeErr ? new SpoolIoError(writeErr) : err;
  } finally {
    const o = out;
    if (o && !o.closed) await new Promise<void>((res) => o.end(() => res()).once('error', () => res()));
  }
  if (writeErr) throw new SpoolIoError(writeErr);
  const sha256 = hash.digest('hex');
  if (out) {
    if (stats) stats.spooledAttachments++;
    return { content: Buffer.alloc(0), stored: { sha256, size, part: fileSource(path, size, sha256) } };
  }
  const content = Buffer.concat(held, size);
  return { content, stored: { sha256, size, part: { sha256, data: content } } };
}
