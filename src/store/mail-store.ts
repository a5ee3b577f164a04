/**
 * MailStore over Kysely (SQLite and PostgreSQL): the `mail_blobs` table of migration 0003_mail.
 * Inserts use ON CONFLICT DO NOTHING, so two deliveries of the same message at once both
 * succeed and keep one copy. `created_at` is the last time a blob was stored (a known blob
 * stored again is refreshed), which is what garbage collection's grace period looks at.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { BlobPart, MailStore } from './mail-types.ts';
import type { Database } from './schema.ts';
import { StoreError } from './types.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class KyselyMailStore implements MailStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  async putBlobs(parts: readonly BlobPart[]): Promise<void> {
    const unique = new Map<string, Buffer>();
    for (const p of parts) {
      if (!SHA256_HEX.test(p.sha256) || createHash('sha256').update(p.data).digest('hex') !== p.sha256) {
        throw new StoreError('invalid', `blob sha256 ${String(p.sha256).slice(0, 70)} does not match its bytes`);
      }
      unique.set(p.sha256, p.data);
    }
    if (unique.size === 0) return;
    // A blob stored again is fresh again (its created_at is refreshed): deleteUnreferencedBlobs
    // only considers blobs older than its cutoff. Whatever the refresh did not find (new, or
    // deleted by a collection meanwhile) is inserted.
    const now = this.#now().toISOString();
    const refreshed = new Set(
      (await this.#db.updateTable('mail_blobs').set({ created_at: now }).where('sha256', 'in', [...unique.keys()]).returning('sha256').execute()).map((r) => r.sha256),
    );
    for (const [sha256, data] of unique) {
      if (refreshed.has(sha256)) continue;
      await this.#db
        .insertInto('mail_blobs')
        .values({ sha256, size: data.length, data, created_at: now })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    }
  }

  async getBlob(sha256: string): Promise<Buffer | null> {
    if (!SHA256_HEX.test(sha256)) return null;
    const row = await this.#db.selectFrom('mail_blobs').select('data').where('sha256', '=', sha256).executeTakeFirst();
    if (!row) return null;
    return Buffer.isBuffer(row.data) ? row.data : Buffer.from(row.data as Uint8Array);
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
          await trx.deleteFrom('mail_blobs').where('sha256', 'in', doomed.slice(i, i + 500)).where('created_at', '<', cutoff).execute();
        }
        const left = await trx.selectFrom('mail_blobs').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
        return { deleted: doomed.length, kept: Number(left.n) };
      });
  }
}
