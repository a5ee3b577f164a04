/**
 * MailStore over Kysely (SQLite and PostgreSQL): the `mail_blobs` table of migration 0003_mail.
 * Inserts use ON CONFLICT DO NOTHING, so two deliveries of the same message at once both
 * succeed and keep one copy. `created_at` is the last time a blob was stored (a known blob
 * stored again is refreshed), which is what garbage collection's grace period looks at.
 * A blob given as a source (a spooled message or attachment) is kept in 1 MiB chunks in
 * `mail_blob_chunks` (migration 0016_blob_chunks), written as it is read.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isBlobSource, type BlobInput, type BlobSource, type MailStore } from './mail-types.ts';
import type { Database } from './schema.ts';
import { StoreError } from './types.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Size of the pieces a blob from a source is kept in (mail_blob_chunks): bounds what a write holds. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

function mismatch(sha256: string): StoreError {
  return new StoreError('invalid', `blob sha256 ${String(sha256).slice(0, 70)} does not match its bytes`);
}

function asBuffer(data: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

export class KyselyMailStore implements MailStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  async putBlobs(parts: readonly BlobInput[]): Promise<void> {
    const unique = new Map<string, BlobInput>();
    for (const p of parts) {
      if (!SHA256_HEX.test(p.sha256)) throw mismatch(p.sha256);
      if (!isBlobSource(p) && createHash('sha256').update(p.data).digest('hex') !== p.sha256) throw mismatch(p.sha256);
      if (!unique.has(p.sha256) || !isBlobSource(p)) unique.set(p.sha256, p);
    }
    if (unique.size === 0) return;
    // A blob stored again is fresh again (its created_at is refreshed): deleteUnreferencedBlobs
    // only considers blobs older than its cutoff. Whatever the refresh did not find (new, or
    // deleted by a collection meanwhile) is inserted.
    const now = this.#now().toISOString();
    const refreshed = new Set(
      (await this.#db.updateTable('mail_blobs').set({ created_at: now }).where('sha256', 'in', [...unique.keys()]).returning('sha256').execute()).map((r) => r.sha256),
    );
    for (const [sha256, p] of unique) {
      if (refreshed.has(sha256)) continue;
      if (isBlobSource(p)) {
        await this.#putSource(p, now);
        continue;
      }
      await this.#db
        .insertInto('mail_blobs')
        .values({ sha256, size: p.data.length, data: p.data, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    }
  }

  /**
   * A source in chunks of BLOB_CHUNK_BYTES, hashed as it is read, in one transaction: a source
   * whose bytes do not match its sha256 or size leaves nothing, and no reader ever sees a blob
   * row without all its chunks. Two deliveries of the same blob at once both succeed (ON
   * CONFLICT DO NOTHING; the second waits on the first's rows on PostgreSQL).
   */
  async #putSource(p: BlobSource, now: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const hash = createHash('sha256');
      let size = 0;
      let seq = 0;
      const write = async (data: Buffer) => {
        await trx
          .insertInto('mail_blob_chunks')
          .values({ sha256: p.sha256, seq: seq++, data })
          .onConflict((oc) => oc.columns(['sha256', 'seq']).doNothing())
          .execute();
      };
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const c of p.read()) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        hash.update(b);
        size += b.length;
        pending.push(b);
        pendingBytes += b.length;
        while (pendingBytes >= BLOB_CHUNK_BYTES) {
          const all = Buffer.concat(pending, pendingBytes);
          await write(all.subarray(0, BLOB_CHUNK_BYTES));
          pending = pendingBytes > BLOB_CHUNK_BYTES ? [all.subarray(BLOB_CHUNK_BYTES)] : [];
          pendingBytes -= BLOB_CHUNK_BYTES;
        }
      }
      if (pendingBytes > 0) await write(Buffer.concat(pending, pendingBytes));
      if (hash.digest('hex') !== p.sha256 || size !== p.size) throw mismatch(p.sha256);
      await trx
        .insertInto('mail_blobs')
        .values({ sha256: p.sha256, size, data: Buffer.alloc(0), chunks: seq, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    });
  }

  async getBlob(sha256: string): Promise<Buffer | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const row = await this.#db.selectFrom('mail_blobs').select(['data', 'chunks']).where('sha256', '=', sha256).executeTakeFirst();
    if (!row) return null;
    if (Number(row.chunks) > 0) {
      const chunks = await this.#db.selectFrom('mail_blob_chunks').select('data').where('sha256', '=', sha256).orderBy('seq').execute();
      return Buffer.concat(chunks.map((c) => asBuffer(c.data)));
    }
    return asBuffer(row.data);
  }

  async blobSize(sha256: string): Promise<number | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const row = await this.#db.selectFrom('mail_blobs').select('size').where('sha256', '=', sha256).executeTakeFirst();
    return row ? Number(row.size) : null;
  }

  async deleteUnreferencedBlobs(createdBefore: Date): Promise<{ deleted: number; kept: number }> {
    const cutoff = createdBefore.toISOString();
    // One snapshot for the scan and the delete (a SQLite transaction; REPEATABLE READ on
    // PostgreSQL), so an item moved during the scan (a new row, the old one a tombstone) is seen
    // once. References made after the snapshot go through putBlobs, which refreshes the blob's
    // created_at, so such a blob is younger than the cutoff and is not deleted.
    return this.#db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const referenced = new Set<string>();
        const ref = /"sha256":"([0-9a-f]{64})"/g;
        let after = '';
        for (;;) {
          const rows = await trx
            .selectFrom('items')
            .select(['id', 'data'])
            .where('deleted', '=', 0)
            .where('id', '>', after)
            .where('data', 'like', '%"sha256"%')
            .orderBy('id')
            .limit(1000)
            .execute();
          for (const r of rows) for (const m of r.data.matchAll(ref)) referenced.add(m[1]!);
          if (rows.length < 1000) break;
          after = rows[rows.length - 1]!.id;
        }
        const old = await trx.selectFrom('mail_blobs').select('sha256').where('created_at', '<', cutoff).execute();
        const doomed = old.map((r) => r.sha256).filter((sha) => !referenced.has(sha));
        for (let i = 0; i < doomed.length; i += 500) {
          const gone = await trx.deleteFrom('mail_blobs').where('sha256', 'in', doomed.slice(i, i + 500)).where('created_at', '<', cutoff).returning('sha256').execute();
          if (gone.length > 0) await trx.deleteFrom('mail_blob_chunks').where('sha256', 'in', gone.map((r) => r.sha256)).execute();
        }
        const left = await trx.selectFrom('mail_blobs').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
        return { deleted: doomed.length, kept: Number(left.n) };
      });
  }
}
