/**
 * DirectoryStore over Kysely (SQLite and PostgreSQL): directory fields in `user_directory` (one
 * row per user, created on first change), the display name on `users`, additional addresses in
 * `user_aliases`, out-of-office settings in `oof_settings`, the automatic-reply history in
 * `auto_replies` (migration 0006), resource mailboxes in `user_resources` (migration 0012),
 * S/MIME certificates in `user_certificates` (migration 0014).
 */
import { createHash } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import {
  MAX_CERTIFICATE_BYTES,
  MAX_CERTIFICATES_PER_USER,
  MAX_PICTURE_BYTES,
  PROFILE_FIELDS,
  type DirectoryEntry,
  type DirectoryPatch,
  type DirectoryStore,
  type OofSettings,
  type ProfileField,
  RESOURCE_KINDS,
  type ResourceKind,
  type StoredCertificate,
} from './directory-types.ts';
import type { Db } from './kysely-shared.ts';
import type { Database, UserDirectoryTable } from './schema.ts';
import { StoreError } from './types.ts';

const COLUMN: Record<ProfileField, keyof UserDirectoryTable & string> = {
  firstName: 'first_name',
  lastName: 'last_name',
  title: 'title',
  phone: 'phone',
  mobilePhone: 'mobile_phone',
  homePhone: 'home_phone',
  office: 'office',
  company: 'company',
};

/** Longest value of a directory text field (MS-ASCMD limits most GAL strings far below this). */
const MAX_FIELD_LENGTH = 1024;
const MAX_ADDRESS_LENGTH = 256;

/** The first key of the advisory locks on addresses ('easd' in ASCII), so they meet no other lock. */
const ADDRESS_LOCK_CLASS = 0x65617364;

/**
 * An address is a user's primary address (`users.email`) or an alias (`user_aliases.address`),
 * never both and never two users'. Each table's unique key covers itself only, so a transaction
 * that adds an address to either table calls this first with the normalized address, then looks
 * at the other table. On PostgreSQL it takes a transaction-scoped advisory lock on the address: a
 * user created and an alias added with the same address at once run one after the other, and the
 * second sees the first's row. SQLite needs nothing: a process runs one transaction at a time on
 * its one connection, and another process's write waits for the write lock (busy_timeout) or
 * fails, never interleaves.
 */
export async function lockAddress(trx: Transaction<Database>, address: string): Promise<void> {
  if (!(trx.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`select pg_advisory_xact_lock(${ADDRESS_LOCK_CLASS}::int4, hashtext(${address}))`.execute(trx);
}

/** The primary address of the user who has `address` (normalized) as an alias, or null. */
export async function aliasOwner(db: Db, address: string): Promise<string | null> {
  const row = await db
    .selectFrom('user_aliases')
    .innerJoin('users', 'users.id', 'user_aliases.user_id')
    .select('users.email')
    .where('user_aliases.address', '=', address)
    .executeTakeFirst();
  return row?.email ?? null;
}

type EntryRow = {
  id: string;
  email: string;
  display_name: string | null;
  picture_size: number | string | null;
  first_name: string | null;
  last_name: string | null;
  title: string | null;
  phone: string | null;
  mobile_phone: string | null;
  home_phone: string | null;
  office: string | null;
  company: string | null;
};

export class KyselyDirectoryStore implements DirectoryStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date) {
    this.#db = db;
    this.#now = now;
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

  #entries() {
    return this.#db
      .selectFrom('users')
      .leftJoin('user_directory', 'user_directory.user_id', 'users.id')
      .select([
        'users.id',
        'users.email',
        'users.display_name',
        'user_directory.first_name',
        'user_directory.last_name',
        'user_directory.title',
        'user_directory.phone',
        'user_directory.mobile_phone',
        'user_directory.home_phone',
        'user_directory.office',
        'user_directory.company',
        'user_directory.picture_size',
      ]);
  }

  async #aliases(userIds: string[] | null): Promise<Map<string, string[]>> {
    let q = this.#db.selectFrom('user_aliases').select(['user_id', 'address']).orderBy('address');
    if (userIds !== null) {
      if (userIds.length === 0) return new Map();
      q = q.where('user_id', 'in', userIds);
    }
    const out = new Map<string, string[]>();
    for (const r of await q.execute()) {
      const list = out.get(r.user_id);
      if (list) list.push(r.address);
      else out.set(r.user_id, [r.address]);
    }
    return out;
  }

  async getEntry(userId: string): Promise<DirectoryEntry | null> {
    const row = await this.#entries().where('users.id', '=', userId).executeTakeFirst();
    if (!row) return null;
    return toEntry(row, (await this.#aliases([userId])).get(userId) ?? []);
  }

  async listEntries(opts: { containing?: string } = {}): Promise<DirectoryEntry[]> {
    let q = this.#entries();
    if (opts.containing !== undefined && opts.containing !== '') {
      // lower() of both dialects agrees on ASCII; LIKE with an explicit escape character.
      const pattern = `%${opts.containing.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const like = (col: string) => sql<boolean>`lower(${sql.ref(col)}) like ${pattern} escape '\\'`;
      q = q.where((eb) =>
        eb.or([
          like('users.email'),
          like('users.display_name'),
          like('user_directory.first_name'),
          like('user_directory.last_name'),
          eb.exists(
            eb
              .selectFrom('user_aliases')
              .select('user_aliases.address')
              .whereRef('user_aliases.user_id', '=', 'users.id')
              .where(sql<boolean>`${sql.ref('user_aliases.address')} like ${pattern} escape '\\'`),
          ),
        ]),
      );
    }
    const rows = await q.orderBy('users.email').execute();
    // A filtered (small) result reads only its users' aliases; a large one reads them all.
    const aliases = await this.#aliases(opts.containing && rows.length <= 500 ? rows.map((r) => r.id) : null);
    return rows.map((r) => toEntry(r, aliases.get(r.id) ?? []));
  }

  async updateEntry(userId: string, patch: DirectoryPatch): Promise<DirectoryEntry> {
    const fields: Partial<Record<string, string | null>> = {};
    for (const f of PROFILE_FIELDS) {
      if (patch[f] !== undefined) fields[COLUMN[f]] = cleanField(f, patch[f]);
    }
    const displayName = patch.displayName !== undefined ? cleanField('displayName', patch.displayName) : undefined;
    const ts = this.#now().toISOString();
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StoreError('not_found', `user ${userId} not found`);
      if (displayName !== undefined) await trx.updateTable('users').set({ display_name: displayName }).where('id', '=', userId).execute();
      if (Object.keys(fields).length > 0) {
        await trx
          .insertInto('user_directory')
          .values({ user_id: userId, ...fields, updated_at: ts })
          .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...fields, updated_at: ts }))
          .execute();
      }
    });
    const entry = await this.getEntry(userId);
    if (!entry) throw new StoreError('not_found', `user ${userId} not found`);
    return entry;
  }

  async addAlias(userId: string, address: string): Promise<void> {
    const a = normalizeAddress(address);
    if (a === '' || a.length > MAX_ADDRESS_LENGTH) throw new StoreError('invalid', `alias must be 1-${MAX_ADDRESS_LENGTH} characters`);
    await this.#db.transaction().execute(async (trx) => {
      await lockAddress(trx, a);
      const user = await trx.selectFrom('users').select(['id', 'email']).where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StoreError('not_found', `user ${userId} not found`);
      const primary = await trx.selectFrom('users').select('id').where('email', '=', a).executeTakeFirst();
      if (primary) throw new StoreError('conflict', `${a} is the address of a user`);
      const existing = await trx.selectFrom('user_aliases').select('user_id').where('address', '=', a).executeTakeFirst();
      if (existing) {
        if (existing.user_id === userId) return;
        throw new StoreError('conflict', `${a} is another user's alias`);
      }
      try {
        await trx.insertInto('user_aliases').values({ address: a, user_id: userId, created_at: this.#now().toISOString() }).execute();
      } catch (err) {
        throw mapConflict(err, `alias ${a}`);
      }
    });
  }

  async removeAlias(userId: string, address: string): Promise<boolean> {
    const row = await this.#db
      .deleteFrom('user_aliases')
      .where('user_id', '=', userId)
      .where('address', '=', normalizeAddress(address))
      .returning('address')
      .executeTakeFirst();
    return row !== undefined;
  }

  async findUserIdByAddress(address: string): Promise<string | null> {
    const a = normalizeAddress(address);
    if (a === '') return null;
    const user = await this.#db.selectFrom('users').select('id').where('email', '=', a).executeTakeFirst();
    if (user) return user.id;
    const alias = await this.#db.selectFrom('user_aliases').select('user_id').where('address', '=', a).executeTakeFirst();
    return alias?.user_id ?? null;
  }

  async setPicture(userId: string, picture: Buffer | null): Promise<void> {
    if (picture !== null && (picture.length === 0 || picture.length > MAX_PICTURE_BYTES)) {
      throw new StoreError('invalid', `a picture must be 1 to ${MAX_PICTURE_BYTES} bytes, not ${picture.length}`);
    }
    const ts = this.#now().toISOString();
    const values = { picture: picture === null ? null : picture.toString('base64'), picture_size: picture?.length ?? 0 };
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StoreError('not_found', `user ${userId} not found`);
      await trx
        .insertInto('user_directory')
        .values({ user_id: userId, ...values, updated_at: ts })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...values, updated_at: ts }))
        .execute();
    });
  }

  async getPicture(userId: string): Promise<Buffer | null> {
    const row = await this.#db.selectFrom('user_directory').select('picture').where('user_id', '=', userId).executeTakeFirst();
    return row?.picture ? Buffer.from(row.picture, 'base64') : null;
  }

  async addCertificate(userId: string, der: Buffer): Promise<boolean> {
    if (!Buffer.isBuffer(der) || der.length === 0 || der.length > MAX_CERTIFICATE_BYTES) {
      throw new StoreError('invalid', `a certificate must be 1 to ${MAX_CERTIFICATE_BYTES} bytes`);
    }
    const fingerprint = createHash('sha256').update(der).digest('hex');
    const ts = this.#now().toISOString();
    return this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StoreError('not_found', `user ${userId} not found`);
      const have = await trx.selectFrom('user_certificates').select('fingerprint').where('user_id', '=', userId).execute();
      if (have.some((r) => r.fingerprint === fingerprint)) return false;
      if (have.length >= MAX_CERTIFICATES_PER_USER) throw new StoreError('invalid', `a user has at most ${MAX_CERTIFICATES_PER_USER} certificates`);
      // A concurrent add of the same certificate inserts nothing rather than failing.
      const row = await trx
        .insertInto('user_certificates')
        .values({ user_id: userId, fingerprint, der, created_at: ts })
        .onConflict((oc) => oc.columns(['user_id', 'fingerprint']).doNothing())
        .returning('fingerprint')
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  async listCertificates(userId: string): Promise<StoredCertificate[]> {
    const rows = await this.#db
      .selectFrom('user_certificates')
      .select(['fingerprint', 'der', 'created_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('fingerprint')
      .execute();
    return rows.map((r) => ({ fingerprint: r.fingerprint, der: Buffer.from(r.der), createdAt: new Date(r.created_at) }));
  }

  async removeCertificates(userId: string): Promise<number> {
    const rows = await this.#db.deleteFrom('user_certificates').where('user_id', '=', userId).returning('fingerprint').execute();
    return rows.length;
  }

  async getResource(userId: string): Promise<ResourceKind | null> {
    const row = await this.#db.selectFrom('user_resources').select('kind').where('user_id', '=', userId).executeTakeFirst();
    return row && (RESOURCE_KINDS as readonly string[]).includes(row.kind) ? (row.kind as ResourceKind) : null;
  }

  async setResource(userId: string, kind: ResourceKind | null): Promise<void> {
    if (kind !== null && !(RESOURCE_KINDS as readonly string[]).includes(kind)) throw new StoreError('invalid', `a resource is ${RESOURCE_KINDS.join(' or ')}, not ${String(kind)}`);
    const ts = this.#now().toISOString();
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StoreError('not_found', `user ${userId} not found`);
      if (kind === null) {
        await trx.deleteFrom('user_resources').where('user_id', '=', userId).execute();
        return;
      }
      await trx
        .insertInto('user_resources')
        .values({ user_id: userId, kind, updated_at: ts })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ kind, updated_at: ts }))
        .execute();
    });
  }

  async getOof(userId: string): Promise<OofSettings | null> {
    const row = await this.#db.selectFrom('oof_settings').select('data').where('user_id', '=', userId).executeTakeFirst();
    return row ? (JSON.parse(row.data) as OofSettings) : null;
  }

  async putOof(userId: string, oof: OofSettings): Promise<void> {
    const ts = this.#now().toISOString();
    const data = JSON.stringify(oof);
    await this.#db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!user) throw new StoreError('not_found', `user ${userId} not found`);
      await trx
        .insertInto('oof_settings')
        .values({ user_id: userId, data, updated_at: ts })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ data, updated_at: ts }))
        .execute();
      await trx.deleteFrom('auto_replies').where('user_id', '=', userId).execute();
    });
  }

  async lastAutoReply(userId: string, sender: string): Promise<Date | null> {
    const row = await this.#db
      .selectFrom('auto_replies')
      .select('sent_at')
      .where('user_id', '=', userId)
      .where('sender', '=', normalizeAddress(sender))
      .executeTakeFirst();
    return row ? new Date(row.sent_at) : null;
  }

  async claimAutoReply(userId: string, sender: string, notAfter: Date): Promise<boolean> {
    const ts = this.#now().toISOString();
    try {
      // One statement: insert, or move the time forward only when the last reply is older than
      // the period. Of two concurrent claims the second sees the first's row and updates nothing.
      const row = await this.#db
        .insertInto('auto_replies')
        .values({ user_id: userId, sender: normalizeAddress(sender), sent_at: ts })
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'sender'])
            .doUpdateSet({ sent_at: ts })
            .where('auto_replies.sent_at', '<=', notAfter.toISOString()),
        )
        .returning('sent_at')
        .executeTakeFirst();
      return row !== undefined;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new StoreError('not_found', `user ${userId} not found`, { cause: err });
      throw err;
    }
  }
}

function normalizeAddress(a: string): string {
  return typeof a === 'string' ? a.trim().toLowerCase() : '';
}

function cleanField(name: string, v: string | null): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') throw new StoreError('invalid', `${name} must be a string`);
  const t = v.trim();
  if (t.length > MAX_FIELD_LENGTH) throw new StoreError('invalid', `${name} is longer than ${MAX_FIELD_LENGTH} characters`);
  return t === '' ? null : t;
}

function mapConflict(err: unknown, what: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreError('conflict', `${what} already exists`, { cause: err });
  }
  return err;
}

function toEntry(r: EntryRow, aliases: string[]): DirectoryEntry {
  return {
    userId: r.id,
    email: r.email,
    displayName: r.display_name,
    firstName: r.first_name ?? null,
    lastName: r.last_name ?? null,
    title: r.title ?? null,
    phone: r.phone ?? null,
    mobilePhone: r.mobile_phone ?? null,
    homePhone: r.home_phone ?? null,
    office: r.office ?? null,
    company: r.company ?? null,
    aliases,
    pictureSize: r.picture_size == null ? 0 : Number(r.picture_size),
  };
}
