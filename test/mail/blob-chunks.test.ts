/**
 * store.mail with blob sources (migration 0016_blob_chunks) on SQLite and PostgreSQL: a source is
 * written in chunks and read back byte for byte, a known blob's source is never read, a source
 * whose bytes do not match leaves nothing, and garbage collection removes a blob's chunks.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { BlobSource } from '../../src/ports/mail.ts';
import { BLOB_CHUNK_BYTES } from '../../src/store/mail-store.ts';
import { SQLITE_FILE_NAME } from '../../src/store/sqlite.ts';
import { StoreError } from '../../src/store/types.ts';
import { openTempPostgresStore, openTempSqliteStore, PG_TEST_URL } from '../helpers/db.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A source over `data`, yielding 100 KB pieces, counting how often it is read. */
function source(data: Buffer, claimed = sha(data)): BlobSource & { reads: number } {
  const s = {
    sha256: claimed,
    size: data.length,
    reads: 0,
    async *read() {
      s.reads++;
      for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
    },
  };
  return s;
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`blob chunks (${backend})`, () => {
    const open = async () => {
      if (backend === 'sqlite') {
        const t = await openTempSqliteStore();
        const chunkRows = async () => {
          const db = new Database(join(t.dir, SQLITE_FILE_NAME), { readonly: true });
          try {
            return Number((db.prepare('select count(*) as n from mail_blob_chunks').get() as { n: number }).n);
          } finally {
            db.close();
          }
        };
        return { ...t, chunkRows };
      }
      const t = await openTempPostgresStore();
      const chunkRows = async () => {
        const c = new pg.Client({ connectionString: PG_TEST_URL });
        await c.connect();
        try {
          return Number((await c.query(`select count(*) as n from "${t.schema}".mail_blob_chunks`)).rows[0].n);
        } finally {
          await c.end();
        }
      };
      return { ...t, chunkRows };
    };

    test('a source is kept in chunks and read back whole; stored again it is not read', async () => {
      const t = await open();
      try {
        const data = randomBytes(BLOB_CHUNK_BYTES * 2 + 12345);
        const s = source(data);
        await t.store.mail.putBlobs([s, { sha256: sha(Buffer.from('small')), data: Buffer.from('small') }]);
        assert.equal(s.reads, 1);
        assert.equal(await t.chunkRows(), 3);
        assert.deepEqual(await t.store.mail.getBlob(sha(data)), data);
        assert.equal(await t.store.mail.blobSize(sha(data)), data.length);
        assert.deepEqual(await t.store.mail.getBlob(sha(Buffer.from('small'))), Buffer.from('small'));
        const again = source(data);
        await t.store.mail.putBlobs([again]);
        assert.equal(again.reads, 0, 'a blob already stored is only refreshed');
        // Two deliveries of the same new blob at once both succeed and keep one copy.
        const other = randomBytes(BLOB_CHUNK_BYTES + 1);
        await Promise.all([t.store.mail.putBlobs([source(other)]), t.store.mail.putBlobs([source(other)])]);
        assert.deepEqual(await t.store.mail.getBlob(sha(other)), other);
        assert.equal(await t.chunkRows(), 5);
      } finally {
        await t.cleanup();
      }
    });

    test('a source whose bytes do not match its sha256 or size is refused and leaves nothing', async () => {
      const t = await open();
      try {
        const good = randomBytes(BLOB_CHUNK_BYTES + 500);
        const bad = randomBytes(good.length);
        const isInvalid = (e: unknown) => e instanceof StoreError && e.code === 'invalid';
        await assert.rejects(t.store.mail.putBlobs([source(bad, sha(good))]), isInvalid);
        await assert.rejects(t.store.mail.putBlobs([{ ...source(good), size: good.length - 1 }]), isInvalid);
        assert.equal(await t.store.mail.getBlob(sha(good)), null);
        assert.equal(await t.chunkRows(), 0);
        // The right bytes afterwards are stored as they are (nothing of the refused write is reused).
        await t.store.mail.putBlobs([source(good)]);
        assert.deepEqual(await t.store.mail.getBlob(sha(good)), good);
      } finally {
        await t.cleanup();
      }
    });

    test('garbage collection deletes an unreferenced chunked blob with its chunks', async () => {
      const t = await open();
      try {
        const data = randomBytes(BLOB_CHUNK_BYTES * 3);
        await t.store.mail.putBlobs([source(data)]);
        assert.equal(await t.chunkRows(), 3);
        const r = await t.store.mail.deleteUnreferencedBlobs(new Date(Date.now() + 60_000));
        assert.equal(r.deleted, 1);
        assert.equal(await t.store.mail.getBlob(sha(data)), null);
        assert.equal(await t.chunkRows(), 0);
      } finally {
        await t.cleanup();
      }
    });
  });
}
