/**
 * Spooling of incoming mail, so memory per delivery is bounded whatever the message size.
 *
 * A message is read from the LMTP/SMTP DATA stream into memory up to `memoryBytes`; past that it
 * goes to a file in a fresh directory under `dir` (the OS temp directory by default), hashed
 * (sha256) as it is written. Parsing (parse-stream.ts) writes the large attachments it finds
 * next to it, and the store reads both back a chunk at a time (MailStore BlobSource). The
 * directory is removed when the delivery is over, whatever its outcome.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobSource } from '../ports/mail.ts';

/** Messages up to this size are parsed from memory (the common case); larger ones are spooled. */
export const DEFAULT_SPOOL_THRESHOLD_BYTES = 1024 * 1024;
/** How much of a spooled message is kept in memory for cheap scans of its header (a charset). */
export const SPOOL_HEAD_BYTES = 64 * 1024;

/** A message on disk: its file, size and sha256, and the first SPOOL_HEAD_BYTES of it. */
export interface SpooledMessage {
  readonly kind: 'spooled';
  /** The delivery's own directory (attachments are spooled there too). */
  readonly dir: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly head: Buffer;
}

export type ReadResult = { kind: 'over' } | { kind: 'memory'; raw: Buffer } | SpooledMessage;

export interface SpoolOptions {
  /** Over this many bytes the message is refused (the rest is read and dropped). */
  maxBytes: number;
  /** Up to this many bytes the message stays in memory. */
  memoryBytes: number;
  /** Where spool directories are made; default the OS temp directory. */
  dir?: string;
}

/** A fresh directory for one delivery's files. */
export function makeSpoolDir(parent?: string): Promise<string> {
  return mkdtemp(join(parent ?? tmpdir(), 'easd-mail-'));
}

/** Removes a delivery's spool directory; never throws (a leftover is only disk space). */
export async function removeSpoolDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** A spooled file as a blob source for the store. */
export function fileSource(path: string, size: number, sha256: string): BlobSource {
  return { sha256, size, read: () => createReadStream(path, { highWaterMark: 256 * 1024 }) };
}

/**
 * Reads a message stream: in memory while small, then to a spool file, with backpressure (the
 * stream is paused while the file catches up). Over `maxBytes`, the file is removed and the rest
 * of the stream drained. A failure removes the spool directory.
 */
export function readMessageStream(stream: Readable & { sizeExceeded?: boolean }, opts: SpoolOptions): Promise<ReadResult> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let file: { dir: string; path: string; out: WriteStream; hash: ReturnType<typeof createHash>; head: Buffer } | undefined;
    let opening: Promise<void> | undefined;
    let failed: unknown;

    const fail = (err: unknown) => {
      if (failed !== undefined) return;
      failed = err;
      stream.resume(); // drain: the client waits for its reply
    };
    const write = (c: Buffer) => {
      file!.hash.update(c);
      if (file!.head.length < SPOOL_HEAD_BYTES) file!.head = Buffer.concat([file!.head, c.subarray(0, SPOOL_HEAD_BYTES - file!.head.length)]);
      if (!file!.out.write(c)) {
        stream.pause();
        file!.out.once('drain', () => stream.resume());
      }
    };
    const open = async () => {
      const dir = await makeSpoolDir(opts.dir);
      const path = join(dir, 'message.eml');
      const out = createWriteStream(path);
      out.on('error', fail);
      const pending = Buffer.concat(chunks);
      chunks = [];
      file = { dir, path, out, hash: createHash('sha256'), head: Buffer.alloc(0) };
      write(pending);
    };

    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxBytes) over = true;
      if (over || failed !== undefined) return;
      if (file) return write(c);
      chunks.push(c);
      if (size > opts.memoryBytes && !opening) {
        // Past the threshold: to disk. Data arriving while the file opens waits in `chunks`.
        stream.pause();
        opening = open().then(
          () => {
            for (const p of chunks.splice(0)) write(p);
            stream.resume();
          },
          (err) => fail(err),
        );
      }
    });
    stream.once('error', (err) => {
      void finish().then(() => reject(err));
    });
    stream.once('end', () => {
      void finish().then(async () => {
        if (failed !== undefined) return reject(failed);
        if (over || stream.sizeExceeded) return resolve({ kind: 'over' });
        if (!file) return resolve({ kind: 'memory', raw: Buffer.concat(chunks, size) });
        resolve({ kind: 'spooled', dir: file.dir, path: file.path, size, sha256: file.hash.digest('hex'), head: file.head });
      });
    });

    /** Closes the file; removes the spool directory unless a complete message is in it. */
    async function finish(): Promise<void> {
      await opening;
      // Whatever came after the file opened and before the end is still in `chunks` when the
      // stream ended while paused: written now, in order.
      if (file && !over && failed === undefined) for (const p of chunks.splice(0)) write(p);
      if (!file) return;
      const f = file;
      await new Promise<void>((res) => {
        if (f.out.closed) return res();
        f.out.end(() => res());
        f.out.once('error', () => res());
      });
      if (over || failed !== undefined || stream.sizeExceeded) await removeSpoolDir(f.dir);
    }
  });
}
