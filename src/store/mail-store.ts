/**
 * MailStore over Kysely (SQLite and PostgreSQL): the `mail_blobs` table of migration 0003_mail.
 * Inserts use ON CONFLICT DO NOTHING, so two deliveries of the same message at once both
 * succeed and keep one copy.
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
    const known = new Set(
      (await this.#db.selectFrom('mail_blobs').select('sha256').where('sha256', 'in', [...unique.keys()]).execute()).map((r) => r.sha256),
    );
    const rows = [...unique]
      .filter(([sha]) => !known.has(sha))
      .map(([sha256, data]) => ({ sha256, size: data.length, data, created_at: this.#now().toISOString() }));
    for (const row of rows) {
      await this.#db.insertInto('mail_blobs').values(row).onConflict((oc) => oc.column('sha256').doNothing()).execute();
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

  async listUserDomains(): Promise<string[]> {
    const domains = new Set<string>();
    const add = (address: string) => {
      const at = address.lastIndexOf('@');
      if (at > 0 && at < address.length - 1) domains.add(address.slice(at + 1).toLowerCase());
    };
    for (const r of await this.#db.selectFrom('users').select('email').execute()) add(r.email);
    for (const r of await this.#db.selectFrom('user_aliases').select('address').execute()) add(r.address);
    return [...domains].sort();
  }
}
