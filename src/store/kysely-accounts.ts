/**
 * Accounts over Kysely, one part of KyselyStore (kysely-store.ts): the users, with their password
 * hashes. Deleting a user takes their mailbox and devices with it (ON DELETE CASCADE) and
 * notifies their hierarchy, so it runs in the mailbox content's notifying transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { aliasOwner, lockAddress } from './directory-store.ts';
import type { WriteFn } from './kysely-mailbox-content.ts';
import { mapDbError, notFound, num, timestamp } from './kysely-shared.ts';
import { prepareQuery } from './prepared.ts';
import type { Database, UsersTable } from './schema.ts';
import { StoreError, type NewUser, type User } from './types.ts';

export class KyselyAccounts {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;
  readonly #write: WriteFn;
  /** The user lookups every request makes, compiled once (src/store/prepared.ts). */
  readonly #hot: ReturnType<typeof hotQueries>;

  /** `write`: the mailbox content's notifying transaction (KyselyMailboxContent.write). */
  constructor(db: Kysely<Database>, now: () => Date, write: WriteFn) {
    this.#db = db;
    this.#now = now;
    this.#write = write;
    this.#hot = hotQueries(db);
  }

  async createUser(u: NewUser): Promise<User> {
    const email = normalizeEmail(u.email);
    if (email === '') throw new StoreError('invalid', 'email is empty');
    if (typeof u.passwordHash !== 'string' || u.passwordHash === '') throw new StoreError('invalid', 'passwordHash is empty');
    const row = {
      id: randomUUID(),
      email,
      display_name: u.displayName ?? null,
      password_hash: u.passwordHash,
      hierarchy_modseq: 0,
      created_at: timestamp(this.#now),
    };
    try {
      // An address that is another user's alias stays theirs (delivery would find the new user
      // by it first). Checked under the address lock (directory-store.ts), and after the insert,
      // which on SQLite holds the write lock, so the check sees every committed alias.
      return await this.#db.transaction().execute(async (trx) => {
        await lockAddress(trx, email);
        const inserted = await trx.insertInto('users').values(row).returningAll().executeTakeFirstOrThrow();
        const owner = await aliasOwner(trx, email);
        if (owner !== null) throw new StoreError('conflict', `${email} is already an alias of ${owner}`);
        return toUser(inserted);
      });
    } catch (err) {
      throw mapDbError(err, `user ${email}`);
    }
  }

  async getUserByEmail(email: string): Promise<User | null> {
    const [row] = await this.#hot.userByEmail(normalizeEmail(email));
    return row ? toUser(row) : null;
  }

  async getUserById(userId: string): Promise<User | null> {
    const [row] = await this.#hot.userById(userId);
    return row ? toUser(row) : null;
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.#db.selectFrom('users').selectAll().orderBy('email').execute();
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return num(row.n);
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    if (typeof passwordHash !== 'string' || passwordHash === '') throw new StoreError('invalid', 'passwordHash is empty');
    const row = await this.#db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', userId)
      .returning('id')
      .executeTakeFirst();
    if (!row) throw notFound('user', userId);
  }

  async deleteUser(userId: string): Promise<void> {
    // Folders, items, devices and the devices' data go by ON DELETE CASCADE. The user's
    // hierarchy is notified, so their held requests end.
    await this.#write(async (trx, changed) => {
      const row = await trx.deleteFrom('users').where('id', '=', userId).returning('id').executeTakeFirst();
      if (!row) throw notFound('user', userId);
      changed.add(userId, null);
    });
  }
}

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function toUser(r: Selectable<UsersTable>): User {
  return {
    id: r.id,
    email: r.email,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    createdAt: new Date(r.created_at),
  };
}

/** The per-request lookups as prepared queries (same SQL as the builder calls they replace). */
function hotQueries(db: Kysely<Database>) {
  return {
    userByEmail: prepareQuery(db, 1, (email: string) => db.selectFrom('users').selectAll().where('email', '=', email)),
    userById: prepareQuery(db, 1, (id: string) => db.selectFrom('users').selectAll().where('id', '=', id)),
  };
}
